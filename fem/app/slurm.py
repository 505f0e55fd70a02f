"""Sweeps on a Slurm cluster: one job array, one task per run, each run on its own MPI ranks.

``dendrite-fem sweep CASE --scheduler slurm`` validates the sweep and the scheduler options
(``sbatch --test-only``) before anything is submitted, then submits as one array the runs that
are neither finished (the same result key a ``run`` uses to skip itself) nor still queued or
running from an earlier submission.  Task *i* is ``run-000i``; it runs
``srun -n NP dendrite-fem sweep-task OUT i``, which is ``dendrite-fem run`` of that run's
overrides into ``OUT/runs/run-000i``.  A dependent job (``afterany``) collects ``sweep.csv``
and the report; ``dendrite-fem sweep --collect OUT`` does the same on demand.

What is kept in the sweep directory:

* ``slurm/jobs.json``: every submission (array job id, its runs, the collect job id, options);
* ``slurm/tasks/run-NNNN.json``: the task's own record (job, state, exit code), written by the
  job script at start, at the end and when the task is cancelled (``scancel`` sends SIGTERM);
* ``runs/run-NNNN.log``: the task's output (Slurm's ``--output``).

``dendrite-fem sweep --status OUT`` combines them with ``squeue`` into finished, running,
queued, failed and not-submitted runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dendrite_fem.app.outputs import finished_result
from dendrite_fem.app.sweep import Run, collect, layout, load_sweep, recorded_runs
from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case

#: Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S
_TIME = re.compile(r"^(\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2})$")
#: squeue states of a job that will still run or is running
_ACTIVE = {
    "PENDING": "queued",
    "CONFIGURING": "running",
    "RUNNING": "running",
    "COMPLETING": "running",
    "SUSPENDED": "queued",
    "REQUEUED": "queued",
    "RESIZING": "running",
}


class SchedulerError(CaseError):
    """A scheduler option or the scheduler itself is not usable (exit 2, nothing submitted)."""


@dataclass(frozen=True)
class SlurmOptions:
    """How the array is submitted: ``partition`` (None: the cluster's default), ``time_limit``
    per run (Slurm syntax, e.g. ``"30"`` minutes or ``"2:00:00"``), ``ranks`` MPI ranks per run,
    ``max_concurrent`` runs at once (0: no limit), ``mpi`` the ``srun --mpi`` plugin that the MPI
    library speaks (``pmi2`` for MPICH, as in the ``dolfinx-solver-real`` wheel; ``pmix`` for
    Open MPI), and any further ``sbatch`` options (``--account=...``)."""

    partition: str | None = None
    time_limit: str = "1:00:00"
    ranks: int = 1
    max_concurrent: int = 0
    mpi: str = "pmi2"
    sbatch_options: tuple[str, ...] = field(default_factory=tuple)

    def check(self) -> None:
        if not _TIME.match(self.time_limit):
            raise SchedulerError(
                f"--time-limit {self.time_limit!r}: not a Slurm time; write minutes ('30'), "
                "'H:MM:SS' ('2:00:00') or 'D-HH:MM' ('1-12:00')"
            )
        if self.ranks < 1:
            raise SchedulerError(
                f"--np {self.ranks}: a run needs at least one MPI rank; write --np 1 or more"
            )
        if self.max_concurrent < 0:
            raise SchedulerError(
                f"--max-concurrent {self.max_concurrent}: write 0 (no limit) or a positive number"
            )
        if self.partition is not None and not re.fullmatch(r"[A-Za-z0-9_.,-]+", self.partition):
            raise SchedulerError(f"--partition {self.partition!r}: not a partition name")
        if not re.fullmatch(r"[a-z0-9_]+", self.mpi):
            raise SchedulerError(f"--srun-mpi {self.mpi!r}: not an srun MPI plugin name (e.g. pmi2, pmix)")
        for opt in self.sbatch_options:
            if not opt.startswith("--"):
                raise SchedulerError(
                    f"--sbatch-option {opt!r}: write it as one long option, e.g. '--account=proj'"
                )


def _sbatch() -> str:
    path = shutil.which("sbatch")
    if path is None:
        raise SchedulerError(
            "--scheduler slurm: 'sbatch' is not on PATH; run on a Slurm login node (or load "
            "its module), or run the sweep here without --scheduler"
        )
    return path


def _python_command() -> str:
    """The interpreter and module the tasks run: this very installation."""
    return f"{shlex.quote(sys.executable)} -m dendrite_fem.app.cli"


def _array_script(out: Path, options: SlurmOptions, force: bool) -> str:
    """The job script of one array task (task id = run number)."""
    out_q = shlex.quote(str(out.resolve()))
    tasks = f"{out_q}/slurm/tasks"
    force_flag = " --force" if force else ""
    return f"""#!/bin/bash
# dendrite-fem sweep task: run-NNNN of {out} (NNNN = the array task id)
set -u
name=$(printf 'run-%04d' "$SLURM_ARRAY_TASK_ID")
record={tasks}/$name.json
job="${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
note() {{ printf '{{"job": "%s", "state": "%s", "exit": %s, "host": "%s", "time": "%s"}}\\n' \\
          "$job" "$1" "$2" "$(hostname)" "$(date -Is)" > "$record.tmp" && mv "$record.tmp" "$record"; }}
note running null
# scancel (and the time limit) send SIGTERM: pass it on to the run, which keeps its resumable state
trap 'note cancelled 143; kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 143' TERM INT
srun --mpi={options.mpi} -n {options.ranks} {_python_command()} sweep-task {out_q} "$SLURM_ARRAY_TASK_ID"{force_flag} &
pid=$!
wait "$pid"
code=$?
note exited "$code"
exit "$code"
"""


def _collect_script(out: Path) -> str:
    return f"""#!/bin/bash
# dendrite-fem sweep: collect sweep.csv and the report of {out} once its array has ended
exec {_python_command()} sweep --collect {shlex.quote(str(out.resolve()))}
"""


def _sbatch_args(options: SlurmOptions, name: str) -> list[str]:
    args = [f"--job-name=dfem-{name}", f"--ntasks={options.ranks}", f"--time={options.time_limit}"]
    if options.partition:
        args.append(f"--partition={options.partition}")
    return args + list(options.sbatch_options)


def _submit(args: list[str], script: str, test_only: bool = False) -> str:
    """Run sbatch with the script on stdin; returns the job id (or sbatch's message for a test)."""
    cmd = [_sbatch(), *(["--test-only"] if test_only else ["--parsable"]), *args]
    try:
        r = subprocess.run(cmd, input=script, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise SchedulerError(
            "sbatch did not answer within 2 minutes; is the Slurm controller up (sinfo)?"
        ) from None
    if r.returncode != 0:
        message = (r.stderr or r.stdout).strip().replace("sbatch: error: ", "")
        raise SchedulerError(f"sbatch refused the job: {message}")
    return (r.stderr + r.stdout).strip() if test_only else r.stdout.strip().split(";")[0]


def _squeue(job_ids: list[str]) -> dict[str, str] | None:
    """Job (``A`` or ``A_i``) → 'queued' or 'running' for the given jobs still known to Slurm;
    None when squeue cannot be asked."""
    squeue = shutil.which("squeue")
    if squeue is None or not job_ids:
        return None if squeue is None else {}
    try:
        r = subprocess.run(
            [squeue, "-h", "-r", "--me", "-o", "%i %T"], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        return None
    wanted = set(job_ids)
    states = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].split("_")[0] in wanted:
            states[parts[0]] = _ACTIVE.get(parts[1], parts[1].lower())
    return states


def _jobs_file(out: Path) -> Path:
    return out / "slurm" / "jobs.json"


def _submissions(out: Path) -> list[dict]:
    try:
        return json.loads(_jobs_file(out).read_text())["submissions"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError) as exc:
        raise SchedulerError(
            f"{_jobs_file(out)}: unreadable ({exc}); move it away to start the records afresh"
        ) from None


def _write_submissions(out: Path, submissions: list[dict]) -> None:
    path = _jobs_file(out)
    tmp = path.with_name(".jobs.json.tmp")
    tmp.write_text(json.dumps({"submissions": submissions}, indent=2) + "\n")
    os.replace(tmp, path)


def _task_record(out: Path, run: Run) -> dict | None:
    try:
        return json.loads((out / "slurm" / "tasks" / f"{run.name}.json").read_text())
    except (OSError, ValueError):
        return None


@dataclass
class RunState:
    run: Run
    state: str  #: finished, running, queued, failed, outdated, not submitted
    job: str | None = None
    detail: str = ""


def _queue(out: Path) -> dict[str, str] | None:
    """squeue's view of every job this sweep submitted (arrays and collect jobs)."""
    submissions = _submissions(out)
    return _squeue(sorted({s[k] for s in submissions for k in ("array_job", "collect_job") if s.get(k)}))


def run_states(out: Path, base: Path, runs: list[Run], queue: dict[str, str] | None) -> list[RunState]:
    """Where every run of a sweep stands, given squeue's view (None: squeue unavailable)."""
    from dendrite_fem.app.runner import result_key

    task_of: dict[str, str] = {}  # run name → the array task of its latest submission
    for sub in _submissions(out):
        for name in sub["runs"]:
            task_of[name] = f"{sub['array_job']}_{int(name.split('-')[1])}"
    states = []
    for run in runs:
        _, digest = load_case(base, run.overrides)
        job = task_of.get(run.name)
        if finished_result(out / "runs" / run.name, result_key(digest)) is not None:
            states.append(RunState(run, "finished", job))
            continue
        stale = (out / "runs" / run.name / "summary.json").exists()
        if job is None:
            states.append(RunState(run, "not submitted"))
            continue
        active = None if queue is None else queue.get(job)  # squeue -r: one line per array task
        if active in ("queued", "running"):
            states.append(RunState(run, active, job))
            continue
        if stale:  # finished, but by other code or from another case text: a run would redo it
            states.append(
                RunState(run, "outdated", job, "a result of other code or case text; resubmitting redoes it")
            )
            continue
        record = _task_record(out, run)
        if (
            record is not None
            and record.get("job") == job
            and record.get("state") == "running"
            and queue is None
        ):
            states.append(
                RunState(run, "running", job, "squeue unavailable; the task's own record says running")
            )
            continue
        if record is None or record.get("job") != job:
            detail = "ended before it started" if queue is not None else "no record yet (squeue unavailable)"
        elif record["state"] == "cancelled":
            detail = "cancelled (scancel or time limit)"
        elif record["state"] == "exited":
            detail = f"exit {record['exit']}"
        else:
            detail = "ended without a final record (killed or node failure)"
        states.append(RunState(run, "failed", job, f"{detail}; see runs/{run.name}.log"))
    return states


def submit(path: str | Path, out: Path, options: SlurmOptions, force: bool = False, log=print) -> dict:
    """Submit the unfinished runs of a sweep as one job array plus a dependent collect job;
    returns the submission record (also appended to ``slurm/jobs.json``).  Nothing is
    submitted when an option or the sweep is invalid."""
    options.check()
    _sbatch()
    name = Path(path).stem
    out = Path(out)
    # everything is validated before anything is written or submitted
    path, runs = load_sweep(path)
    _submit([*_sbatch_args(options, name), "--array=1"], _array_script(out, options, force), test_only=True)
    base = layout(path, runs, out)
    (out / "slurm" / "tasks").mkdir(parents=True, exist_ok=True)
    queue = _queue(out)
    states = run_states(out, base, runs, queue)
    if queue is None and _submissions(out):
        raise SchedulerError(
            "squeue cannot be asked, so queued and running runs cannot be told from failed ones; "
            "resubmit where squeue works"
        )
    busy = [s for s in states if s.state in ("queued", "running")]
    todo = [
        s.run for s in states if s.state not in ("queued", "running") and (force or s.state != "finished")
    ]
    finished = sum(s.state == "finished" for s in states)
    log(
        f"{len(runs)} runs: {finished} finished, {len(busy)} queued or running in an earlier submission, "
        f"{len(todo)} to submit"
    )
    submissions = _submissions(out)
    if not todo:
        if not busy:
            log("nothing to submit: collecting sweep.csv and the report now")
            collect_now(out)
        return {}
    indices = ",".join(str(r.index) for r in todo) + (
        f"%{options.max_concurrent}" if options.max_concurrent else ""
    )
    (out / "slurm" / "array.sh").write_text(_array_script(out, options, force))
    (out / "slurm" / "collect.sh").write_text(_collect_script(out))
    array_args = [
        *_sbatch_args(options, name),
        f"--array={indices}",
        f"--output={(out / 'runs').resolve()}/run-%4a.log",
    ]
    array_job = _submit(array_args, _array_script(out, options, force))
    # the collect job waits for every array still running, this one and any earlier
    waits = [array_job, *sorted({s.job.split("_")[0] for s in busy if s.job})]
    collect_args = [
        f"--job-name=dfem-{name}-collect",
        "--ntasks=1",
        f"--time={options.time_limit}",
        f"--dependency=afterany:{':'.join(waits)}",
        "--kill-on-invalid-dep=yes",
        f"--output={(out / 'slurm').resolve()}/collect-%j.log",
    ]
    if options.partition:
        collect_args.append(f"--partition={options.partition}")
    collect_args += list(options.sbatch_options)
    collect_job = _submit(collect_args, _collect_script(out))
    # an earlier collect job still waiting would only write an older table: cancel it
    stale = [s["collect_job"] for s in submissions if s.get("collect_job")]
    if stale and shutil.which("scancel"):
        subprocess.run(["scancel", "--state=PENDING", *stale], capture_output=True, timeout=60)
    record = {
        "array_job": array_job,
        "collect_job": collect_job,
        "runs": [r.name for r in todo],
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": asdict(options),
        "force": force,
    }
    _write_submissions(out, [*submissions, record])
    log(
        f"submitted array job {array_job} ({len(todo)} task(s), {options.ranks} rank(s) each) and collect job "
        f"{collect_job}; job ids in {_jobs_file(out)}"
    )
    return record


def status(out: Path) -> tuple[list[RunState], list[str]]:
    """The states of the runs of a submitted sweep, and lines that describe them."""
    base, runs = recorded_runs(out)
    queue = _queue(out)
    states = run_states(out, base, runs, queue)
    counts = {
        k: sum(s.state == k for s in states)
        for k in ("finished", "running", "queued", "failed", "outdated", "not submitted")
    }
    lines = [f"{out}: {len(runs)} runs: " + ", ".join(f"{v} {k}" for k, v in counts.items())]
    if queue is None:
        lines.append("  (squeue could not be asked: queued and running come from the tasks' own records)")
    for s in states:
        if s.state != "finished":
            lines.append(
                f"  {s.run.name}: {s.state}"
                + (f" (job {s.job})" if s.job else "")
                + (f": {s.detail}" if s.detail else "")
            )
    for sub in _submissions(out):
        collecting = "unknown" if queue is None else queue.get(sub["collect_job"], "ended")
        lines.append(
            f"  submitted {sub['submitted']}: array job {sub['array_job']} ({len(sub['runs'])} runs), "
            f"collect job {sub['collect_job']} ({collecting})"
        )
    if (out / "sweep.csv").exists():
        lines.append(
            f"  {out / 'sweep.csv'} written "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime((out / 'sweep.csv').stat().st_mtime))}"
        )
    return states, lines


def collect_now(out: Path) -> tuple[Path, list[dict]]:
    """sweep.csv (and the report, if any run finished) of a sweep directory, from what is on disk."""
    base, runs = recorded_runs(out)
    status_of = {}
    for run in runs:
        if not (out / "runs" / run.name / "summary.json").exists():
            record = _task_record(out, run)
            if record is None:
                status_of[run.name] = "missing (not run)"
            elif record["state"] == "exited":
                status_of[run.name] = f"failed (exit {record['exit']}, see runs/{run.name}.log)"
            else:
                status_of[run.name] = f"failed ({record['state']}, see runs/{run.name}.log)"
    rows = collect(out, runs, status_of)
    if any(r.get("status") == "ok" for r in rows):
        from dendrite_fem.app.report import write_report

        write_report(out)
    return out / "sweep.csv", rows


def task_arguments(out: Path, index: int, force: bool = False) -> list[str]:
    """The ``dendrite-fem`` arguments of array task ``index`` of the sweep in ``out``."""
    from dendrite_fem.app.sweep import run_arguments

    base, runs = recorded_runs(out)
    by_index = {r.index: r for r in runs}
    if index not in by_index:
        raise CaseError(f"{out}: the sweep has no run {index} (runs 1 to {len(runs)})")
    return run_arguments(out, base, by_index[index], force)
