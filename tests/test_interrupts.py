"""SIGINT and SIGTERM end a run cleanly (issue 16): the message says what was kept, the exit
code is 128 + the signal, the partial state resumes, and under MPI no rank is left waiting, even
when one rank is blocked in a collective while the other handles the signal."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SMALL_CASE, mpiexec, read_summary

SWEEP = SMALL_CASE + '\n[sweep]\n"operation.current_density" = ["0.2 mA/cm2", "0.4 mA/cm2"]\n'


def _start(args, log, fault, np=1):
    env = dict(os.environ, DENDRITE_FEM_FAULT=fault)
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", *args]
    if np > 1:
        cmd = [mpiexec(), "-n", str(np), *cmd]
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def _when(log, text, process, timeout=120.0):
    """Wait until ``text`` is in the log (the run is where the fault holds it)."""
    t0 = time.monotonic()
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() - t0 < timeout, log.read_text()
        time.sleep(0.2)
    time.sleep(1.0)  # into the fault's sleep


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_run_with_its_code_and_keeps_what_finished(write_case, tmp_path, sig, code):
    case, out, log = write_case(SMALL_CASE), tmp_path / "res", tmp_path / "log"
    p = _start(["run", str(case), "--out", str(out)], log, "finished:NAS=sleep")
    _when(log, "charge balance", p)
    p.send_signal(sig)
    assert p.wait(timeout=60) == code
    text = log.read_text()
    assert f"interrupted by {sig.name}: NAS kept" in text and "Traceback" not in text, text
    assert "did not converge" not in text and not out.exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "dendrite_fem.app.cli", "run", str(case), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert resumed.returncode == 0 and "NAS: finished in an earlier run" in resumed.stdout
    assert read_summary(out)["run"]["resumed_from"] == ["NAS"]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["finished:NAS=sleep", "finished:NAS@1=sleep"])
def test_ctrl_c_under_mpiexec_ends_every_rank(write_case, tmp_path, fault):
    """Both ranks in Python, or rank 1 sleeping while rank 0 waits in a collective for it."""
    case, out, log = write_case(SMALL_CASE), tmp_path / "res", tmp_path / "log"
    p = _start(["run", str(case), "--out", str(out)], log, fault, np=2)
    _when(log, "charge balance", p)
    p.send_signal(signal.SIGINT)  # to mpiexec, which passes it on
    assert p.wait(timeout=60) == 130, log.read_text()
    assert "interrupted by SIGINT" in log.read_text()
    assert (tmp_path / ".res.partial" / "state.json").exists()


@pytest.mark.slow
def test_sigterm_to_a_sweep_reaches_its_runs(write_case, tmp_path):
    sweep, out, log = write_case(SWEEP), tmp_path / "sw", tmp_path / "log"
    p = _start(["sweep", str(sweep), "--out", str(out), "--jobs", "2"], log, "finished:NAS=sleep")
    t0 = time.monotonic()
    while not all(
        "charge balance" in (out / "runs" / f"run-000{i}.log").read_text(errors="ignore")
        if (out / "runs" / f"run-000{i}.log").exists()
        else False
        for i in (1, 2)
    ):
        # the runs' logs are written when they end: wait for their partial state instead
        if len(list((out / "runs").glob(".run-*.partial/state.json"))) == 2:
            break
        assert time.monotonic() - t0 < 120 and p.poll() is None, log.read_text()
        time.sleep(0.2)
    time.sleep(2.0)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=90) == 143, log.read_text()
    leftover = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout.split()
    assert not leftover, "orphaned runs"
    for i in (1, 2):
        assert "interrupted by SIGTERM" in (out / "runs" / f"run-000{i}.log").read_text()
