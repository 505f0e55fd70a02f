"""The API reference (docs/api, Sphinx autodoc) builds with warnings as errors."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_api_reference_builds_without_warnings(tmp_path):
    sphinx = Path(sys.executable).parent / "sphinx-build"
    r = subprocess.run([str(sphinx), "-q", "-W", "--keep-going", "-b", "html", "docs/api", str(tmp_path / "html")],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "html" / "model.html").read_text()
    assert "dendrite_fem.model.Model" in page and "Solution" in page and "Metrics" in page
