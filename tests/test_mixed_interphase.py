"""Mixed-conducting interphase (issue 6): the flat cell against an independent 1-D boundary-value
solution (scipy), the ionic limit σ_e → 0, and the case file on one and two ranks."""

import dolfinx
import numpy as np
import pytest
from conftest import UM, read_summary, run_cli
from scipy.integrate import solve_bvp

from fem.conduction import CounterCondition, conductivity_field, interface_problem
from fem.interface import interface_metrics
from fem.kinetics import Kinetics
from fem.mixed_conduction import interphase_plating_current, mixed_interphase_problem, solve_mixed_interphase
from fem.solver import solve_interface
from meshes import tags
from meshes.distribute import build_mesh
from meshes.spec import Defect, MeshSizes, Round, Window

K = Kinetics(13.0, 0.4, 0.6)
I_APP = 5.1
SIGMA, SIGMA_I, SIGMA_E, A_V = 0.01, 5e-3, 1e-3, 1e6
T, L, W = 2 * UM, 20 * UM, 10 * UM


def flat_cell_reference():
    """(share plated inside, cell voltage) of the 1-D cell: in the layer 0 < y < t, with
    Δ = φ − φ_e, I1 the ionic current towards the metal and φ_e:
    Δ' = I1/σ_i − (I − I1)/σ_e,  I1' = a_v i_dep(Δ),  φ_e' = (I − I1)/σ_e;
    I1(0) = i_dep(Δ(0)) (surface plating, φ_e(0) = 0), I1(t) = I.  V = φ(t) + I (L − t)/σ."""

    def i_dep(delta):
        return -K.current(-delta)

    def rhs(_xi, Y):  # in ξ = y / t, and Δ, φ_e in mV, currents in units of I: scaled for solve_bvp
        delta, i1 = Y[0] * 1e-3, Y[1] * I_APP  # φ_e (Y[2]) does not enter the right-hand side
        d = [i1 / SIGMA_I - (I_APP - i1) / SIGMA_E, A_V * i_dep(delta), (I_APP - i1) / SIGMA_E]
        return T * np.vstack([d[0] * 1e3, d[1] / I_APP, d[2] * 1e3])

    def bc(a, b):
        return np.array([a[1] - i_dep(a[0] * 1e-3) / I_APP, b[1] - 1.0, a[2]])

    xi = np.linspace(0, 1, 201)
    guess = np.vstack([np.full_like(xi, 10.0), np.ones_like(xi), np.zeros_like(xi)])
    sol = solve_bvp(rhs, bc, xi, guess, tol=1e-10, bc_tol=1e-12, max_nodes=200_000)
    assert sol.status == 0, sol.message
    delta_t, _, phi_e_t = sol.sol(1.0)
    return 1 - sol.sol(0.0)[1], (delta_t + phi_e_t) * 1e-3 + I_APP * (L - T) / SIGMA


def _mixed(h, degree, a_v=A_V, window=None):
    window = window or Window(2, W, L, sizes=MeshSizes(h * UM, h * UM, 2 * UM), interlayer_thickness=T)
    m = build_mesh(window, geometry_order=degree)
    s = conductivity_field(m.mesh, m.cell_tags, {tags.ELECTROLYTE: SIGMA, tags.INTERLAYER: SIGMA_I})
    cc = CounterCondition("galvanostatic", I_APP)
    p = mixed_interphase_problem(m.mesh, degree, s, SIGMA_E, a_v, m.cell_tags, m.facet_tags, K, cc)
    solve_mixed_interphase(p)
    V = dolfinx.fem.functionspace(m.mesh, ("Lagrange", degree))
    container = interface_problem(V, s, m.facet_tags, K, cc)
    container.phi.interpolate(p.solution.sub(0))
    inside = interphase_plating_current(p)
    return m, s, interface_metrics(container, window.feature_points(), inside)


def test_flat_cell_matches_the_one_dimensional_solution():
    share_ref, voltage_ref = flat_cell_reference()
    assert 0.3 < share_ref < 0.8  # a case where both paths matter
    errors = []
    for h in (0.5, 0.25):
        _, _, metrics = _mixed(h, 2)
        errors.append(abs(metrics["share_plated_in_interphase"] - share_ref))
        assert metrics["charge_balance_error"] < 1e-12
        assert metrics["counter_potential"] == pytest.approx(voltage_ref, rel=1e-5)
        assert metrics["max_over_mean"] == pytest.approx(1.0, abs=1e-4)  # discretisation of the layer only
    assert errors[1] < 1e-5 and errors[1] < errors[0] / 4


def test_without_reacting_area_it_is_the_ionic_layer():
    """a_v → 0: nothing plates inside, φ_e = 0, and the ionic layer's solution is recovered.
    (σ_e → 0 on a fixed mesh is not this limit: the electronic boundary layer at the metal,
    of width √(σ_e / (a_v di/dη)), falls below the mesh size.)"""
    window = Window(2, 100 * UM, 40 * UM, defects=(Defect("protrusion", Round(5 * UM)),), interlayer_thickness=0.5 * UM)
    m, s, metrics = _mixed(None, 1, a_v=1e-6, window=window)
    V = dolfinx.fem.functionspace(m.mesh, ("Lagrange", 1))
    ionic = interface_problem(V, s, m.facet_tags, K, CounterCondition("galvanostatic", I_APP))
    solve_interface(ionic)
    reference = interface_metrics(ionic, window.feature_points())
    assert metrics["share_plated_in_interphase"] < 1e-10
    assert metrics["max_over_mean"] == pytest.approx(reference["max_over_mean"], rel=1e-9)


MCI_CASE = """
[case]
name = "mci"
[geometry]
width = "120 um"
thickness = "40 um"
[[geometry.defects]]
kind = "protrusion"
shape = "semicircle"
radius = "6 um"
[operation]
current_density = "0.51 mA/cm2"
[interlayer]
thickness = "1 um"
[[electrolytes]]
name = "NPS+MCI"
material = "NPS"
interlayer = "NPS-MCI"
[[electrolytes]]
name = "NPS+interphase"
material = "NPS"
interlayer = "NPS-interphase"
"""


def test_mci_case_serial_and_two_ranks(write_case, tmp_path):
    case = write_case(MCI_CASE)
    results = []
    for np_ in (1, 2):
        out = tmp_path / f"np{np_}"
        r = run_cli("run", str(case), "--out", str(out), "--quiet", np=np_)
        assert r.returncode == 0, r.stderr
        results.append(read_summary(out)["electrolytes"])
    one, two = results
    share = one["NPS+MCI"]["metrics"]["share_plated_in_interphase"]
    assert 0.2 < share < 0.8
    assert abs(share - two["NPS+MCI"]["metrics"]["share_plated_in_interphase"]) < 1e-9
    assert one["NPS+MCI"]["metrics"]["charge_balance_error"] < 1e-10
    assert "share_plated_in_interphase" not in one["NPS+interphase"]["metrics"]
    assert one["NPS+MCI"]["interlayer"]["electronic_conductivity"] == pytest.approx(1e-3)


def test_mci_needs_a_meshed_layer(write_case, tmp_path):
    text = MCI_CASE.replace('thickness = "1 um"\n[[', 'thickness = "1 um"\nrepresentation = "resistance"\n[[')
    r = run_cli("run", str(write_case(text)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "representation = 'meshed'" in r.stderr, r.stderr
