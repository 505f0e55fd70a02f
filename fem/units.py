"""Units: unit-bearing input ("10 um", "0.9 mS/cm", "0.51 mA/cm2") parsed to SI floats once, at
the edge (case files and the Python API's constructors alike), and the factors that turn SI
values into the units the outputs print.  Inside the package everything is SI."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pint

#: "cm2" → "cm^2": the way battery papers write areas
_POWER = re.compile(r"(?<=[A-Za-zµμ])([23])\b")


def _cache_root() -> Path:
    """The user's cache for the package (``$XDG_CACHE_HOME/dendrite-fem``, beside the form cache)."""
    return Path(os.getenv("XDG_CACHE_HOME", default=Path.home() / ".cache")) / "dendrite-fem"


def _cache_folder() -> Path:
    """Where the parsed unit definitions are kept: pint's own disk cache, one folder per pint version."""
    return _cache_root() / f"pint-{version('pint')}"


@cache
def registry() -> pint.UnitRegistry:
    """pint's registry with battery-paper powers ("cm2").  Parsing pint's definition file takes
    about 0.4 s, most of a small run's start-up; pint's disk cache brings it to 0.04 s.  The
    cache is built in a private folder and renamed into place, so that no process ever reads
    another's half-written file (pint writes it in place); one that cannot be used (read-only
    home, a damaged file) is bypassed and the registry built from scratch."""
    import pint

    power = [lambda s: _POWER.sub(r"^\1", s)]
    folder = _cache_folder()
    try:
        if not folder.is_dir():
            folder.parent.mkdir(parents=True, exist_ok=True)
            private = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
            pint.UnitRegistry(cache_folder=private)
            try:
                private.rename(folder)
            except OSError:  # another process got there first
                shutil.rmtree(private, ignore_errors=True)
        return pint.UnitRegistry(cache_folder=folder, preprocessors=power)
    except Exception:  # noqa: BLE001 - any failure of the cache: build without it
        shutil.rmtree(folder, ignore_errors=True)
        return pint.UnitRegistry(preprocessors=power)


#: the range of values this model is meant for, per SI unit: a value outside is almost always a
#: wrong unit ("10 parsec", "0.9 S/um") and is refused before it can break the meshing or the solve
RANGES: dict[str, tuple[float, float]] = {
    "m": (1e-10, 1.0),  #: 1 Å to 1 m
    "S/m": (1e-12, 1e4),
    "A/m^2": (1e-9, 1e7),  #: 1e-10 to 1e6 mA/cm²
    "K": (150.0, 1000.0),  #: −123 °C to 727 °C: sodium cells from cold storage to Na–S temperatures
    "Pa": (0.0, 1e11),
    "V": (-10.0, 10.0),
    "s": (0.0, 1e10),
    "1/m": (1e-3, 1e12),
    "Pa*m^0.5": (1e3, 1e9),
}


def to_si(value: object, unit: str, example: str) -> float:
    """Parse ``value`` (a string with a unit) and return its magnitude in ``unit``.

    Bare numbers are refused: a case file must say "10 um", not 10.  The value must be finite
    and, for the units of :data:`RANGES`, lie in the range the model is meant for.  pint parses
    each text once per machine: its answer is kept in the user's cache (keyed by the text, the
    unit and pint's version) and read from there by later runs, which then do not import pint."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a quantity with a unit such as {example!r}, got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"{value!r} has no unit; write it with one, e.g. {example!r}")
    key = f"{unit}|{value.strip()}"
    magnitude = _parsed().get(key)
    if magnitude is None:
        magnitude = _parse(value, unit, example)
        _remember(key, magnitude)
    return check_range(magnitude, unit, value, example)


def _parse(value: str, unit: str, example: str) -> float:
    """``value``'s magnitude in ``unit``, by pint."""
    import pint

    ureg = registry()
    try:
        q = ureg.Quantity(value.strip())
    except Exception as exc:  # noqa: BLE001 - pint raises many kinds (syntax, 1/0, undefined units)
        raise ValueError(f"cannot read {value!r} as a quantity ({exc}); write e.g. {example!r}") from None
    if isinstance(q, (int, float)) or q.dimensionless and unit not in ("rad", ""):
        raise ValueError(f"{value!r} has no unit; write it with one, e.g. {example!r}")
    try:
        magnitude = float(q.to(unit).magnitude)
    except pint.errors.DimensionalityError:
        raise ValueError(
            f"{value!r} is not a {_describe(unit)} (its unit is {q.units:~}); write e.g. {example!r}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - e.g. a complex magnitude, an offset unit in a product
        raise ValueError(
            f"cannot read {value!r} as a {_describe(unit)} ({exc}); write e.g. {example!r}"
        ) from None
    return magnitude


# --- what pint computed, kept: importing pint alone costs 0.08-0.15 s of a run's start-up ------
#: bumped when the parsing above changes what a text means
_PARSED_FORMAT = 1
#: a file of more entries than this (a long sweep over values) is started afresh
_PARSED_LIMIT = 4096


def _parsed_path() -> Path:
    return _cache_root() / f"quantities-{version('pint')}-{_PARSED_FORMAT}.json"


@cache
def _parsed() -> dict[str, float]:
    """The magnitudes pint gave for each ``"unit|text"`` on this machine, read once per process;
    a file that cannot be read is ignored (pint parses again)."""
    try:
        data = json.loads(_parsed_path().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, float)}


def _remember(key: str, magnitude: float) -> None:
    """Add pint's answer to the file (written whole and renamed into place, so that a reader never
    sees half of it); a value that is not finite, or a cache that cannot be written, is skipped."""
    if not math.isfinite(magnitude):
        return
    parsed = _parsed()
    if len(parsed) >= _PARSED_LIMIT:
        parsed.clear()
    parsed[key] = float(magnitude)
    path = _parsed_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, private = tempfile.mkstemp(dir=path.parent, prefix=".quantities-")
    except OSError:
        return
    try:
        with os.fdopen(handle, "w") as f:
            json.dump(parsed, f)
        os.replace(private, path)
    except OSError:
        Path(private).unlink(missing_ok=True)


def check_range(magnitude: float, unit: str, given: object, example: str) -> float:
    """``magnitude`` [unit] if finite and in :data:`RANGES` (zero and signs are the caller's)."""
    if not math.isfinite(magnitude):
        raise ValueError(f"{given!r} is not a finite {_describe(unit)}; write e.g. {example!r}")
    low, high = RANGES.get(unit, (0.0, math.inf))
    size = abs(magnitude)
    if size != 0.0 and not low <= size <= high:
        raise ValueError(
            f"{given!r} = {magnitude:.3g} {unit} is outside the range this model is meant for "
            f"({low:g} to {high:g} {unit} in magnitude); check the unit (e.g. {example!r})"
        )
    return magnitude


def _describe(unit: str) -> str:
    return {
        "m": "length",
        "S/m": "conductivity",
        "A/m^2": "current density",
        "K": "temperature",
        "Pa": "pressure",
        "V": "voltage",
        "rad": "angle",
        "s": "duration",
        "1/m": "area per volume",
    }.get(unit, f"quantity in {unit}")


def si(value: object, unit: str, example: str) -> float:
    """A value of the Python API in SI ``unit``: a number is taken as SI already, a string is
    parsed with its unit (``"10 um"`` → 1e-5 for ``unit="m"``) by :func:`to_si`."""
    if isinstance(value, str):
        return to_si(value, unit, example)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number in {unit} or a quantity such as {example!r}, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite {_describe(unit)}; give e.g. {example!r}")
    return float(value)


# --- output units: multiply an SI value by TO_X to print it in X, as battery papers do -------
TO_MA_PER_CM2 = 0.1  #: A/m² → mA/cm²
TO_MS_PER_CM = 10.0  #: S/m → mS/cm
TO_UM = 1e6  #: m → µm
TO_PER_UM = 1e-6  #: 1/m → 1/µm
TO_MV = 1e3  #: V → mV
TO_OHM_CM2 = 1e4  #: Ω m² → Ω cm²
