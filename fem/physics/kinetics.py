"""Butler–Volmer charge transfer at the SE/anode interface (docs/model.md §2).

    i_ct = i0 · exp((1 − αa) V_Na ΔP / RT) · [exp(αa F η / RT) − exp(−αc F η / RT)]   [A/m²]
    η    = φ_metal − φ − U0 = −φ      (φ_metal = 0, U0 = 0 for Na on Na)

i_ct is anodic-positive: plating means η < 0 and i_ct < 0, and the plating
current density reported everywhere is i_dep = −i_ct.

:func:`butler_volmer_current` is the one place this law is written; it takes
the exponential as an argument so that the solver (UFL), the post-processing
(NumPy) and the closed-form references all evaluate the same expression.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dendrite_fem.constants import FARADAY, GAS_CONSTANT, NA_MOLAR_VOLUME, ROOM_TEMPERATURE
from dendrite_fem.units import si


@dataclass(frozen=True)
class Kinetics:
    """Butler–Volmer parameters: i0 [A/m²], αa, αc [-], T [K], ΔP [Pa]."""

    exchange_current_density: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature: float = ROOM_TEMPERATURE
    pressure: float = 0.0

    def __post_init__(self):  # SI numbers or unit strings ("1.3 mA/cm2", "25 degC", "20 MPa")
        for name, unit, example in (
            ("exchange_current_density", "A/m^2", "1.3 mA/cm2"),
            ("temperature", "K", "298.15 K"),
            ("pressure", "Pa", "20 MPa"),
        ):
            object.__setattr__(self, name, si(getattr(self, name), unit, example))

    @property
    def f(self) -> float:
        """F / RT [1/V]."""
        return FARADAY / (GAS_CONSTANT * self.temperature)

    @property
    def pressure_coefficient(self) -> float:
        """(1 − αa) V_Na / RT [1/Pa]: the pressure factor is exp(coefficient · ΔP)."""
        return (1.0 - self.alpha_a) * NA_MOLAR_VOLUME / (GAS_CONSTANT * self.temperature)

    @property
    def pressure_factor(self) -> float:
        """exp((1 − αa) V_Na ΔP / RT) [-] for the uniform ΔP of this object."""
        return math.exp(self.pressure_coefficient * self.pressure)

    @property
    def effective_exchange_current(self) -> float:
        """i0 times the pressure factor [A/m²]."""
        return self.exchange_current_density * self.pressure_factor

    def current(self, eta):
        """i_ct(η) [A/m²] for a float or an array of overpotentials [V]."""
        return butler_volmer_current(
            eta, self.effective_exchange_current, self.alpha_a * self.f, self.alpha_c * self.f
        )


def butler_volmer_current(eta, i0, alpha_a_f, alpha_c_f, exp: Callable = np.exp):
    """Charge-transfer current density i_ct(η) = i0 [exp(αa f η) − exp(−αc f η)] [A/m²].

    ``i0`` includes the pressure factor, ``alpha_a_f`` = αa F/RT and ``alpha_c_f`` =
    αc F/RT [1/V].  ``exp`` is ``numpy.exp`` for numbers and arrays or ``ufl.exp``
    for forms, whose coefficients may then be UFL constants."""
    return i0 * (exp(alpha_a_f * eta) - exp(-alpha_c_f * eta))


#: Newton steps of the local film law, unrolled into the form: enough for round-off
#: accuracy up to |φ| = 0.3 V at the interface for 0.3 ≤ αa ≤ 0.7 and any film
#: resistance (checked after every solve by :func:`film_law_residual`)
FILM_NEWTON_STEPS = 8


def film_overpotential(
    phi,
    i0,
    alpha_a_f,
    alpha_c_f,
    film_resistance,
    slope,
    exp: Callable = np.exp,
    steps: int = FILM_NEWTON_STEPS,
):
    """Overpotential η at the metal under a thin ionic film of area resistance R_f [Ω m²]
    when the SE side of the film is at potential φ [V].

    The film carries the reaction current ohmically, so the metal side of the film is at
    φ + R_f i_ct and η = −φ − R_f i_ct(η): the root of

        g(η) = η + φ + R_f i_ct(η) = 0,   g'(η) = 1 + R_f di_ct/dη ≥ 1,

    found by Newton's method from the linear-kinetics value η0 = −φ / (1 + R_f slope),
    ``slope`` = di_ct/dη at 0.  The loop is unrolled ``steps`` times, so it works on
    numbers, arrays and UFL expressions alike (the form then differentiates through it).
    With R_f = 0 it returns −φ."""
    eta = -phi / (1.0 + film_resistance * slope)
    for _ in range(steps):
        g = eta + phi + film_resistance * butler_volmer_current(eta, i0, alpha_a_f, alpha_c_f, exp)
        dg = 1.0 + film_resistance * i0 * (
            alpha_a_f * exp(alpha_a_f * eta) + alpha_c_f * exp(-alpha_c_f * eta)
        )
        eta = eta - g / dg
    return eta


def film_law_residual(phi: np.ndarray, eta: np.ndarray, k: Kinetics, film_resistance: float) -> float:
    """max |g(η)| / max(|φ|, 1 mV) of the film law for the overpotentials ``eta`` that the
    unrolled Newton gave at the potentials ``phi``: near round-off when
    :data:`FILM_NEWTON_STEPS` sufficed."""
    g = eta + phi + film_resistance * k.current(eta)
    scale = max(float(np.max(np.abs(phi), initial=0.0)), 1e-3)
    return float(np.max(np.abs(g), initial=0.0)) / scale


def butler_volmer_slope(k: Kinetics) -> float:
    """d i_ct / dη at η = 0: i0 (αa + αc) F / RT [S/m²]."""
    return k.effective_exchange_current * (k.alpha_a + k.alpha_c) * k.f


def charge_transfer_resistance(k: Kinetics) -> float:
    """R_ct = RT / (F i0 (αa + αc)) [Ω m²], the linearised kinetics."""
    return 1.0 / butler_volmer_slope(k)


def wagner_length(conductivity: float, k: Kinetics) -> float:
    """ℓ_W = σ R_ct [m]."""
    return conductivity * charge_transfer_resistance(k)


def overpotential_for_current(i_ct: float, k: Kinetics) -> float:
    """Inverse Butler–Volmer: η such that i_ct(η) = ``i_ct`` [V].

    For αa = αc = α the closed form is η = asinh(i_ct / (2 i0)) / (α F/RT);
    otherwise the monotone law is solved by bracketing (Brent)."""
    i0 = k.effective_exchange_current
    if math.isclose(k.alpha_a, k.alpha_c):
        return math.asinh(i_ct / (2.0 * i0)) / (k.alpha_a * k.f)
    # i_ct(η) is increasing; bracket from the Tafel asymptotes
    bound = (abs(math.log(abs(i_ct) / i0 + 1.0)) + 1.0) / (min(k.alpha_a, k.alpha_c) * k.f)
    from scipy.optimize import brentq  # 0.4 s of import that a run never needs

    return brentq(lambda e: k.current(e) - i_ct, -bound, bound, xtol=1e-15, rtol=1e-14)
