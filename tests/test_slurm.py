"""Sweeps and runs on a real Slurm cluster (docs/cluster.md): a job array with a cancelled task
resubmitted, ``srun`` against ``mpiexec``, the documented sbatch script, and the refusals.

The tests that submit need ``sbatch`` and a controller that answers ``sinfo``; they skip, saying
so, where there is none (start a one-node cluster on a development machine to run them)."""

import csv
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import COARSE_MESH, ROOT, SMALL_CASE, mpiexec, read_summary, run_cli


def _cluster() -> str | None:
    """Why the Slurm tests cannot run here, or None when they can."""
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH (no Slurm client here)"
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%a"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "sinfo did not answer"
    if r.returncode != 0 or "up" not in r.stdout:
        return f"no Slurm controller answers (sinfo: {(r.stderr or r.stdout).strip()[:120]})"
    return None


_WHY_NOT = _cluster()
needs_slurm = pytest.mark.skipif(_WHY_NOT is not None, reason=f"Slurm: {_WHY_NOT}")

SWEEP = (
    SMALL_CASE
    + COARSE_MESH
    + """[output]
fields = false
figures = false
[sweep]
"geometry.defects.0.radius" = ["4 um", "6 um", "8 um"]
"operation.current_density" = ["0.127 mA/cm2", "0.41 mA/cm2", "0.51 mA/cm2", "0.82 mA/cm2"]
"""
)


def _our_jobs(job_ids: list[str]) -> list[str]:
    r = subprocess.run(
        ["squeue", "-h", "-r", "--me", "-o", "%i %T"], capture_output=True, text=True, timeout=60
    )
    return [line for line in r.stdout.splitlines() if line.split()[0].split("_")[0] in job_ids]


def _wait_for(job_ids: list[str], timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while _our_jobs(job_ids):
        assert time.time() < deadline, f"jobs {job_ids} still queued after {timeout} s: {_our_jobs(job_ids)}"
        time.sleep(1)


def _submissions(out):
    return json.loads((out / "slurm" / "jobs.json").read_text())["submissions"]


def _rows(out):
    with (out / "sweep.csv").open() as f:
        return list(csv.DictReader(f))


def test_bad_scheduler_options_submit_nothing(write_case, tmp_path):
    case = write_case(SWEEP)
    out = tmp_path / "s"
    for args, field in (
        (["--time-limit", "ten"], "--time-limit"),
        (["--np", "0"], "--np"),
        (["--max-concurrent", "-2"], "--max-concurrent"),
        (["--sbatch-option", "account=x"], "--sbatch-option"),
    ):
        r = run_cli("sweep", str(case), "--out", str(out), "--scheduler", "slurm", *args)
        assert r.returncode == 2 and field in r.stderr, r.stderr
        assert not out.exists()
    # no sbatch on PATH: said so, exit 2, nothing written
    env_path = os.environ["PATH"]
    try:
        os.environ["PATH"] = str(ROOT / ".no-slurm-here")
        r = run_cli("sweep", str(case), "--out", str(out), "--scheduler", "slurm")
    finally:
        os.environ["PATH"] = env_path
    assert r.returncode == 2 and "'sbatch' is not on PATH" in r.stderr, r.stderr
    assert not out.exists()
    r = run_cli("sweep", "--status", str(tmp_path))
    assert r.returncode == 2 and "not a sweep directory" in r.stderr


@needs_slurm
def test_bad_partition_is_refused_by_sbatch_before_submitting(write_case, tmp_path):
    out = tmp_path / "s"
    r = run_cli(
        "sweep",
        str(write_case(SWEEP)),
        "--out",
        str(out),
        "--scheduler",
        "slurm",
        "--partition",
        "no-such-partition",
    )
    assert r.returncode == 2 and "sbatch refused" in r.stderr and "partition" in r.stderr, r.stderr
    assert not out.exists()


@needs_slurm
@pytest.mark.slow
def test_array_sweep_survives_a_cancelled_task_and_resubmits_only_unfinished_runs(write_case, tmp_path):
    case = write_case(SWEEP)
    out = tmp_path / "sweep"
    submit = [
        "sweep",
        str(case),
        "--out",
        str(out),
        "--scheduler",
        "slurm",
        "--time-limit",
        "10",
        "--max-concurrent",
        "2",
    ]
    r = run_cli(*submit)
    assert r.returncode == 0, r.stderr
    assert "12 to submit" in r.stdout
    first = _submissions(out)[0]
    assert len(first["runs"]) == 12 and first["collect_job"]
    job = first["array_job"]
    # cancel run-0007 while it runs (the earlier ones finish meanwhile, two at a time)
    victim = f"{job}_7"
    deadline = time.time() + 300
    while f"{victim} RUNNING" not in _our_jobs([job]):
        assert time.time() < deadline, _our_jobs([job])
        time.sleep(0.2)
    time.sleep(1.0)  # into the run's start-up or solve
    subprocess.run(["scancel", victim], check=True, timeout=60)
    _wait_for([job, first["collect_job"]])

    status = run_cli("sweep", "--status", str(out))
    assert status.returncode == 1  # a failed run
    assert "11 finished" in status.stdout and "1 failed" in status.stdout, status.stdout
    assert "run-0007: failed" in status.stdout and "cancelled" in status.stdout
    table = _rows(out)  # the dependent collect job ran after the array ended
    assert len(table) == 11 * 2 + 1 and [r["status"] for r in table if r["run"] == "run-0007"][0].startswith(
        "failed"
    )
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/run-*/summary.json")}
    assert len(finished) == 11 and "run-0007" not in finished

    # the same command again: only run-0007 is submitted, the others are not recomputed
    r = run_cli(*submit)
    assert r.returncode == 0, r.stderr
    assert "11 finished" in r.stdout and "1 to submit" in r.stdout
    second = _submissions(out)[1]
    assert second["runs"] == ["run-0007"]
    _wait_for([second["array_job"], second["collect_job"]])
    for name, mtime in finished.items():
        assert (out / "runs" / name / "summary.json").stat().st_mtime_ns == mtime, name
    table = _rows(out)
    assert len(table) == 12 * 2 and all(r["status"] == "ok" for r in table)
    assert len({(r["run"], r["electrolyte"]) for r in table}) == 24  # none lost, none twice
    assert {r["geometry.defects.0.radius"] for r in table} == {"4 um", "6 um", "8 um"}
    assert all(float(r["charge_balance_error"]) < 1e-8 for r in table)
    status = run_cli("sweep", "--status", str(out))
    assert status.returncode == 0 and "12 finished" in status.stdout, status.stdout
    # a third submit has nothing to do
    r = run_cli(*submit)
    assert r.returncode == 0 and "0 to submit" in r.stdout and len(_submissions(out)) == 2


def _metrics(summary):
    return {
        (n, k): v
        for n, r in summary["electrolytes"].items()
        for k, v in r["metrics"].items()
        if isinstance(v, float)
    }


DEFAULT = ROOT / "cases" / "nas_vs_nps_protrusion.toml"


@needs_slurm
def test_srun_equals_mpiexec_and_srun_without_pmi_is_refused(tmp_path):
    py = [sys.executable, "-m", "dendrite_fem.app.cli"]
    env = dict(os.environ)
    runs = {
        "srun": [
            "srun",
            "--mpi=pmi2",
            "-n",
            "2",
            "--time=10",
            *py,
            "run",
            str(DEFAULT),
            "--out",
            str(tmp_path / "srun"),
            "--quiet",
        ],
        "mpiexec": [
            mpiexec(),
            "-n",
            "2",
            *py,
            "run",
            str(DEFAULT),
            "--out",
            str(tmp_path / "mpiexec"),
            "--quiet",
        ],
    }
    for name, cmd in runs.items():
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
        assert r.returncode == 0, name + r.stderr
    a, b = read_summary(tmp_path / "srun"), read_summary(tmp_path / "mpiexec")
    assert a["run"]["ranks"] == b["run"]["ranks"] == 2
    # the same mesh, partition and solver on the same machine: the same numbers to 1e-10
    # (the Newton tolerance of the current scale); in practice they are identical
    for key, v in _metrics(b).items():
        assert a["electrolytes"][key[0]]["metrics"][key[1]] == pytest.approx(v, rel=1e-10, abs=1e-14), key
    # srun without a PMI plugin starts two one-rank copies: refused, nothing written
    r = subprocess.run(
        [
            "srun",
            "--mpi=none",
            "-n",
            "2",
            "--time=5",
            *py,
            "run",
            str(DEFAULT),
            "--out",
            str(tmp_path / "bad"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert r.returncode == 2 and "srun --mpi=pmi2" in r.stderr, r.stderr
    assert not (tmp_path / "bad").exists()


@needs_slurm
def test_documented_sbatch_script_runs_a_case(write_case, tmp_path):
    """docs/cluster/run-case.sbatch, as docs/cluster.md tells a user to submit it."""
    case = write_case(SMALL_CASE)
    out = tmp_path / "one"
    env = dict(os.environ, DENDRITE_FEM=f"{sys.executable} -m dendrite_fem.app.cli")
    r = subprocess.run(
        [
            "sbatch",
            "--parsable",
            "--wait",
            "--ntasks=2",
            "--time=10",
            f"--output={tmp_path}/job.log",
            str(ROOT / "docs" / "cluster" / "run-case.sbatch"),
            str(case),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, r.stderr + (tmp_path / "job.log").read_text()
    s = read_summary(out)
    assert s["run"]["ranks"] == 2 and s["electrolytes"]["NPS"]["metrics"]["charge_balance_error"] < 1e-10
