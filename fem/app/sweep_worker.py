"""A sweep worker: one process (on ``--np`` MPI ranks) that does many runs of a sweep in turn.

A small run costs about 0.5 s of work after about 1 s of start-up (Python, MPI, PETSc, DOLFINx,
the unit registry, the case schema) and the loading of its compiled forms.  A worker pays that
once and then runs one ``dendrite-fem run`` after another in the same process, each exactly as
the command line would run it (:func:`dendrite_fem.app.cli.main`: the same checks, result
directory, resume key and exit code), with its output going to the run's log.

The protocol is one JSON line per run on stdin (read by rank 0 and broadcast):
``{"args": [...the dendrite-fem arguments...], "log": "path"}``; after the run, rank 0 writes
one line ``MARKER {"code": N}`` to its stdout.  An empty line or end of input ends the worker.
Isolation is kept where it matters: a run that fails returns its exit code and the worker goes
on with the next; a run that kills the process (a crash in C, an MPI abort, the out-of-memory
killer) ends only this worker, and the sweep starts a new one for the runs left
(:mod:`dendrite_fem.app.sweep`).  An interrupted run keeps its resumable state and the worker
exits with 128 + the signal.
"""

from __future__ import annotations

import gc
import json
import os
import sys

#: prefix of the reply lines (a character no run prints, then the name)
MARKER = "\x1edendrite-fem-worker"


def _run(args: list[str], log: str, comm) -> int:
    """One ``dendrite-fem`` command with file descriptors 1 and 2 going to ``log``."""
    from dendrite_fem.app.cli import main as cli_main

    sys.stdout.flush()
    sys.stderr.flush()
    if comm.rank == 0:  # every rank appends, so that no rank writes over another's lines
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    comm.barrier()  # the log is truncated before any other rank appends
    if comm.rank != 0:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    saved = os.dup(1), os.dup(2)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        return cli_main(args)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for s in saved:
            os.close(s)
        gc.collect()  # the run's mesh, matrices and solvers, before the next run allocates its own


def main() -> int:
    from dendrite_fem.app import form_cache, interrupts

    interrupts.install()
    form_cache.prepare()
    from mpi4py import MPI

    import dendrite_fem  # noqa: F401  (the wheel's MPI first)

    comm = MPI.COMM_WORLD
    try:
        while True:
            line = sys.stdin.readline() if comm.rank == 0 else None
            line = comm.bcast(line, root=0)
            if not line.strip():
                return 0
            job = json.loads(line)
            code = _run(job["args"], job["log"], comm)
            if comm.rank == 0:
                print(f"{MARKER} {json.dumps({'code': code})}", flush=True)
            if code >= 128:  # interrupted: the sweep is stopping
                return code
    except interrupts.Interrupted as exc:  # between two runs: nothing to keep
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
