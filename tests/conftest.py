"""Shared helpers: small solves in-process, the CLI in a subprocess (serial or MPI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dendrite_fem  # noqa: F401  (orders the DOLFINx wheel's MPI before dolfinx)

ROOT = Path(__file__).resolve().parent.parent
UM = 1e-6

#: How closely two runs that differ only in round-off (1 vs 2 MPI ranks, another CPU, another
#: interpreter) must agree in every reported metric.  Newton stops at a residual of 1e-10 of the
#: current scale (``SolverOptions.rtol``), CG at 1e-12, and the staggered mechanics coupling at a
#: pressure change of 1e-8 of its scale (``MechanicalLoad.rtol``); the partition changes the
#: summation order and so where within those tolerances each solve stops.  1e-6 is 100x the
#: loosest of them and the README's promise for MPI runs; a partition bug (a missed ghost update,
#: a doubly counted facet) changes metrics by 1e-3 or more on these meshes.
RUN_TO_RUN_RTOL = 1e-6


def mpiexec() -> str:
    candidate = Path(sys.executable).parent / "mpiexec"
    return str(candidate) if candidate.exists() else "mpiexec"


def run_cli(
    *args: str, np: int = 1, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``dendrite-fem`` in a fresh process (under mpiexec when np > 1), with ``env`` (default:
    this process's environment)."""
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", *args]
    if np > 1:
        cmd = [mpiexec(), "-n", str(np), *cmd]
    env = dict(os.environ) if env is None else env
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def read_summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def run_on_one_and_two_ranks(command: str, case: Path, tmp_path: Path) -> list[Path]:
    """``dendrite-fem COMMAND CASE`` on one and on two ranks; returns the two result
    directories (asserting that both runs succeeded)."""
    outs = []
    for ranks in (1, 2):
        out = tmp_path / f"np{ranks}"
        r = run_cli(command, str(case), "--out", str(out), "--quiet", np=ranks)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    return outs


@pytest.fixture
def write_case(tmp_path):
    """Write a case file from TOML text and return its path."""

    def _write(text: str, name: str = "case.toml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


SMALL_CASE = """
[case]
name = "small"

[geometry]
dimension = 2
width = "80 um"
thickness = "40 um"

[[geometry.defects]]
kind = "protrusion"
shape = "semicircle"
radius = "8 um"

[operation]
current_density = "0.51 mA/cm2"

[[electrolytes]]
material = "NAS"

[[electrolytes]]
material = "NPS"
"""


#: a mesh coarse enough for the sweep tests (their runs compare trends, not digits)
COARSE_MESH = """
[mesh]
size_near = "1 um"
size_interface = "2 um"
size_far = "8 um"
"""


def solve_window(window, sigma: float, kinetics, operation, degree: int = 1, linear_solver: str = "auto"):
    """Solve ``window`` with one conductivity through the public API (dendrite_fem.Model);
    returns (problem, metrics as a dict, mesh data, solver report)."""
    import dendrite_fem as df

    model = df.Model(
        window,
        kinetics,
        operation,
        degree=degree,
        geometry_order=1,
        solver=df.SolverOptions(linear_solver=linear_solver),
    )
    solution = model.solve(df.electrolyte(name="test", conductivity=sigma, temperature=kinetics.temperature))
    return solution.problem, solution.metrics.to_dict(), model.mesh, solution.report
