"""All-or-nothing, resumable result directories.

Every file of a run is written into the hidden sibling ``.NAME.partial`` of the
requested directory ``NAME``; only when the whole run has succeeded is it renamed
into place (replacing an earlier result).  An interrupted or failed run leaves no
file that looks complete.

A result is never lost: a result directory carries a marker (:data:`RESULT_MARKER`, naming
the run that made it), and a run replaces only an empty directory or a result of the same
kind and case (any result with ``force``), never a user's folder, a folder that holds other
results or a folder inside a result.  A run holds a lock on its output for its whole
duration, so a second run into the same place is refused instead of mixing files.

The partial directory keeps what was finished (``state.json`` lists it, each entry
written only after its files), keyed by the case hash and the software version: a
re-run of the same case resumes from there, a changed case starts afresh.  A
finished result with the same key is not recomputed unless forced.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mpi4py import MPI

from dendrite_fem.app import interrupts

#: every finished result has this summary
MARKER = "summary.json"
#: a directory holding this file is a result of this package: ``{"owner": ...}`` names the run
RESULT_MARKER = ".dendrite-fem-result"
STATE = "state.json"
#: the longest output name whose hidden siblings keep their readable ``.NAME.partial`` form
_READABLE_NAME = 200


class OutputError(RuntimeError):
    """An output directory that cannot be used; the message says why and what to do."""


def _sibling(final: Path, suffix: str) -> Path:
    """The hidden sibling ``.NAME.<suffix>`` of ``final`` (a shortened, hashed name when NAME is
    so long that the sibling's name would pass the file system's 255-byte limit)."""
    name = final.name
    if len(name.encode()) > _READABLE_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        name = f"{name.encode()[:120].decode(errors='ignore')}-{digest}"
    return final.parent / f".{name}.{suffix}"


def result_owner(path: Path) -> str | None:
    """Who made the result in ``path`` ("run:NAME", "grow:NAME", ...), "" for a result of an
    earlier version without a marker, None if ``path`` is not a result of this package."""
    try:
        return json.loads((path / RESULT_MARKER).read_text())["owner"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:  # a result of a version before the marker: its summary names the package and the case
        summary = json.loads((path / MARKER).read_text())
        if "dendrite-fem" not in summary.get("software", {}):
            return None
        if "potentials" in summary:
            return "phase-field"
        name = summary.get("case", {}).get("name")
        kind = "grow" if "target_growth" in summary.get("parameters", {}) else "run"
        return f"{kind}:{name}" if name else ""
    except (OSError, ValueError, AttributeError, TypeError):
        return None


class OutputLock:
    """An exclusive lock on an output directory for the life of a run (``flock`` on a hidden
    sibling file; released by the kernel if the process dies)."""

    def __init__(self, final: Path):
        self.path = _sibling(final, "lock")
        self.fd: int | None = None

    def acquire(self, what: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise OutputError(
                f"{what}: another run is writing there ({holder}); wait for it to end or choose "
                "another output directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the kernel drops the lock; the empty file stays (unlinking races)
            self.fd = None


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


def _checksums(root: Path, known: dict) -> dict:
    """{relative path: [size, mtime_ns, sha256]} of the files below ``root`` (the state file
    aside); a file whose size and mtime are unchanged keeps its recorded hash."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name not in (STATE, f".{STATE}.tmp")):
        rel = str(path.relative_to(root))
        st = path.stat()
        old = known.get(rel)
        if old and old[:2] == [st.st_size, st.st_mtime_ns]:
            out[rel] = old
        else:
            out[rel] = [st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()]
    return out


def _damaged(root: Path, files: dict) -> str | None:
    """The first recorded file of a partial result that is missing or changed, or None."""
    for rel, (_size, _mtime, digest) in files.items():
        path = root / rel
        try:
            ok = hashlib.sha256(path.read_bytes()).hexdigest() == digest
        except OSError:
            return f"{rel} is missing"
        if not ok:
            return f"{rel} changed"
    return None


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
        owner: str = "run",
    ):
        #: keep the hidden directory after an error even if nothing is finished (its work
        #: saves its own checkpoints there, as a growth run does)
        self.keep_partial_on_error = keep_partial_on_error
        self.final = Path(final).resolve()
        self.comm = comm
        self.key = key
        self.fresh = fresh  #: ignore what an interrupted run left, replace any result of ours
        self.owner = owner  #: what made the result ("run:NAME"): only the same owner replaces it
        self.tmp = _sibling(self.final, "partial")
        self.lock = OutputLock(self.final)
        self.finished: dict[str, dict] = {}
        self.resumed: list[str] = []
        self.files: dict[str, list] = {}  #: checksums of the partial result's files

    def __enter__(self) -> ResultDirectory:
        error, state = None, None
        if self.comm.rank == 0:
            try:
                self._check_target()
                self.lock.acquire(f"--out {self.final}")
                state = self._open_partial()
            except OSError as exc:
                error = f"--out {self.final}: cannot create the output directory ({exc.strerror})"
            except OutputError as exc:
                error = str(exc)
            if error:
                self.lock.release()
        error, state = self.comm.bcast((error, state), root=0)
        if error:
            raise OutputError(error)
        self.finished = state["finished"]
        self.files = state.get("files", {}) if self.comm.rank == 0 else {}
        self.resumed = sorted(self.finished)  #: what an earlier run had finished
        return self

    def _check_target(self) -> None:
        """Refuse an output that a run could not replace without losing someone's files."""
        f = self.final
        for parent in f.parents:
            if result_owner(parent) is not None:
                raise OutputError(
                    f"--out {f}: lies inside the result {parent}, which a re-run would replace; "
                    "choose a directory outside it"
                )
        if f.exists() and not f.is_dir():
            raise OutputError(f"--out {f}: is a file; choose a directory")
        if f.exists() and any(f.iterdir()):
            owner = result_owner(f)
            if owner is None:
                raise OutputError(
                    f"--out {f}: exists and is not a result of dendrite-fem (no {RESULT_MARKER} or "
                    f"{MARKER}); nothing was changed; choose another output directory"
                )
            nested = sorted(p.parent for p in f.rglob(MARKER) if p.parent != f)
            if nested:
                raise OutputError(
                    f"--out {f}: holds other results ({', '.join(map(str, nested[:3]))}); "
                    "choose a directory of its own for this run"
                )
            if owner != self.owner and not self.fresh:
                made_by = f"'{owner}'" if owner else "an earlier version"
                raise OutputError(
                    f"--out {f}: holds a result of {made_by}, not of this run ('{self.owner}'); "
                    "choose another output directory, or pass --force to replace it"
                )
        f.parent.mkdir(parents=True, exist_ok=True)

    def _open_partial(self) -> dict:
        state_file = self.tmp / STATE
        if state_file.exists() and not self.fresh:
            try:
                state = json.loads(state_file.read_text())
            except ValueError:
                print(f"{self.tmp}: its {STATE} is damaged; starting again", flush=True)
                state = {}
            if state.get("key") == self.key:
                damaged = _damaged(self.tmp, state.get("files", {}))
                if not damaged:
                    return state
                print(
                    f"{self.tmp}: the saved partial result is damaged ({damaged}); starting again",
                    flush=True,
                )
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
        """Record a unit of work as done (after its files are written; collective), with the
        SHA-256 of every file of the partial result, which a resume verifies."""
        self.comm.Barrier()
        self.finished[name] = record
        if self.comm.rank == 0:
            self.files = _checksums(self.tmp, self.files)
            write_json(self.tmp / STATE, {"key": self.key, "finished": self.finished, "files": self.files})
        self.comm.Barrier()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.comm.Barrier()  # every rank has finished its collective writes
                if self.comm.rank == 0:
                    self._commit()
                self.comm.Barrier()
            elif self.comm.rank == 0 and not self.finished and not self.keep_partial_on_error:
                # nothing finished that a resume could reuse; otherwise the hidden directory stays
                shutil.rmtree(self.tmp, ignore_errors=True)
            if exc is not None and (hasattr(exc, "kept") or interrupts.received()):
                # an interruption (or what it caused inside PETSc): say what stays
                try:
                    exc.kept = self.kept
                except AttributeError:
                    pass
        finally:
            self.lock.release()

    @property
    def kept(self) -> str:
        """What an interrupted run leaves for a resume (for the message that ends it)."""
        if self.comm.rank == 0 and self.tmp.exists() and (self.finished or self.keep_partial_on_error):
            done = ", ".join(sorted(self.finished)) or "its checkpoints"
            return f"{done} kept in {self.tmp}; the same command resumes from there"
        return "nothing was kept"

    def _commit(self) -> None:
        write_json(self.tmp / RESULT_MARKER, {"owner": self.owner, "key": self.key})
        (self.tmp / STATE).unlink(missing_ok=True)
        shutil.rmtree(self.resume_dir, ignore_errors=True)
        os.chmod(self.tmp, 0o755)
        if self.final.exists():
            old = Path(tempfile.mkdtemp(prefix=".dendrite-fem-old-", dir=self.final.parent))
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
