"""The literate demos (demos/*.py) run as scripts, through the public API only; the default one
also on two MPI ranks.  Their printed numbers are those of the README."""

import subprocess
import sys

import pytest
from conftest import ROOT, mpiexec

DEMOS = ROOT / "demos"


def _run(script, cwd, np=1, *args):
    cmd = [sys.executable, str(DEMOS / script), *args]
    if np > 1:
        cmd = [mpiexec(), "-n", str(np), *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("ranks", [1, 2])
def test_nas_vs_nps_demo_gives_the_readme_table_and_reads_back(tmp_path, ranks):
    out = _run("nas_vs_nps.py", tmp_path, ranks)
    assert "NAS: max/mean 1.0294" in out and "NPS: max/mean 1.2587" in out, out
    assert out.count("NAS:") == 1  # printed once, not per rank
    back = _run("read_a_result.py", tmp_path)
    assert "NPS: max/mean 1.2587" in back and "fields_NPS.vtu" in back, back


def test_geometry_and_size_loop_demos(tmp_path):
    out = _run("geometry_in_python.py", tmp_path)
    assert "rim:" in out and "tip:" in out
    loop = _run("defect_size_loop.py", tmp_path)
    ratios = {
        (line.split()[2], line.split()[4].rstrip(":")): float(line.split()[-1]) for line in loop.splitlines()
    }
    # focusing grows with the defect, and more for the poorer conductor
    assert ratios[("2", "NPS")] < ratios[("5", "NPS")] < ratios[("10", "NPS")]
    assert all(ratios[(a, "NPS")] > ratios[(a, "NAS")] for a in ("2", "5", "10"))


def test_from_an_image_demo(tmp_path):
    """The segmented sample image: the tip found on its protrusion, and NPS focuses more current
    on it than NAS."""
    out = _run("from_an_image.py", tmp_path)
    lines = out.splitlines()
    ratio = {
        line.split(":")[0]: float(line.split("tip/mean ")[1].split(",")[0])
        for line in lines
        if "tip/mean" in line
    }
    assert "tip at 12.2 um" in out, out
    assert ratio["NPS"] > ratio["NAS"] > 1.0
    # the voxel volume: the voids' lost contact raises the mean plating current by the area
    # ratio, the same for both; NPS focuses more
    volume = {
        line.split(" ")[0]: {
            k: float(v) for k, v in (p.strip().rsplit(" ", 1) for p in line.split(":")[1].split(","))
        }
        for line in lines
        if "(volume)" in line
    }
    contact = volume["NAS"]["contact"]
    assert volume["NAS"]["mean/applied"] == pytest.approx(volume["NPS"]["mean/applied"], rel=1e-9)
    assert 0.3 < contact < 1 and volume["NAS"]["mean/applied"] > 1
    assert volume["NPS"]["max/mean"] > volume["NAS"]["max/mean"] > 1
