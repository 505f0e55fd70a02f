"""A flat interface against the closed-form 1-D cell (physics.md §6).

For a flat SE layer of thickness L the current is uniform, i_dep = i_app, and the
counter-side potential is V = i_app L / σ − η(i_app), with η the inverse
Butler–Volmer law (an arcsinh when αa = αc).  P1 elements represent the linear
1-D potential exactly, so the tolerances are near round-off: a wrong sign of the
kinetics, a wrong F/RT or a wrong σ fails these by many orders of magnitude.
"""

import math

import pytest
from conftest import UM, solve_window
from scipy.optimize import brentq

from dendrite_fem.constants import FARADAY, GAS_CONSTANT
from dendrite_fem.geometry.spec import MeshSizes, Window
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.operation import Galvanostatic, Potentiostatic

L = 50 * UM
I_APP = 5.1  # 0.51 mA/cm²


def flat(dim):
    return Window(dim, 40 * UM, L, sizes=MeshSizes(10 * UM, 10 * UM, 10 * UM) if dim == 3 else None)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("alpha_a, alpha_c", [(0.5, 0.5), (0.3, 0.7)])
def test_galvanostatic_flat_matches_closed_form(dim, alpha_a, alpha_c):
    sigma = 0.01
    k = Kinetics(13.0, alpha_a, alpha_c)
    _, m, _, _ = solve_window(flat(dim), sigma, k, Galvanostatic(I_APP))
    f = FARADAY / (GAS_CONSTANT * 298.15)
    if alpha_a == alpha_c:
        eta = -math.asinh(I_APP / (2 * 13.0)) / (alpha_a * f)  # independent closed form
    else:
        eta = brentq(
            lambda e: 13.0 * (math.exp(alpha_a * f * e) - math.exp(-alpha_c * f * e)) + I_APP,
            -1,
            1,
            xtol=1e-16,
        )
    assert m["max_over_mean"] - 1 < 1e-9
    assert 1 - m["min_over_mean"] < 1e-9
    assert m["mean_plating_current_density"] == pytest.approx(I_APP, rel=1e-9)
    assert m["mean_overpotential"] == pytest.approx(eta, rel=1e-8)
    assert m["ohmic_drop"] == pytest.approx(I_APP * L / sigma, rel=1e-8)
    assert m["counter_potential"] == pytest.approx(I_APP * L / sigma - eta, rel=1e-8)
    assert m["charge_balance_error"] < 1e-10


def test_potentiostatic_flat_matches_closed_form():
    sigma, v_app = 0.09, 0.02
    k = Kinetics(13.0)
    _, m, _, _ = solve_window(flat(2), sigma, k, Potentiostatic(v_app))
    f = FARADAY / (GAS_CONSTANT * 298.15)
    # V = i L/σ + asinh(i / 2 i0) / (α f): solve for the current i
    i = brentq(lambda i: i * L / sigma + math.asinh(i / 26.0) / (0.5 * f) - v_app, 0, 1e3, xtol=1e-14)
    assert m["mean_plating_current_density"] == pytest.approx(i, rel=1e-8)
    assert m["counter_potential"] == pytest.approx(v_app, rel=1e-12)
    assert m["charge_balance_error"] < 1e-8


def test_stack_pressure_enters_through_exchange_current():
    k = Kinetics(13.0, pressure=100e6)
    _, m, _, _ = solve_window(flat(2), 0.05, k, Galvanostatic(I_APP))
    f = FARADAY / (GAS_CONSTANT * 298.15)
    i0 = 13.0 * math.exp(0.5 * 23.78e-6 * 100e6 / (GAS_CONSTANT * 298.15))
    assert m["mean_overpotential"] == pytest.approx(-math.asinh(I_APP / (2 * i0)) / (0.5 * f), rel=1e-8)
