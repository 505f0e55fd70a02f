"""Units: unit-bearing input ("10 um", "0.9 mS/cm", "0.51 mA/cm2") parsed to SI floats once, at
the edge (case files and the Python API's constructors alike), and the factors that turn SI
values into the units the outputs print.  Inside the package everything is SI."""

from __future__ import annotations

import re
from functools import cache

import pint

#: "cm2" → "cm^2": the way battery papers write areas
_POWER = re.compile(r"(?<=[A-Za-zµμ])([23])\b")


@cache
def registry() -> pint.UnitRegistry:
    return pint.UnitRegistry(preprocessors=[lambda s: _POWER.sub(r"^\1", s)])


def to_si(value: object, unit: str, example: str) -> float:
    """Parse ``value`` (a string with a unit) and return its magnitude in ``unit``.

    Bare numbers are refused: a case file must say "10 um", not 10."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a quantity with a unit such as {example!r}, got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"{value!r} has no unit; write it with one, e.g. {example!r}")
    ureg = registry()
    try:
        q = ureg.Quantity(value.strip())
    except (
        pint.errors.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        ValueError,
        AttributeError,
        TypeError,
    ) as exc:
        raise ValueError(f"cannot read {value!r} as a quantity ({exc}); write e.g. {example!r}") from None
    if isinstance(q, (int, float)):
        raise ValueError(f"{value!r} has no unit; write it with one, e.g. {example!r}")
    try:
        return float(q.to(unit).magnitude)
    except pint.errors.DimensionalityError:
        raise ValueError(
            f"{value!r} is not a {_describe(unit)} (its unit is {q.units:~}); write e.g. {example!r}"
        ) from None


def _describe(unit: str) -> str:
    return {
        "m": "length",
        "S/m": "conductivity",
        "A/m^2": "current density",
        "K": "temperature",
        "Pa": "pressure",
        "V": "voltage",
        "rad": "angle",
    }.get(unit, f"quantity in {unit}")


def si(value: object, unit: str, example: str) -> float:
    """A value of the Python API in SI ``unit``: a number is taken as SI already, a string is
    parsed with its unit (``"10 um"`` → 1e-5 for ``unit="m"``) by :func:`to_si`."""
    if isinstance(value, str):
        return to_si(value, unit, example)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number in {unit} or a quantity such as {example!r}, got {value!r}")
    return float(value)


# --- output units: multiply an SI value by TO_X to print it in X, as battery papers do -------
TO_MA_PER_CM2 = 0.1  #: A/m² → mA/cm²
TO_MS_PER_CM = 10.0  #: S/m → mS/cm
TO_UM = 1e6  #: m → µm
TO_PER_UM = 1e-6  #: 1/m → 1/µm
TO_MV = 1e3  #: V → mV
TO_OHM_CM2 = 1e4  #: Ω m² → Ω cm²
