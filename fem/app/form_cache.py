"""The FFCx form cache as a command uses it: writable, and free of what interrupted runs left.

FFCx compiles each form into ``$XDG_CACHE_HOME/fenics`` (default ``~/.cache/fenics``): it
creates ``NAME.c`` exclusively, compiles, then writes ``NAME.c.cached``.  A process that finds
a ``.c`` without its ``.c.cached`` waits 10 s for another compile to finish, then fails.  So a
run killed while compiling would make every later run fail.  Here, before DOLFINx starts:

* an unwritable cache (a read-only home) is replaced by a temporary one, with a warning;
* a ``.c`` without ``.c.cached`` older than :data:`STALE_AFTER` is removed (no compile takes
  that long; a younger one may be another run's compile in progress);
* after an interruption, the ``.c`` files this process created and did not finish are removed
  (FFCx cleans up after a failed compile, but not after a signal).  Which files are this
  process's own is recorded by wrapping FFCx's ``get_cached_module``, which creates them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

STALE_AFTER = 600.0  #: s

_created: set[Path] = set()  #: the .c files this process created (it compiles them)


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
    now = time.time()
    for c in _unfinished(cache):
        try:
            if now - c.stat().st_mtime > STALE_AFTER:
                c.unlink()
        except OSError:
            pass  # another process removed or finished it
    return cache


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
            _created.add(Path(cache_dir).joinpath(module_name).with_suffix(".c"))
        return result

    get_cached_module._records_own = True
    jit.get_cached_module = get_cached_module


def discard_unfinished() -> None:
    """Remove the ``.c`` files this process created and never finished (its compiles cut short
    by a signal), so that the next run does not wait 10 s for them and fail."""
    for c in _created:
        if not c.with_suffix(".c.cached").exists():
            c.unlink(missing_ok=True)
