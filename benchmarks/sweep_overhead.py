"""A sweep of 32 small runs, this version against an earlier one, interleaved, same machine.

The earlier version is taken from git (``--baseline``, default the commit before issue 17's
sweep workers) into a temporary folder and run with the same Python environment; both run
``dendrite-fem sweep benchmarks/cases/sweep_32.toml`` into fresh directories, with the form
cache warm (one untimed sweep each first).  Prints the wall times and the median ratio.

    .venv/bin/python benchmarks/sweep_overhead.py [--baseline REV] [--pairs 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "benchmarks/cases/sweep_32.toml"


def baseline_package(rev: str, work: Path) -> Path:
    """The package of ``rev`` laid out as installed (fem -> dendrite_fem, meshes -> .geometry)."""
    src = work / "src"
    src.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pkg = work / "pkg"
    shutil.copytree(src / "fem", pkg / "dendrite_fem")
    shutil.copytree(src / "meshes", pkg / "dendrite_fem" / "geometry")
    return pkg


def sweep(out: Path, pythonpath: Path | None) -> float:
    env = None
    if pythonpath is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dendrite_fem.app.cli", "sweep", str(SWEEP), "--out", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", default="ccd10dd", help="git revision to compare with")
    p.add_argument("--pairs", type=int, default=2)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sweep-overhead-"))
    old = baseline_package(args.baseline, work)
    sweep(work / "new", None)  # warm the form cache of both
    sweep(work / "old", old)
    new_t, old_t = [], []
    for _ in range(args.pairs):
        new_t.append(sweep(work / "new", None))
        old_t.append(sweep(work / "old", old))
    ratios = [o / n for o, n in zip(old_t, new_t, strict=True)]
    print(f"this version: {', '.join(f'{t:.1f}' for t in new_t)} s")
    print(f"{args.baseline}: {', '.join(f'{t:.1f}' for t in old_t)} s")
    print(f"speed-up (median of pairs): {statistics.median(ratios):.2f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
