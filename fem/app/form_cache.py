"""The FFCx form cache as a command uses it: writable, and free of what interrupted runs left.

FFCx compiles each form into ``$XDG_CACHE_HOME/fenics`` (default ``~/.cache/fenics``): it
creates ``NAME.c`` exclusively, compiles, then writes ``NAME.c.cached``.  A process that finds
a ``.c`` without its ``.c.cached`` waits 10 s for another compile to finish, then fails.  So a
run killed while compiling would make every later run fail.  Here, before DOLFINx starts:

* an unwritable cache (a read-only home) is replaced by a temporary one, with a warning;
* a ``.c`` without ``.c.cached`` that no process of ours is compiling is removed: each compile of
  this package holds an ``flock`` on its ``.c`` while it runs (a killed process drops it), so an
  unlocked one is left over; one younger than :data:`SETTLE` seconds is waited for first, since
  a plain DOLFINx process (which takes no lock) may be starting its compile; any unfinished file
  older than :data:`STALE_AFTER` is removed;
* after an interruption, the ``.c`` files this process created and did not finish are removed
  (FFCx cleans up after a failed compile, but not after a signal).  Which files are this
  process's own is recorded by wrapping FFCx's ``get_cached_module``, which creates them.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

STALE_AFTER = 600.0  #: s
SETTLE = 5.0  #: s: by then a compiler has read the source it was given

_created: set[Path] = set()  #: the .c files this process created (it compiles them)
_locks: list[int] = []  #: their descriptors, each holding an flock until the process ends


def directory() -> Path:
    return Path(os.getenv("XDG_CACHE_HOME", default=Path.home() / ".cache")) / "fenics"


def _unfinished(cache: Path) -> list[Path]:
    try:
        return [c for c in cache.glob("*.c") if not c.with_suffix(".c.cached").exists()]
    except OSError:
        return []


def prepare() -> Path:
    """Make the cache usable for this process (call before DOLFINx is imported)."""
    cache = directory()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        fallback = Path(tempfile.mkdtemp(prefix="dendrite-fem-cache-"))
        os.environ["XDG_CACHE_HOME"] = str(fallback)
        print(
            f"warning: the form cache {cache} is not writable ({exc.strerror}); compiling into "
            f"{fallback / 'fenics'} for this run (set XDG_CACHE_HOME to a writable folder to keep "
            "the compiled forms)",
            file=sys.stderr,
            flush=True,
        )
        return fallback / "fenics"
    for c in _unfinished(cache):
        try:
            age = time.time() - c.stat().st_mtime
            if age <= STALE_AFTER and _locked(c):
                continue  # a run of ours is compiling it
            if age < SETTLE:
                time.sleep(SETTLE - age)  # a plain DOLFINx process may be starting its compile
            if not c.with_suffix(".c.cached").exists() and (age > STALE_AFTER or not _locked(c)):
                c.unlink()
        except OSError:
            pass  # another process removed or finished it
    return cache


def _locked(c: Path) -> bool:
    """Whether a process of this package holds the compile lock of ``c``."""
    fd = os.open(c, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def record_own_compiles() -> None:
    """Note every ``.c`` file FFCx creates in this process (call after DOLFINx is imported)."""
    try:
        from ffcx.codegeneration import jit
    except ImportError:
        return
    original = getattr(jit, "get_cached_module", None)
    if original is None or getattr(original, "_records_own", False):
        return

    def get_cached_module(module_name, object_names, cache_dir, timeout):
        result = original(module_name, object_names, cache_dir, timeout)
        if result == (None, None):  # the .c was created here: this process compiles it
            c = Path(cache_dir).joinpath(module_name).with_suffix(".c")
            _created.add(c)
            fd = os.open(c, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until this process ends
            _locks.append(fd)
        return result

    get_cached_module._records_own = True
    jit.get_cached_module = get_cached_module


def discard_unfinished() -> None:
    """Remove the ``.c`` files this process created and never finished (its compiles cut short
    by a signal), so that the next run does not wait 10 s for them and fail."""
    for c in _created:
        if not c.with_suffix(".c.cached").exists():
            c.unlink(missing_ok=True)
