"""Adaptive refinement against uniformly refined references, case by case (issue 18).

For each shipped steady case: ``solve_adaptive`` with ``target_error`` 1e-3 from the case's own
mesh sizes, and a reference solve finer than the adaptive result everywhere: P2 on a mesh of the
final adaptive mesh's sizes divided by ``--refine`` (default 2: 4× the DOFs in 2D) for P2 cases,
and P2 on the final mesh's own sizes for P1 cases (the 3D protrusion).  Every
tracked number (max/mean, CV, feature currents over the mean) of every electrolyte is compared;
the table goes into docs/verification.md between the ``error-control`` markers and into
docs/verification/error_control.json.

    .venv/bin/python benchmarks/error_control.py                    # the 2D cases and the 3D protrusion
    .venv/bin/python benchmarks/error_control.py --cases nas_vs_nps_pore
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from performance import write_between_markers  # benchmarks/performance.py

import dendrite_fem as df
from dendrite_fem.adaptivity import CV_SCALE, relative_change, solve_adaptive, tracked_numbers
from dendrite_fem.geometry.spec import SizeMap

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
    final = adaptation.model
    mesh = final.mesh.mesh
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    x = mesh.geometry.x[mesh.geometry.dofmaps[0][:n, : tdim + 1]]
    edges = np.mean(
        [np.linalg.norm(x[:, i] - x[:, j], axis=1) for i in range(tdim + 1) for j in range(i)], axis=0
    )
    # P2 on the final mesh's sizes / refine (P2 solutions) or on the same sizes (P1 solutions)
    shrink = refine if model.degree == 2 else 1.0
    sizes = SizeMap(x, np.repeat(edges[:, None] / shrink, tdim + 1, axis=1))
    reference = df.Model(
        model.window, model.kinetics, model.operation, degree=2, solver=model.solver, size_map=sizes
    )
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
                    # as the loop measures changes: relative, the CV's to at least CV_SCALE
                    "difference": relative_change(key, ours[key], value),
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
        f"against a P2 reference on the final adaptive mesh's sizes / {refine:g} (P2 cases) or on the "
        "same sizes (P1 cases): finer than the adaptive result everywhere. "
        "*difference* is |adaptive − reference| / |adaptive| (for the CV, over at least "
        f"{CV_SCALE:g}, as the loop measures its changes); *estimated* is what summary.json reports.",
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
    rows = [row for r in results for row in r["rows"]]
    worst = max(row["difference"] for row in rows)
    under = [row for row in rows if row["difference"] > row["estimated"]]
    lines += [
        "",
        f"Largest difference over all cases and numbers: {worst:.1e} (the target: {target:g}). The "
        f"estimated error, the change from the previous mesh, is below the difference for "
        f"{len(under)} of {len(rows)} numbers"
        + (f", all of them within {max(row['difference'] for row in under):.1e}" if under else "")
        + ": it is an estimate, not a bound; "
        + (
            "every difference stayed below the target."
            if worst <= target
            else f"{sum(row['difference'] > target for row in rows)} of them exceed the target (listed above)."
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=list(CASES))
    p.add_argument("--target", type=float, default=1e-3)
    p.add_argument("--refine", type=float, default=2.0)
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
    write_between_markers(
        Path(args.doc),
        "error-control",
        table(results, args.target, args.refine),
        heading="\n## Error control against refined references (issue 18)\n\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
