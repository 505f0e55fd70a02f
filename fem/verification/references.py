"""Closed-form references for the current distribution (derivations: docs/verification.md).

All functions take and return SI units.  ``i_far`` is the uniform current density far from
the interface, E0 = i_far / σ the far field.

This module deliberately shares no code with the solver (not even the Butler–Volmer law or
the constants of :mod:`dendrite_fem.constants`): a wrong sign, a wrong F/RT or a wrong R_ct in the
solver must show up as a difference, not cancel out.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

FARADAY = 96485.33212  # C/mol (CODATA 2018, exact)
GAS_CONSTANT = 8.314462618  # J/(mol K) (CODATA 2018, exact)


def _f(temperature: float) -> float:
    return FARADAY / (GAS_CONSTANT * temperature)


def plating_overpotential(
    i_dep: float, i0: float, alpha_a: float, alpha_c: float, temperature: float
) -> float:
    """η < 0 at which the anode plates ``i_dep`` > 0: i0 [exp(αa f η) − exp(−αc f η)] = −i_dep;
    for αa = αc = α, η = −asinh(i_dep / 2 i0) / (α f)."""
    f = _f(temperature)
    if alpha_a == alpha_c:
        return -math.asinh(i_dep / (2 * i0)) / (alpha_a * f)
    law = lambda eta: i0 * (math.exp(alpha_a * f * eta) - math.exp(-alpha_c * f * eta)) + i_dep  # noqa: E731
    return brentq(law, -5.0, 0.0, xtol=1e-16, rtol=1e-15)


def wagner_length(sigma: float, i0: float, alpha_a: float, alpha_c: float, temperature: float) -> float:
    """ℓ_W = σ R_ct = σ R T / (F i0 (αa + αc)) [m]."""
    return sigma / (_f(temperature) * i0 * (alpha_a + alpha_c))


def cell_voltage_1d(
    i_app: float,
    layers: list[tuple[float, float]],
    i0: float,
    alpha_a: float,
    alpha_c: float,
    temperature: float,
) -> float:
    """Counter-side potential [V] of a flat cell plating at ``i_app`` [A/m²] through
    ``layers`` = [(thickness [m], σ [S/m]), ...]: V = i_app Σ t_k/σ_k − η."""
    ohmic = i_app * sum(t / s for t, s in layers)
    return ohmic - plating_overpotential(i_app, i0, alpha_a, alpha_c, temperature)


def primary_boss_current(x: np.ndarray, y: np.ndarray, radius: float, i_far: float) -> np.ndarray:
    """Primary current density [A/m²] on a semicircular boss of radius a on an equipotential
    plane in a uniform normal field: φ = E0 y (1 − a²/r²).  On the boss i = 2 i_far sin θ,
    on the plane i = i_far (1 − a²/x²)."""
    r = np.hypot(x, y)
    on_boss = r < radius * (1 + 1e-6) + 1e-15 * radius
    sin_t = np.divide(y, r, out=np.zeros_like(r), where=r > 0)
    plane = i_far * (1.0 - radius**2 / np.maximum(x**2, 1e-300))
    return np.where(on_boss & (y > 0), 2.0 * i_far * sin_t, plane)


def primary_boss_potential(x: np.ndarray, y: np.ndarray, radius: float, e0: float) -> np.ndarray:
    """φ = E0 y (1 − a²/(x² + y²)) [V]: zero on the plane and the boss."""
    return e0 * y * (1.0 - radius**2 / (x**2 + y**2))


def primary_strip_potential(x, y, half_width: float, e0: float, sqrt=np.sqrt):
    """φ = E0 Im w, w = sqrt(z² − a²), z = x + i y, on the branch with Im w ≥ 0 (y ≥ 0):
    zero on the electrode |x| > a, insulating strip |x| < a, E0 y far away.  In real
    arithmetic, with c = z² − a²: Im w = sqrt((|c| − Re c) / 2); ``sqrt`` may be
    ``ufl.sqrt``, so the same expression serves as boundary data and in forms."""
    re = x**2 - y**2 - half_width**2
    modulus = sqrt(re**2 + 4 * x**2 * y**2)
    return e0 * sqrt((modulus - re) / 2)


def primary_strip_current(x: np.ndarray, half_width: float, i_far: float) -> np.ndarray:
    """Primary current density on the electrode next to an insulating strip |x| < a:
    i = i_far |x| / sqrt(x² − a²) for |x| > a (an inverse square-root singularity at the rim)."""
    x = np.abs(np.asarray(x, dtype=float))
    return np.where(x > half_width, i_far * x / np.sqrt(np.maximum(x**2 - half_width**2, 1e-300)), 0.0)


def sinusoid_modulation(amplitude: float, wavelength: float, wagner_length: float) -> float:
    """Relative amplitude δ of the plating current i = i_app (1 + δ cos kx) on a shallow
    sinusoidal electrode y = A cos kx with linear kinetics, to first order in A k:
    δ = A k / (1 + k ℓ_W), k = 2π/λ.  (Primary limit ℓ_W → 0: δ = A k.)"""
    k = 2.0 * math.pi / wavelength
    return amplitude * k / (1.0 + k * wagner_length)


def mixed_interphase_1d(
    i_app: float,
    thickness: float,
    sigma_i: float,
    sigma_e: float,
    specific_area: float,
    i0: float,
    alpha_a: float,
    alpha_c: float,
    temperature: float,
) -> tuple[float, float]:
    """Flat cell with a mixed-conducting layer 0 < y < t on the metal (dendrite_fem.physics.mixed_conduction),
    solved as a 1-D boundary-value problem by scipy (independent of the finite elements).

    With Δ = φ − φ_e, I1 the ionic current towards the metal and φ_e:
    Δ' = I1/σ_i − (I − I1)/σ_e,  I1' = a_v i_dep(Δ),  φ_e' = (I − I1)/σ_e;
    I1(0) = i_dep(Δ(0)) (surface plating, φ_e(0) = 0), I1(t) = I.
    Returns (share of I plated inside the layer, φ at y = t) [-, V]."""
    from scipy.integrate import solve_bvp

    f = _f(temperature)

    def i_dep(delta):
        return -i0 * (np.exp(-alpha_a * f * delta) - np.exp(alpha_c * f * delta))

    def rhs(_xi, Y):  # ξ = y / t; Δ and φ_e in mV, currents in units of I: scaled for solve_bvp
        delta, i1 = Y[0] * 1e-3, Y[1] * i_app
        d = [i1 / sigma_i - (i_app - i1) / sigma_e, specific_area * i_dep(delta), (i_app - i1) / sigma_e]
        return thickness * np.vstack([d[0] * 1e3, d[1] / i_app, d[2] * 1e3])

    def bc(a, b):
        return np.array([a[1] - i_dep(a[0] * 1e-3) / i_app, b[1] - 1.0, a[2]])

    xi = np.linspace(0, 1, 201)
    guess = np.vstack([np.full_like(xi, 10.0), np.ones_like(xi), np.zeros_like(xi)])
    sol = solve_bvp(rhs, bc, xi, guess, tol=1e-10, bc_tol=1e-12, max_nodes=200_000)
    if sol.status != 0:
        raise RuntimeError(f"the 1-D reference did not converge: {sol.message}")
    delta_t, _, phi_e_t = sol.sol(1.0)
    return float(1 - sol.sol(0.0)[1]), float((delta_t + phi_e_t) * 1e-3)


def cavity_compliance_plane(radius: float, youngs_modulus: float, poisson_ratio: float) -> float:
    """Area change per unit pressure of a semicircular cavity on a symmetry plane in an
    infinite plane-strain solid (half of Lamé's hole): ΔA/p = π r² (1 + ν) / E [m²/Pa]."""
    return math.pi * radius**2 * (1 + poisson_ratio) / youngs_modulus
