"""Adaptive refinement against uniformly refined references, case by case (issue 18).

For each shipped steady case: ``solve_adaptive`` with ``target_error`` 1e-3 from the case's own
mesh sizes, and a reference solve on the case's sizes with ``near`` and ``interface`` divided by
``--refine`` (4: four times finer near the interface) and ``far`` by 2, the same degree.  Every
tracked number (max/mean, CV, feature currents over the mean) of every electrolyte is compared;
the table goes into docs/verification.md between the ``error-control`` markers and into
docs/verification/error_control.json.

    .venv/bin/python benchmarks/error_control.py                    # the 2D cases and the 3D protrusion
    .venv/bin/python benchmarks/error_control.py --cases nas_vs_nps_pore
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from pathlib import Path

import dendrite_fem as df
from dendrite_fem.adaptivity import solve_adaptive, tracked_numbers
from dendrite_fem.geometry.spec import MeshSizes

ROOT = Path(__file__).resolve().parents[1]
CASES = (
    "nas_vs_nps_protrusion",
    "nas_vs_nps_pore",
    "seed_electrolytes_notch",
    "pore_field",
    "nas_vs_nps_interlayer",
    "nas_vs_nps_protrusion_3d",
)


def run_case(name: str, refine: float, target: float) -> dict:
    setup, _ = df.load_case(ROOT / "cases" / f"{name}.toml")
    model = setup.model()
    t0 = time.perf_counter()
    adaptation = solve_adaptive(model, setup.electrolytes, target)
    adaptive_seconds = time.perf_counter() - t0
    s = model.window.resolved_sizes()
    window = dataclasses.replace(
        model.window, sizes=MeshSizes(s.near / refine, s.interface / refine, s.far / 2)
    )
    reference = df.Model(window, model.kinetics, model.operation, degree=model.degree, solver=model.solver)
    t0 = time.perf_counter()
    rows = []
    for solution in adaptation.solutions:
        ours = tracked_numbers(solution.metrics)
        theirs = tracked_numbers(reference.solve(solution.electrolyte).metrics)
        for key, value in theirs.items():
            rows.append(
                {
                    "electrolyte": solution.electrolyte.key,
                    "number": key,
                    "adaptive": ours[key],
                    "reference": value,
                    "difference": abs(ours[key] - value) / abs(value),
                    "estimated": adaptation.estimated_error[solution.electrolyte.key][key],
                }
            )
    return {
        "case": name,
        "degree": model.degree,
        "dofs_levels": [level["dofs"] for level in adaptation.levels],
        "adaptive_seconds": adaptive_seconds,
        "reference_dofs": reference.num_dofs,
        "reference_seconds": time.perf_counter() - t0,
        "rows": rows,
    }


def table(results: list[dict], target: float, refine: float) -> str:
    lines = [
        f"`benchmarks/error_control.py`: `target_error = {target:g}` from each case's own sizes, "
        f"against the same case with `size_near` and `size_interface` / {refine:g} and `size_far` / 2. "
        "*difference* is |adaptive − reference| / reference; *estimated* is what summary.json reports.",
        "",
        "| case | P | DOFs per level | reference DOFs | number | adaptive | reference | difference | estimated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        levels = " → ".join(f"{d:,}" for d in r["dofs_levels"])
        for k, row in enumerate(r["rows"]):
            head = (
                f"| {r['case']} | {r['degree']} | {levels} | {r['reference_dofs']:,} |"
                if k == 0
                else "| | | | |"
            )
            lines.append(
                f"{head} {row['electrolyte']} {row['number']} | {row['adaptive']:.6g} | {row['reference']:.6g} "
                f"| {row['difference']:.1e} | {row['estimated']:.1e} |"
            )
    worst = max(row["difference"] for r in results for row in r["rows"])
    lines += ["", f"Largest difference over all cases and numbers: {worst:.1e}.", ""]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=list(CASES))
    p.add_argument("--target", type=float, default=1e-3)
    p.add_argument("--refine", type=float, default=4.0)
    p.add_argument("--doc", default=str(ROOT / "docs/verification.md"))
    args = p.parse_args()
    results = []
    for name in args.cases:
        results.append(run_case(name, args.refine, args.target))
        r = results[-1]
        worst = max(row["difference"] for row in r["rows"])
        print(
            f"{name}: levels {r['dofs_levels']}, reference {r['reference_dofs']:,} DOFs, worst {worst:.1e}",
            flush=True,
        )
    out = ROOT / "docs/verification/error_control.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    doc = Path(args.doc)
    text = doc.read_text()
    block = table(results, args.target, args.refine)
    if "<!-- BEGIN error-control -->" not in text:
        text += (
            "\n## Error control against refined references (issue 18)\n\n"
            "<!-- BEGIN error-control -->\n<!-- END error-control -->\n"
        )
    text = re.sub(
        r"<!-- BEGIN error-control -->.*<!-- END error-control -->",
        lambda _: f"<!-- BEGIN error-control -->\n{block}<!-- END error-control -->",
        text,
        flags=re.S,
    )
    doc.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
