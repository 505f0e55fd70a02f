"""All-or-nothing result directories.

Every file of a run is written into a hidden sibling ``.NAME.partial-XXXX`` of
the requested directory; only when the whole run succeeded is that directory
renamed into place (replacing an earlier result).  An interrupted or failed run
leaves no file that looks complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

from mpi4py import MPI

#: a directory holding this file is a result that a new run may replace
MARKER = "summary.json"


class OutputError(RuntimeError):
    pass


class ResultDirectory:
    """Context manager: ``with ResultDirectory(out, comm) as rd: rd.path("x.csv")``."""

    def __init__(self, final: str | Path, comm: MPI.Comm):
        self.final = Path(final).resolve()
        self.comm = comm
        self.tmp: Path | None = None

    def __enter__(self) -> "ResultDirectory":
        error, tmp = None, None
        if self.comm.rank == 0:
            try:
                if self.final.exists() and not (
                    self.final.is_dir() and (not any(self.final.iterdir()) or (self.final / MARKER).exists())
                ):
                    raise OutputError(
                        f"--out {self.final}: exists and is not an earlier result (no {MARKER}); "
                        "choose another output directory"
                    )
                self.final.parent.mkdir(parents=True, exist_ok=True)
                tmp = tempfile.mkdtemp(prefix=f".{self.final.name}.partial-", dir=self.final.parent)
            except OSError as exc:
                error = f"--out {self.final}: cannot create the output directory ({exc.strerror})"
            except OutputError as exc:
                error = str(exc)
        error, tmp = self.comm.bcast((error, tmp), root=0)
        if error:
            raise OutputError(error)
        self.tmp = Path(tmp)
        return self

    def path(self, name: str) -> Path:
        assert self.tmp is not None
        return self.tmp / name

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is None:
            self.comm.Barrier()  # every rank has finished its collective writes
            if self.comm.rank == 0:
                self._commit()
            self.comm.Barrier()
        elif self.comm.rank == 0:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _commit(self) -> None:
        assert self.tmp is not None
        os.chmod(self.tmp, 0o755)
        if self.final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.old-", dir=self.final.parent))
            os.replace(self.final, old / "previous")
            os.replace(self.tmp, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.final)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n")


def write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
