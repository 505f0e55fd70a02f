"""Performance ladder: time per phase against DOFs, in 2D and 3D, on 1 and 2 MPI ranks.

Every rung is a real run of the CLI (``mpiexec -n N dendrite-fem run``) on
benchmarks/cases/ladder_{2d,3d}.toml with the three mesh sizes multiplied by a factor
(DOFs ∝ factor^-dim), with ``--time-poisson-floor``: in the same run, on the same mesh,
one linear Poisson solve with the same CG + multigrid options and tolerance is timed
(fem/numerics/floor.py), and summary.json records Newton-solve / Poisson-floor.

    .venv/bin/python benchmarks/performance.py                 # the full ladder (~1 h here)
    .venv/bin/python benchmarks/performance.py --quick         # 2 small rungs per dimension

Writes docs/performance.md (table between the ``perf`` markers, with the machine) and
docs/performance/{ladder.json, phases.png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CASES = {2: ROOT / "benchmarks/cases/ladder_2d.toml", 3: ROOT / "benchmarks/cases/ladder_3d.toml"}
BASE_SIZES = {  # [um] the factor-1 sizes of the case files: about 2 million DOFs
    2: (0.035, 0.07, 0.27),
    3: (0.31, 0.48, 2.45),
}
#: DOF targets of the full ladder; the size factor follows from DOFs ∝ factor^-p, p below
#: (measured: in 3D the refined walls and rims make the count grow slower than factor^-3)
TARGETS = (100_000, 250_000, 500_000, 1_000_000, 2_000_000)
EXPONENT = {2: 2.0, 3: 2.4}
#: run-level phases of summary.json, in the order of a run
RUN_PHASES = (
    "meshing",
    "distribution",
    "setup",
    "solve",
    "poisson_floor",
    "postprocess",
    "output",
    "gather",
    "figures",
)
#: inside "solve", from PETSc's event log
SOLVE_PHASES = ("residual_assembly", "jacobian_assembly", "preconditioner_setup", "krylov")


def size_overrides(near: float, interface: float, far: float) -> list[str]:
    """``--set`` arguments of the three mesh sizes [µm] of a run."""
    sizes = {"size_near": near, "size_interface": interface, "size_far": far}
    return [a for key, value in sizes.items() for a in ("--set", f"mesh.{key}='{value:.6g} um'")]


def run_rung(dim: int, target: int, ranks: int, work: Path) -> dict:
    factor = (2_000_000 / target) ** (1.0 / EXPONENT[dim])
    near, interface, far = (s * factor for s in BASE_SIZES[dim])
    out = work / f"{dim}d-{target}-{ranks}"
    cmd = [
        str(BIN / "mpiexec"),
        "-n",
        str(ranks),
        str(BIN / "dendrite-fem"),
        "run",
        str(CASES[dim]),
        "--out",
        str(out),
        "--force",
        "--quiet",
        "--time-poisson-floor",
        *size_overrides(near, interface, far),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rung {dim}D {target} on {ranks} rank(s) failed:\n{proc.stdout}\n{proc.stderr}")
    summary = json.loads((out / "summary.json").read_text())
    (electrolyte,) = summary["electrolytes"].values()
    solver = electrolyte["solver"]
    return {
        "dim": dim,
        "target_dofs": target,
        "ranks": ranks,
        "factor": factor,
        "dofs": summary["run"]["dofs"],
        "cells": summary["run"]["cells"],
        "process_wall": wall,
        "run": summary["run"]["wall_time"],
        "solver": solver["phases"],
        "floor": solver["poisson_floor"],
        "ratio": solver["newton_over_poisson_floor"],
        "peak_rss_gib": _peak_rss_gib(),
        "newton_iterations": solver["newton_iterations"],
        "linear_iterations": solver["linear_iterations"],
        "floor_iterations": solver["poisson_floor"]["iterations"],
        "max_over_mean": electrolyte["metrics"]["max_over_mean"],
    }


def _peak_rss_gib() -> float:
    """Largest resident set of any finished child process so far [GiB] (Linux: KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {system}"


def table(rows: list[dict]) -> str:
    head = (
        "| dim | ranks | DOFs | cells | mesh | distrib. | solve | of which Newton | Poisson floor | Newton / floor "
        "| Newton µs/DOF·rank | output+gather+figures | whole run [s] (µs/DOF) | Newton / CG its (floor) |"
    )
    lines = [head, "|" + "|".join(["---"] * 14) + "|"]
    for r in rows:
        run = r["run"]
        out = sum(run.get(k, 0.0) for k in ("output", "gather", "figures"))
        per_dof = r["solver"]["newton"] / r["dofs"] * r["ranks"] * 1e6
        lines.append(
            f"| {r['dim']}D | {r['ranks']} | {r['dofs']:,} | {r['cells']:,} | {run['meshing']:.1f} | "
            f"{run['distribution']:.1f} | {run['solve']:.1f} | {r['solver']['newton']:.2f} | {r['floor']['seconds']:.2f} | "
            f"**{r['ratio']:.2f}** | {per_dof:.1f} | {out:.1f} | {r['process_wall']:.0f} "
            f"({r['process_wall'] / r['dofs'] * 1e6:.0f}) "
            f"| {r['newton_iterations']} / {r['linear_iterations']} "
            f"({r['floor_iterations']}) |"
        )
    return "\n".join(lines)


def solve_split(rows: list[dict]) -> str:
    head = (
        "| dim | ranks | DOFs | "
        + " | ".join(SOLVE_PHASES)
        + " | Newton total | floor: assembly / PC setup / Krylov | forms (JIT + matrices, before Newton) |"
    )
    lines = [head, "|" + "|".join(["---"] * (len(SOLVE_PHASES) + 6)) + "|"]
    for r in rows:
        s, f = r["solver"], r["floor"]
        lines.append(
            f"| {r['dim']}D | {r['ranks']} | {r['dofs']:,} | "
            + " | ".join(f"{s[k]:.2f}" for k in SOLVE_PHASES)
            + f" | {s['newton']:.2f} | {f['assembly']:.2f} / {f['preconditioner_setup']:.2f} / {f['krylov']:.2f}"
            + f" | {s['forms']:.2f} |"
        )
    return "\n".join(lines)


def rank_agreement(rows: list[dict]) -> str:
    """Largest relative difference of max/mean between the 1- and 2-rank runs of a rung."""
    lines = []
    for dim in sorted({r["dim"] for r in rows}):
        diffs = []
        for dofs in sorted({r["dofs"] for r in rows if r["dim"] == dim}):
            pair = {r["ranks"]: r["max_over_mean"] for r in rows if r["dim"] == dim and r["dofs"] == dofs}
            if 1 in pair and 2 in pair:
                diffs.append(abs(pair[2] - pair[1]) / pair[1])
        if diffs:
            lines.append(
                f"{dim}D: max/mean on 2 ranks vs 1 rank, largest relative difference over "
                f"{len(diffs)} rungs: {max(diffs):.1e}"
            )
    return "\n".join(f"* {x}" for x in lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    dims = sorted({r["dim"] for r in rows})
    fig, axes = plt.subplots(
        2, len(dims), figsize=(6.2 * len(dims), 8.4), squeeze=False, constrained_layout=True
    )
    phases = {
        "meshing": "Gmsh meshing (rank 0)",
        "distribution": "distribution",
        "newton": "Newton solve",
        "floor": "Poisson floor",
        "output": "output+gather+figures",
    }
    for col, dim in enumerate(dims):
        ax, per = axes[0][col], axes[1][col]
        for ranks, style in ((1, "-o"), (2, "--s")):
            rs = sorted((r for r in rows if r["dim"] == dim and r["ranks"] == ranks), key=lambda r: r["dofs"])
            if not rs:
                continue
            x = np.array([r["dofs"] for r in rs], float)
            series = {
                "meshing": [r["run"]["meshing"] for r in rs],
                "distribution": [r["run"]["distribution"] for r in rs],
                "newton": [r["solver"]["newton"] for r in rs],
                "floor": [r["floor"]["seconds"] for r in rs],
                "output": [sum(r["run"].get(k, 0.0) for k in ("output", "gather", "figures")) for r in rs],
            }
            for k, (key, label) in enumerate(phases.items()):
                ax.loglog(x, series[key], style, color=f"C{k}", label=f"{label}, {ranks} rank(s)", ms=4)
            for k, key in ((2, "newton"), (3, "floor")):
                per.semilogx(
                    x,
                    np.array(series[key]) * ranks / x * 1e6,
                    style,
                    color=f"C{k}",
                    label=f"{phases[key]}, {ranks} rank(s)",
                    ms=4,
                )
        ax.set_title(f"{dim}D pore field, P2, CG + multigrid")
        ax.set_ylabel("wall time [s]")
        per.set_ylabel("µs per DOF × ranks")
        per.set_ylim(bottom=0)
        for a in (ax, per):
            a.set_xlabel("DOFs")
            a.grid(True, which="both", alpha=0.3)
            a.legend(fontsize=6.5, ncol=2)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_doc(rows: list[dict], doc: Path, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "ladder.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))
    rows = sorted(rows, key=lambda r: (r["dim"], r["dofs"], r["ranks"]))
    plot(rows, outdir / "phases.png")
    block = (
        f"Machine: {machine()}.  Generated by `benchmarks/performance.py` on {time.strftime('%Y-%m-%d')}.\n\n"
        "Wall times in seconds (maximum over ranks).  *solve* is the whole solve phase of the run "
        "(JIT of the forms included, cached after the first run); *Newton* is PETSc's SNESSolve alone; "
        "*Poisson floor* is assembly + preconditioner set-up + Krylov solve of one linear Poisson problem "
        "on the same mesh (fem/numerics/floor.py).\n\n"
        + table(rows)
        + "\n\nInside the Newton solve (PETSc event log, seconds):\n\n"
        + solve_split(rows)
        + "\n\nSame answer on 1 and 2 ranks (CG + multigrid, rtol 1e-12):\n\n"
        + rank_agreement(rows)
        + "\n"
    )
    write_between_markers(doc, "perf", block)


def write_between_markers(doc: Path, name: str, block: str, heading: str = "") -> None:
    """Put ``block`` between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in ``doc``
    (appended, after ``heading``, when the markers are not there yet)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = doc.read_text() if doc.exists() else ""
    if begin not in text:
        text += f"{heading}{begin}\n{end}\n"
    text = re.sub(
        re.escape(begin) + ".*" + re.escape(end), lambda _: f"{begin}\n{block}{end}", text, flags=re.S
    )
    doc.write_text(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="two small rungs per dimension (a smoke test)")
    p.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--max-dofs", type=int, default=2_000_000)
    p.add_argument("--targets", type=int, nargs="+", help="DOF targets to run (default: the ladder)")
    p.add_argument(
        "--merge",
        action="store_true",
        help="add these rungs to the existing ladder.json, replacing runs of the same rung and ranks",
    )
    p.add_argument("--doc", default=str(ROOT / "docs/performance.md"))
    p.add_argument("--out", default=str(ROOT / "docs/performance"))
    p.add_argument("--from-json", help="rewrite the document from a ladder.json of an earlier run")
    args = p.parse_args()
    if args.from_json:
        write_doc(json.loads(Path(args.from_json).read_text())["rows"], Path(args.doc), Path(args.out))
        return 0
    targets = (
        (20_000, 50_000) if args.quick else tuple(args.targets or (t for t in TARGETS if t <= args.max_dofs))
    )
    rows = []
    if args.merge:
        rows = json.loads((Path(args.out) / "ladder.json").read_text())["rows"]
    with tempfile.TemporaryDirectory(prefix="dfem-perf-") as work:
        for dim in args.dims:
            for target in targets:
                for ranks in args.ranks:
                    r = run_rung(dim, target, ranks, Path(work))
                    rows = [
                        x
                        for x in rows
                        if not (x["dim"] == dim and x["ranks"] == ranks and x["factor"] == r["factor"])
                    ]
                    rows.append(r)
                    print(
                        f"{dim}D {r['dofs']:>9,} DOFs {ranks} rank(s): mesh {r['run']['meshing']:.1f} s, "
                        f"Newton {r['solver']['newton']:.2f} s, floor {r['floor']['seconds']:.2f} s, "
                        f"ratio {r['ratio']:.2f}, process {r['process_wall']:.0f} s",
                        flush=True,
                    )
                    write_doc(rows, Path(args.doc), Path(args.out))  # keep what finished if interrupted
    return 0


if __name__ == "__main__":
    sys.exit(main())
