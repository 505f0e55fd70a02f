"""SIGINT and SIGTERM end a command cleanly: on every rank, with what was kept, exit 128 + signal.

The first signal raises :class:`Interrupted` in the main thread (a ``BaseException``, like
``KeyboardInterrupt``, so ``except Exception`` does not swallow it); the result directory's
context keeps its resumable state on the way out.  A second signal exits at once.  PETSc's
own handler (which would print an abort trace) is switched off with ``-no_signal_handler``
before PETSc starts.  A signal that arrives while PETSc or MPI runs C code is seen when control
returns to Python; a rank blocked in a collective never returns, so under MPI the command ends
with ``MPI_Abort`` once the message is out (``dendrite_fem.app.cli``).
"""

from __future__ import annotations

import os
import signal

_received: list[int] = []


class Interrupted(BaseException):
    """The command was interrupted by ``signum``; ``kept`` says what stays for a resume."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.kept = "nothing was kept"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _handler(signum, frame):
    if _received:  # a second signal: the user means it
        os._exit(128 + signum)
    _received.append(signum)
    raise Interrupted(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM as above (call before PETSc is imported)."""
    options = os.environ.get("PETSC_OPTIONS", "")
    if "-no_signal_handler" not in options:
        os.environ["PETSC_OPTIONS"] = f"{options} -no_signal_handler".strip()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _handler)


def received() -> int | None:
    """The signal that interrupted this process, if one did (an exception raised while it was
    being handled, e.g. inside a PETSc callback, is still an interruption)."""
    return _received[0] if _received else None


def forward(processes) -> None:
    """Send the signal that interrupted us to child ``processes`` (Popen) still running, wait
    for them (30 s), then kill what is left."""
    signum = received() or signal.SIGTERM
    live = [p for p in processes if p.poll() is None]
    for p in live:
        p.send_signal(signum)
    for p in live:
        try:
            p.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a child that does not stop is killed
            p.kill()
