"""ruff lint and format over the package, tests, benchmarks and demos (pyproject's [tool.ruff])."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PATHS = ["fem", "meshes", "tests", "benchmarks", "demos"]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_lint_is_clean():
    r = subprocess.run([str(RUFF), "check", *PATHS], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_applied():
    r = subprocess.run(
        [str(RUFF), "format", "--check", *PATHS], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 0, "run: ruff format " + " ".join(PATHS) + "\n" + r.stdout
