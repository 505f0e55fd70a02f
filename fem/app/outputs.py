"""All-or-nothing, resumable result directories.

Every file of a run is written into the hidden sibling ``.NAME.partial`` of the
requested directory ``NAME``; only when the whole run has succeeded is it renamed
into place (replacing an earlier result).  An interrupted or failed run leaves no
file that looks complete.

The partial directory keeps what was finished (``state.json`` lists it, each entry
written only after its files), keyed by the case hash and the software version: a
re-run of the same case resumes from there, a changed case starts afresh.  A
finished result with the same key is not recomputed unless forced.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

#: a directory holding this file is a result that a new run may replace
MARKER = "summary.json"
STATE = "state.json"


class OutputError(RuntimeError):
    pass


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n")
    os.replace(tmp, path)


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def finished_result(final: Path, key: str) -> dict | None:
    """The summary of a finished result made with ``key``, if there is one."""
    try:
        summary = json.loads((Path(final) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("run", {}).get("resume_key") == key else None


class ResultDirectory:
    """Context manager: ``with ResultDirectory(out, comm, key) as rd: rd.path("x.csv")``.

    ``rd.finished`` maps the names of units of work done by an earlier, interrupted
    run of the same ``key`` to what it recorded; :meth:`mark_finished` adds one."""

    def __init__(
        self,
        final: str | Path,
        comm: MPI.Comm,
        key: str,
        fresh: bool = False,
        keep_partial_on_error: bool = False,
    ):
        #: keep the hidden directory after an error even if nothing is finished (its work
        #: saves its own checkpoints there, as a growth run does)
        self.keep_partial_on_error = keep_partial_on_error
        self.final = Path(final).resolve()
        self.comm = comm
        self.key = key
        self.fresh = fresh  #: ignore what an interrupted run left
        self.tmp = self.final.parent / f".{self.final.name}.partial"
        self.finished: dict[str, dict] = {}
        self.resumed: list[str] = []

    def __enter__(self) -> ResultDirectory:
        error, state = None, None
        if self.comm.rank == 0:
            try:
                self._check_target()
                state = self._open_partial()
            except OSError as exc:
                error = f"--out {self.final}: cannot create the output directory ({exc.strerror})"
            except OutputError as exc:
                error = str(exc)
        error, state = self.comm.bcast((error, state), root=0)
        if error:
            raise OutputError(error)
        self.finished = state["finished"]
        self.resumed = sorted(self.finished)  #: what an earlier run had finished
        return self

    def _check_target(self) -> None:
        f = self.final
        if f.exists() and not (f.is_dir() and (not any(f.iterdir()) or (f / MARKER).exists())):
            raise OutputError(
                f"--out {f}: exists and is not an earlier result (no {MARKER}); choose another output directory"
            )
        f.parent.mkdir(parents=True, exist_ok=True)

    def _open_partial(self) -> dict:
        state_file = self.tmp / STATE
        if state_file.exists() and not self.fresh:
            try:
                state = json.loads(state_file.read_text())
            except ValueError:
                state = {}
            if state.get("key") == self.key:
                return state
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        state = {"key": self.key, "finished": {}}
        (self.tmp / ".resume").mkdir()
        write_json(state_file, state)
        return state

    def path(self, name: str) -> Path:
        return self.tmp / name

    @property
    def resume_dir(self) -> Path:
        """Private data for a resume (removed when the result is committed)."""
        return self.tmp / ".resume"

    def mark_finished(self, name: str, record: dict) -> None:
        """Record a unit of work as done (after its files are written; collective)."""
        self.comm.Barrier()
        self.finished[name] = record
        if self.comm.rank == 0:
            write_json(self.tmp / STATE, {"key": self.key, "finished": self.finished})
        self.comm.Barrier()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.comm.Barrier()  # every rank has finished its collective writes
            if self.comm.rank == 0:
                self._commit()
            self.comm.Barrier()
        elif self.comm.rank == 0 and not self.finished and not self.keep_partial_on_error:
            # nothing finished that a resume could reuse; otherwise the hidden directory stays
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _commit(self) -> None:
        (self.tmp / STATE).unlink(missing_ok=True)
        shutil.rmtree(self.resume_dir, ignore_errors=True)
        os.chmod(self.tmp, 0o755)
        if self.final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.old-", dir=self.final.parent))
            os.replace(self.final, old / "previous")
            os.replace(self.tmp, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.final)


@dataclass
class StoredResult:
    """A result directory read back: its summary, the interface profile as columns, and the
    field files per electrolyte (``fields_<name>.vtu``, readable with meshio or PyVista)."""

    path: Path
    summary: dict
    profile: dict[str, np.ndarray]
    fields: dict[str, Path]

    @property
    def electrolytes(self) -> list[str]:
        return list(self.summary["electrolytes"])

    def metrics(self, name: str):
        """The metrics of electrolyte ``name`` as :class:`dendrite_fem.model.Metrics`."""
        from dendrite_fem.model import Metrics

        return Metrics.from_dict(self.summary["electrolytes"][name]["metrics"])


def read_result(path: str | Path) -> StoredResult:
    """Read a finished result directory (of ``dendrite-fem run`` or ``Solution.write``)."""
    path = Path(path)
    try:
        summary = json.loads((path / MARKER).read_text())
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: not a finished result ({MARKER} unreadable: {exc})") from None
    with (path / "interface_profile.csv").open() as f:
        rows = list(csv.DictReader(f))
    profile = {}
    for key in rows[0] if rows else []:
        values = [r[key] for r in rows]
        try:
            profile[key] = np.array([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            profile[key] = np.array(values)
    fields = {
        n: path / f"fields_{n}.vtu" for n in summary["electrolytes"] if (path / f"fields_{n}.vtu").exists()
    }
    return StoredResult(path, summary, profile, fields)
