"""The package against hand-written DOLFINx on the default case, whole process, at equal accuracy.

Three ways to compute max/mean and min/mean of the plating current of NAS and NPS at the
default protrusion (``cases/nas_vs_nps_protrusion.toml``):

* the package: ``dendrite-fem run`` with figures and fields off (summary.json and the profile
  are still written);
* ``benchmarks/handwritten.py``: the shortest correct DOLFINx script at the package's
  discretisation (same Gmsh geometry and size fields, curved P2, SNES Newton, MUMPS or CG + GAMG);
* ``benchmarks/handwritten.py --naive``: a uniform mesh, straight P1 cells, default Newton, LU.

Each is run on a ladder of mesh sizes; the error of a rung is the largest relative difference of
the four numbers from a reference (the package at half the finest rung's sizes).  For each
accuracy target the coarsest rung of each code that reaches it is timed as whole processes,
interleaved (A B A B ...), and the ratios are the medians of the pair-by-pair ratios.

    .venv/bin/python benchmarks/versus_handwritten.py            # ~10 min here
    .venv/bin/python benchmarks/versus_handwritten.py --pairs 3 --no-write

Writes the table between the ``versus`` markers of docs/performance.md and
docs/performance/versus_handwritten.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from performance import machine, size_overrides, write_between_markers  # benchmarks/performance.py

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CASE = ROOT / "cases/nas_vs_nps_protrusion.toml"
SIZES = (0.625, 0.625, 20 / 3)  #: [µm] the case's automatic near, interface and far sizes
FACTORS = (8.0, 5.6, 4.0, 2.8, 2.0, 1.4, 1.0, 0.7, 0.5, 0.35, 0.25)  #: size factors, coarse to fine
UNIFORM = (4.0, 2.0, 1.0, 0.7, 0.5, 0.35, 0.25)  #: [µm] uniform sizes of the naive ladder
TARGETS = (1e-3, 1e-4)
QUANTITIES = [(e, q) for e in ("NAS", "NPS") for q in ("max_over_mean", "min_over_mean")]


def package_command(factor: float, out: Path) -> list[str]:
    near, interface, far = (s * factor for s in SIZES)
    return [
        str(BIN / "dendrite-fem"),
        "run",
        str(CASE),
        "--out",
        str(out),
        "--force",
        "--quiet",
        "--set",
        "output.figures=false",
        "--set",
        "output.fields=false",
        *size_overrides(near, interface, far),
    ]


def script_command(factor: float | None = None, uniform: float | None = None) -> list[str]:
    cmd = [sys.executable, str(ROOT / "benchmarks/handwritten.py")]
    if uniform is not None:
        return [*cmd, "--naive", "--far", f"{uniform:.6g}"]
    near, interface, far = (s * factor for s in SIZES)
    return [*cmd, "--near", f"{near:.6g}", "--interface", f"{interface:.6g}", "--far", f"{far:.6g}"]


def run(cmd: list[str], out: Path | None = None) -> tuple[float, dict]:
    """Whole-process wall time and the numbers it computed."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    if out is None:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        return seconds, data
    summary = json.loads((out / "summary.json").read_text())
    data = {"dofs": summary["run"]["dofs"]}
    for name, r in summary["electrolytes"].items():
        data[name] = {q: r["metrics"][q] for _, q in QUANTITIES}
    return seconds, data


def error(values: dict, reference: dict) -> float:
    return max(abs(values[e][q] - reference[e][q]) / reference[e][q] for e, q in QUANTITIES)


def interleaved(a: list[str], b: list[str], pairs: int, out: Path | None) -> dict:
    """Median seconds of A and B and the median of the ratios A/B, pair by pair."""
    run(a, out)  # warm-up: the form cache and the file cache
    run(b)
    ta, tb = [], []
    for _ in range(pairs):
        ta.append(run(a, out)[0])
        tb.append(run(b)[0])
    ratios = [x / y for x, y in zip(ta, tb, strict=True)]
    return {"a": statistics.median(ta), "b": statistics.median(tb), "ratio": statistics.median(ratios)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", type=int, default=5, help="interleaved pairs per comparison")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="versus-"))
    out = work / "result"
    _, reference = run(package_command(FACTORS[-1] / 2, out), out)  # 280k DOFs
    print(f"reference: package at size factor {FACTORS[-1] / 2}, {reference['dofs']} DOFs", flush=True)
    ladders = {"package": [], "handwritten": [], "naive": []}
    for f in FACTORS:
        _, pkg = run(package_command(f, out), out)
        _, hand = run(script_command(factor=f))
        ladders["package"].append({"factor": f, "dofs": pkg["dofs"], "error": error(pkg, reference)})
        ladders["handwritten"].append({"factor": f, "dofs": hand["dofs"], "error": error(hand, reference)})
        print(f"factor {f}: {ladders['package'][-1]} / {ladders['handwritten'][-1]}", flush=True)
    for h in UNIFORM:
        _, naive = run(script_command(uniform=h))
        ladders["naive"].append({"uniform_um": h, "dofs": naive["dofs"], "error": error(naive, reference)})
        print(f"uniform {h} um: {ladders['naive'][-1]}", flush=True)

    def coarsest(name: str, target: float):
        return next((r for r in ladders[name] if r["error"] <= target), None)

    rows = []
    for target in TARGETS:
        pkg, hand, naive = (coarsest(n, target) for n in ("package", "handwritten", "naive"))
        if pkg is None:
            print(f"accuracy {target:g}: the package ladder does not reach it")
            continue
        row = {"target": target, "package": pkg, "handwritten": hand, "naive": naive}
        if hand is not None:
            row["vs_handwritten"] = interleaved(
                package_command(pkg["factor"], out), script_command(factor=hand["factor"]), args.pairs, out
            )
        if naive is not None:
            row["vs_naive"] = interleaved(
                package_command(pkg["factor"], out),
                script_command(uniform=naive["uniform_um"]),
                args.pairs,
                out,
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "ladders": ladders, "rows": rows}
    if args.no_write:
        return
    (ROOT / "docs/performance/versus_handwritten.json").write_text(json.dumps(result, indent=2) + "\n")
    _write_table(result)


def _write_table(result: dict) -> None:
    lines = [
        f"Machine: {result['machine']}.  Generated by `benchmarks/versus_handwritten.py` on {result['date']}.",
        "",
        "| accuracy | package DOFs | seconds | hand-written DOFs | seconds | package / hand-written "
        "| naive P1 DOFs | seconds | package / naive |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        hand, naive = r.get("vs_handwritten"), r.get("vs_naive")
        lines.append(
            f"| {r['target']:g} | {r['package']['dofs']} | {hand['a'] if hand else naive['a']:.2f} "
            + (
                f"| {r['handwritten']['dofs']} | {hand['b']:.2f} | {hand['ratio']:.2f} "
                if hand
                else "| – | – | – "
            )
            + (
                f"| {r['naive']['dofs']} | {naive['b']:.2f} | {naive['ratio']:.2f} |"
                if naive
                else "| not reached | – | – |"
            )
        )
    write_between_markers(ROOT / "docs/performance.md", "versus", "\n".join(lines) + "\n", heading="\n")


if __name__ == "__main__":
    main()
