"""Sweeps: every combination runs once, an interrupted sweep resumes, the report is written."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import COARSE_MESH, ROOT, SMALL_CASE, run_cli

SWEEP = (
    SMALL_CASE
    + COARSE_MESH
    + """
[sweep]
"geometry.defects.0.radius" = ["4 um", "6 um", "8 um"]
"operation.current_density" = ["0.127 mA/cm2", "0.82 mA/cm2"]
"""
)


def rows(out):
    with (out / "sweep.csv").open() as f:
        return list(csv.DictReader(f))


def test_bad_sweep_is_refused_before_running(write_case, tmp_path):
    bad = write_case(SWEEP.replace('"4 um", ', '"4 um", "45 um", '))
    r = run_cli("sweep", str(bad), "--out", str(tmp_path / "s"))
    assert r.returncode == 2 and "run 3" in r.stderr and "widen geometry.width" in r.stderr
    assert not (tmp_path / "s").exists()
    r = run_cli("run", str(write_case(SWEEP)))
    assert r.returncode == 2 and "dendrite-fem sweep" in r.stderr


@pytest.mark.slow
def test_interrupted_sweep_resumes_without_redoing_finished_runs(write_case, tmp_path):
    case = write_case(SWEEP)
    out = tmp_path / "sweep"
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", "sweep", str(case), "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("runs/run-*/summary.json"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep, its running child included
    proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/run-*/summary.json")}
    assert 2 <= len(finished) < 6

    r = run_cli("sweep", str(case), "--out", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    for name, mtime in finished.items():
        assert f"{name} skipped (finished)" in r.stdout
        assert (out / "runs" / name / "summary.json").stat().st_mtime_ns == mtime  # not redone
    table = rows(out)
    assert len(table) == 6 * 2  # six runs, two electrolytes each
    assert all(row["status"] == "ok" for row in table)
    assert {row["geometry.defects.0.radius"] for row in table} == {"4 um", "6 um", "8 um"}
    for row in table:
        assert float(row["charge_balance_error"]) < 1e-8
    # focusing grows with the defect for the poorer conductor
    nps = sorted(
        (float(r["defect_size_m"]), float(r["max_over_mean"]))
        for r in table
        if r["electrolyte"] == "NPS" and r["operation.current_density"] == "0.127 mA/cm2"
    )
    assert nps[0][1] < nps[1][1] < nps[2][1]

    rep = run_cli("report", str(out))
    assert rep.returncode == 0, rep.stderr
    text = (out / "report" / "report.md").read_text()
    assert "![headline](headline.png)" in text and "Reading" in text and "NPS concentrates" in text
    for png in ("headline.png", "wagner.png", "current_maps.png"):
        assert (out / "report" / png).stat().st_size > 10_000


@pytest.mark.parametrize("target", ["run", "sweep"])
def test_report_of_a_single_run(tmp_path, write_case, target):
    if target == "sweep":
        r = run_cli("report", str(tmp_path))
        assert r.returncode == 2 and "neither a sweep directory" in r.stderr
        return
    out = tmp_path / "one"
    assert run_cli("run", str(write_case(SMALL_CASE)), "--out", str(out), "--quiet").returncode == 0
    r = run_cli("report", str(out))
    assert r.returncode == 0, r.stderr
    assert "Most homogeneous: **NAS**" in (out / "report" / "report.md").read_text()


@pytest.mark.slow
def test_sweep_with_mpi_ranks_per_run(write_case, tmp_path):
    # the Docker section's command: every run on 2 MPI ranks
    small = (
        SWEEP.split("[sweep]")[0] + '[sweep]\n"operation.current_density" = ["0.127 mA/cm2", "0.82 mA/cm2"]\n'
    )
    out = tmp_path / "mpi"
    r = run_cli("sweep", str(write_case(small)), "--out", str(out), "--np", "2", "--jobs", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    table = rows(out)
    assert len(table) == 4 and all(row["status"] == "ok" for row in table)
    summary = (out / "runs" / "run-0001" / "summary.json").read_text()
    assert '"ranks": 2' in summary


@pytest.mark.parametrize("action", ["kill", "raise"])
def test_a_run_that_fails_or_kills_its_worker_fails_alone(write_case, tmp_path, action):
    """Runs share a worker process: an exception fails its run only, and a run that kills the
    process (SIGKILL, as the OOM killer would) fails alone; the runs after it get a new worker."""
    sweep = SMALL_CASE + COARSE_MESH + '\n[sweep]\n"electrolytes.1.material" = ["NPS", "NTOC", "NPS"]\n'
    out = tmp_path / "s"
    env = {**os.environ, "DENDRITE_FEM_FAULT": f"solve:NTOC={action}"}
    r = run_cli("sweep", str(write_case(sweep)), "--out", str(out), "--jobs", "1", env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    status = {row["run"]: row["status"] for row in rows(out)}
    code = 128 + signal.SIGKILL if action == "kill" else 1
    assert status == {
        "run-0001": "ok",
        "run-0002": f"failed (exit {code}, see runs/run-0002.log)",
        "run-0003": "ok",
    }
    log = (out / "runs" / "run-0002.log").read_text()
    assert ("the worker process ended during this run" in log) == (action == "kill")
    assert "injected fault" in log or action == "kill"
    assert (out / "runs" / "run-0003" / "summary.json").exists()
