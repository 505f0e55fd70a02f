"""Parameter sweeps: one base case, a Cartesian product of overrides, one tidy table.

A sweep file is a case file with a ``[sweep]`` table whose keys are the dotted
paths of ``--set`` and whose values are lists::

    [sweep]
    "geometry.defects.0.radius" = ["2 um", "5 um", "10 um"]
    "operation.current_density" = ["0.127 mA/cm2", "0.51 mA/cm2"]

Every combination is validated before anything runs.  Each run is an ordinary
``dendrite-fem run`` writing ``OUT/runs/run-NNNN``, done by one of ``--jobs`` worker processes
(each on ``--np`` MPI ranks, :mod:`dendrite_fem.app.sweep_worker`) that keep their imports and
compiled forms from one run to the next: a small run costs its work, not a process start-up.
A run that fails does not stop its worker; one that kills it (a crash) fails alone and the
next run gets a new worker, so no run takes the sweep down.  An interrupted sweep restarted
with the same command skips every finished run (the run's own resume key) and resumes the
interrupted ones.  ``OUT/sweep.csv`` has
one row per run and electrolyte.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from dendrite_fem.app import interrupts
from dendrite_fem.app.outputs import OutputLock
from dendrite_fem.app.sweep_worker import MARKER
from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import parse_override, set_path, validate
from dendrite_fem.config.resolve import resolve

#: columns of sweep.csv taken from each electrolyte's metrics, in this order
METRIC_COLUMNS = [
    "max_over_mean",
    "min_over_mean",
    "coefficient_of_variation",
    "share_above_twice_mean",
    "mean_plating_current_density",
    "max_plating_current_density",
    "charge_balance_error",
    "mean_overpotential",
    "counter_potential",
    "ohmic_drop",
]


@dataclass
class Run:
    index: int
    overrides: list[str]  #: KEY=VALUE, as for --set
    parameters: dict[str, object]  #: dotted path → value as written in the sweep file

    @property
    def name(self) -> str:
        return f"run-{self.index:04d}"


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def load_sweep(path: str | Path) -> tuple[Path, list[Run]]:
    """Read a sweep file; every combination is validated (with its geometry)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise CaseError(f"{path}: cannot read the sweep file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    axes = data.pop("sweep", None)
    if not isinstance(axes, dict) or not axes:
        raise CaseError(f'{path}: a sweep file needs a [sweep] table of "dotted.key" = [values]')
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise CaseError(f"{path}: sweep.{key!r} must be a non-empty list of values")
    runs = []
    for index, combo in enumerate(itertools.product(*axes.values()), start=1):
        params = dict(zip(axes, combo, strict=True))
        overrides = [f"{k}={_toml_value(v)}" for k, v in params.items()]
        trial = json.loads(json.dumps(data))
        for text in overrides:
            set_path(trial, *parse_override(text))
        source = f"{path} (run {index}: {', '.join(overrides)})"
        resolve(validate(trial, source), source)  # the whole case, its geometry and materials too
        runs.append(Run(index, overrides, params))
    return path, runs


def _base_case(path: Path, out: Path) -> Path:
    """The sweep file without its [sweep] table, written next to the runs."""
    text = path.read_text()
    data = tomllib.loads(text)
    data.pop("sweep")
    base = out / "base_case.toml"
    content = _strip_sweep(text) + "\n"
    if tomllib.loads(content) != data:  # the textual cut must agree with the parsed file
        raise CaseError(f'{path}: write the [sweep] table as one block of "key" = [values] lines')
    if not base.exists() or base.read_text() != content:
        base.write_text(content)
    return base


def _strip_sweep(text: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == "[sweep]"
        if not skipping:
            out.append(line)
    return "\n".join(out)


def layout(path: Path, runs: list[Run], out: Path) -> Path:
    """Lay out the directory of a validated sweep: ``runs/``, ``base_case.toml`` and
    ``sweep.json`` (the runs and their overrides, which a scheduler's tasks read back).
    Returns the base case."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    base = _base_case(path, out)
    record = {
        "sweep_file": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "runs": [{"name": r.name, "overrides": r.overrides, "parameters": r.parameters} for r in runs],
    }
    tmp = out / ".sweep.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, out / "sweep.json")
    return base


def recorded_runs(out: Path) -> tuple[Path, list[Run]]:
    """The base case and runs of a sweep directory laid out by :func:`layout`."""
    try:
        record = json.loads((out / "sweep.json").read_text())
        runs = [
            Run(int(r["name"].split("-")[1]), r["overrides"], r.get("parameters", {})) for r in record["runs"]
        ]
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise CaseError(f"{out}: not a sweep directory (no readable sweep.json: {exc})") from None
    return out / "base_case.toml", runs


def run_arguments(out: Path, base: Path, run: Run, force: bool = False) -> list[str]:
    """``dendrite-fem`` arguments of one run of the sweep.  Runs that share a geometry (a
    current or electrolyte sweep) mesh it once, through the sweep's mesh cache."""
    args = [
        "run",
        str(base),
        "--out",
        str(out / "runs" / run.name),
        "--quiet",
        "--mesh-cache",
        str(out / "meshes"),
    ]
    for text in run.overrides:
        args += ["--set", text]
    return args + (["--force"] if force else [])


def run_sweep(
    path: str | Path,
    out: str | Path,
    jobs: int = 0,
    ranks: int = 1,
    force: bool = False,
    progress: bool = True,
) -> tuple[Path, list[dict]]:
    """Run (or finish) a sweep on this machine; returns the table path and its rows."""
    path, runs = load_sweep(path)
    out = Path(out)
    lock = OutputLock(out)  # a second sweep into the same directory is refused, not interleaved
    lock.acquire(f"sweep --out {out}")
    try:
        return _run_sweep(path, runs, out, jobs, ranks, force, progress)
    finally:
        lock.release()


class Worker:
    """A sweep worker process (:mod:`dendrite_fem.app.sweep_worker`) on ``ranks`` MPI ranks,
    started on first use and again after it died."""

    def __init__(self, ranks: int, children: list):
        self.ranks = ranks
        self.children = children  #: every process started, to pass a signal on to
        self.process: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "dendrite_fem.app.sweep_worker"]
        if self.ranks > 1:
            cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(self.ranks), *cmd]
        # a session of its own: a Ctrl-C at the terminal reaches the sweep, which passes it on
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.children.append(process)
        return process

    def run(self, args: list[str], log: Path) -> int:
        """Do one run; returns its exit code (that of the process if it died during the run:
        128 + N for a signal N)."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        p = self.process
        stray: list[str] = []  # output outside a run (start-up warnings), kept for the log
        try:
            p.stdin.write(json.dumps({"args": args, "log": str(log)}) + "\n")
            p.stdin.flush()
            for line in p.stdout:
                if line.startswith(MARKER):
                    return int(json.loads(line[len(MARKER) :])["code"])
                stray.append(line)
        except (BrokenPipeError, ValueError):
            pass
        # the worker died during the run: this run failed, the next one gets a new worker
        code = p.wait()
        code = 128 - code if code < 0 else code
        self.process = None
        with log.open("a") as f:
            f.write("".join(stray) + f"\nthe worker process ended during this run (exit {code})\n")
        return code or EXIT_WORKER_DIED

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of input: the worker returns
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()


#: exit code of a run whose worker ended with status 0 without answering (should not happen)
EXIT_WORKER_DIED = 1


def _run_sweep(path: Path, runs: list, out: Path, jobs: int, ranks: int, force: bool, progress: bool):
    base = layout(path, runs, out)
    jobs = min(len(runs), jobs or max(1, (os.cpu_count() or 1) // ranks))

    children: list[subprocess.Popen] = []  #: the worker processes, to pass a signal on to
    stopping = threading.Event()
    workers = queue.SimpleQueue()  # one worker per pool thread at a time
    for _ in range(jobs):
        workers.put(Worker(ranks, children))

    def execute(run: Run) -> tuple[Run, int, str]:
        if stopping.is_set():
            return run, 130, ""
        worker = workers.get()
        try:
            log = out / "runs" / f"{run.name}.log"
            code = worker.run(run_arguments(out, base, run, force), log)
            return run, code, log.read_text(errors="replace") if log.exists() else ""
        finally:
            workers.put(worker)

    status: dict[str, str] = {}
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    ]
    with Progress(*columns, disable=not progress) as bar, ThreadPoolExecutor(max_workers=jobs) as pool:
        task = bar.add_task("", total=len(runs))
        futures = [pool.submit(execute, run) for run in runs]
        try:
            for future in as_completed(futures):
                _record(future, bar, task, status, runs, progress)
        except interrupts.Interrupted as exc:
            # the runs in progress get the same signal and keep their resumable state
            stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            interrupts.forward(children)
            exc.kept = (
                f"{len(status)} of {len(runs)} runs had ended; the runs in progress were stopped and keep "
                "what they finished; the same command finishes the sweep"
            )
            raise
    while not workers.empty():
        workers.get().close()
    rows = collect(out, runs, status)
    return out / "sweep.csv", rows


def _record(future, bar, task, status: dict, runs: list, progress: bool) -> None:
    """One finished run of a sweep: its status and the progress line."""
    run, code, stdout = future.result()
    skipped = "already holds" in stdout
    status[run.name] = "ok" if code == 0 else f"failed (exit {code}, see runs/{run.name}.log)"
    note = f"{run.name} {'skipped (finished)' if skipped else status[run.name]}"
    bar.update(task, advance=1, description=note)
    if not progress:  # a log, not a terminal: one line per run
        print(f"[{len(status)}/{len(runs)}] {note}", flush=True)


def collect(out: Path, runs: list[Run], status: dict[str, str]) -> list[dict]:
    """One row per run and electrolyte (a failed run gets one row with its status)."""
    rows = []
    for run in runs:
        base = {"run": run.name, **{k: v for k, v in run.parameters.items()}}
        try:
            summary = json.loads((out / "runs" / run.name / "summary.json").read_text())
        except (OSError, ValueError):
            rows.append({**base, "status": status.get(run.name, "missing")})
            continue
        p = summary["parameters"]
        for name, r in summary["electrolytes"].items():
            m = r["metrics"]
            feature = m["features"][0] if m["features"] else {}
            mech = r.get("mechanics")
            mech_cols = {}
            if mech is not None:
                d = mech["defects"][0] if mech["defects"] else {}
                mech_cols = {
                    "stack_pressure_Pa": mech["load"]["stack_pressure"],
                    "deposit_pressure_Pa": d.get("deposit_pressure"),
                    "interface_pressure_at_feature_Pa": d.get(
                        "interface_pressure_at_tip", d.get("interface_pressure_at_rim")
                    ),
                    "peak_principal_stress_Pa": d.get("peak_principal_stress"),
                    "stress_intensity_over_toughness": d.get("stress_intensity_over_toughness"),
                    "coupling_passes": mech["coupling"]["passes"],
                }
            rows.append(
                {
                    **base,
                    "status": status.get(run.name, "ok"),
                    "electrolyte": name,
                    "conductivity_S_per_m": r["conductivity"],
                    "wagner_length_m": r["wagner_length"],
                    "wagner_number": r["wagner_number"],
                    "defect_size_m": p["defect_size"],
                    "applied_current_density_A_per_m2": p.get("applied_current_density"),
                    **{k: m[k] for k in METRIC_COLUMNS},
                    "feature": feature.get("name"),
                    "feature_over_mean": feature.get("ratio_to_mean"),
                    "feature_over_applied": feature.get("ratio_to_applied"),
                    "newton_iterations": r["solver"]["newton_iterations"],
                    "dofs": summary["run"]["dofs"],
                    **mech_cols,
                }
            )
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    tmp = out / ".sweep.csv.tmp"
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out / "sweep.csv")
    return rows
