"""Fault injection, for the robustness tests and docs/robustness.md only.

``DENDRITE_FEM_FAULT="<point>[@<rank>]=<action>"`` makes the run fail at a named point:
``mesh``, ``solve:<electrolyte>``, ``finished:<electrolyte>`` (after that electrolyte's
files and record are written) or ``output`` (while the final files are written); on every
rank, or on ``<rank>`` only.  Actions: ``raise`` (an unexpected exception), ``kill``
(SIGKILL, as a scheduler or the OOM killer would), ``nan`` (the caller poisons its data
with NaN), ``sleep`` (wait 60 s there: a window for a signal to arrive at that point).  Unset, it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import time

VARIABLE = "DENDRITE_FEM_FAULT"


def fault(point: str, rank: int) -> str | None:
    """Trigger the fault configured for ``point`` on this rank, if any; returns the
    action for the caller to carry out ("nan"), or None."""
    spec = os.environ.get(VARIABLE)
    if not spec:
        return None
    where, _, action = spec.partition("=")
    name, _, only = where.partition("@")
    if name != point or (only and int(only) != rank):
        return None
    if action == "raise":
        raise RuntimeError(f"injected fault at {point!r} on rank {rank}")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "sleep":
        time.sleep(60.0)
        return None
    return action
