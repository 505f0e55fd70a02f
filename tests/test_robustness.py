"""Faults: an exception on one MPI rank, NaN, a killed run, resume and skip (docs/robustness.md)."""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SMALL_CASE, mpiexec, read_summary

THREE = SMALL_CASE + '\n[[electrolytes]]\nmaterial = "NTOC"\n'


def run(args, fault=None, np=1, timeout=180):
    env = dict(os.environ)
    env.pop("DENDRITE_FEM_FAULT", None)
    if fault:
        env["DENDRITE_FEM_FAULT"] = fault
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", *args]
    if np > 1:
        cmd = [mpiexec(), "-n", str(np), *cmd]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    r.seconds = time.perf_counter() - t0
    return r


def test_exception_on_one_rank_ends_every_rank(write_case, tmp_path):
    out = tmp_path / "out"
    r = run(
        ["run", str(write_case(SMALL_CASE)), "--out", str(out)], fault="solve:NPS@1=raise", np=2, timeout=120
    )
    assert r.returncode != 0
    assert r.seconds < 100  # no hang: rank 0 does not wait for rank 1 forever
    assert r.stderr.count("injected fault at 'solve:NPS' on rank 1") == 1, r.stderr  # printed once
    assert not out.exists()


def test_nan_is_detected_and_reported(write_case, tmp_path):
    out = tmp_path / "out"
    r = run(["run", str(write_case(SMALL_CASE)), "--out", str(out)], fault="solve:NAS=nan")
    assert r.returncode == 3, r.stderr
    assert "non-finite" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_killed_run_resumes_from_finished_electrolytes(write_case, tmp_path):
    case = write_case(THREE)
    out = tmp_path / "res"
    r = run(["run", str(case), "--out", str(out)], fault="finished:NPS=kill")
    assert r.returncode != 0
    assert not out.exists()
    state = json.loads((tmp_path / ".res.partial" / "state.json").read_text())
    assert set(state["finished"]) == {"NAS", "NPS"}

    resumed = run(["run", str(case), "--out", str(out)])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "NAS: finished in an earlier run" in resumed.stdout
    assert "solving NAS" not in resumed.stdout and "solving NTOC" in resumed.stdout
    s = read_summary(out)
    assert s["run"]["resumed_from"] == ["NAS", "NPS"]
    assert not (tmp_path / ".res.partial").exists()

    clean = tmp_path / "clean"
    assert run(["run", str(case), "--out", str(clean), "--quiet"]).returncode == 0
    c = read_summary(clean)
    for name in ("NAS", "NPS", "NTOC"):
        for key, value in c["electrolytes"][name]["metrics"].items():
            if isinstance(value, float):
                assert s["electrolytes"][name]["metrics"][key] == pytest.approx(value, rel=1e-12), (name, key)
    assert (out / "interface_profile.csv").read_text() == (clean / "interface_profile.csv").read_text()


def test_killed_while_writing_leaves_no_result_and_recovers(write_case, tmp_path):
    case = write_case(SMALL_CASE)
    out = tmp_path / "res"
    r = run(["run", str(case), "--out", str(out)], fault="output=kill")
    assert r.returncode != 0 and not out.exists()
    assert not (tmp_path / ".res.partial" / "summary.json").exists()
    changed = run(["run", str(case), "--out", str(out), "--set", "operation.current_density='0.3 mA/cm2'"])
    assert changed.returncode == 0 and "resuming" not in changed.stdout  # another case: starts afresh


def test_force_ignores_an_interrupted_run(write_case, tmp_path):
    case = write_case(SMALL_CASE)
    out = tmp_path / "res"
    assert run(["run", str(case), "--out", str(out)], fault="finished:NAS=kill").returncode != 0
    r = run(["run", str(case), "--out", str(out), "--force"])
    assert r.returncode == 0 and "resuming" not in r.stdout and "solving NAS" in r.stdout
