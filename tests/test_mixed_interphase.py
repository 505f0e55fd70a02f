"""Mixed-conducting interphase (issue 6): the flat cell against an independent 1-D boundary-value
solution (scipy), the ionic limit σ_e → 0, and the case file on one and two ranks."""

import dolfinx
import pytest
from conftest import RUN_TO_RUN_RTOL, UM, read_summary, run_cli, run_on_one_and_two_ranks

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import build_mesh
from dendrite_fem.geometry.spec import Defect, MeshSizes, Round, Window
from dendrite_fem.numerics.solver import solve_interface
from dendrite_fem.physics.conduction import conductivity_field, interface_problem
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.mixed_conduction import (
    interphase_plating_current,
    mixed_interphase_problem,
    solve_mixed_interphase,
)
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.post.interface import interface_metrics
from dendrite_fem.verification import references

K = Kinetics(13.0, 0.4, 0.6)
I_APP = 5.1
SIGMA, SIGMA_I, SIGMA_E, A_V = 0.01, 5e-3, 1e-3, 1e6
T, L, W = 2 * UM, 20 * UM, 10 * UM


def flat_cell_reference():
    """(share plated inside, cell voltage) of the 1-D cell (scipy solve_bvp, independent of the FE)."""
    share, phi_t = references.mixed_interphase_1d(
        I_APP, T, SIGMA_I, SIGMA_E, A_V, 13.0, K.alpha_a, K.alpha_c, K.temperature
    )
    return share, phi_t + I_APP * (L - T) / SIGMA


def _mixed(h, degree, a_v=A_V, window=None):
    window = window or Window(2, W, L, sizes=MeshSizes(h * UM, h * UM, 2 * UM), interlayer_thickness=T)
    m = build_mesh(window, geometry_order=degree)
    s = conductivity_field(m.mesh, m.cell_tags, {tags.ELECTROLYTE: SIGMA, tags.INTERLAYER: SIGMA_I})
    cc = Galvanostatic(I_APP)
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
    window = Window(
        2, 100 * UM, 40 * UM, defects=(Defect("protrusion", Round(5 * UM)),), interlayer_thickness=0.5 * UM
    )
    m, s, metrics = _mixed(None, 1, a_v=1e-6, window=window)
    V = dolfinx.fem.functionspace(m.mesh, ("Lagrange", 1))
    ionic = interface_problem(V, s, m.facet_tags, K, Galvanostatic(I_APP))
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


@pytest.mark.slow
def test_mci_case_serial_and_two_ranks(write_case, tmp_path):
    one, two = (
        read_summary(out)["electrolytes"]
        for out in run_on_one_and_two_ranks("run", write_case(MCI_CASE), tmp_path)
    )
    share = one["NPS+MCI"]["metrics"]["share_plated_in_interphase"]
    assert 0.2 < share < 0.8
    assert two["NPS+MCI"]["metrics"]["share_plated_in_interphase"] == pytest.approx(
        share, rel=RUN_TO_RUN_RTOL
    )
    assert one["NPS+MCI"]["metrics"]["charge_balance_error"] < 1e-10
    assert "share_plated_in_interphase" not in one["NPS+interphase"]["metrics"]
    assert one["NPS+MCI"]["interlayer"]["electronic_conductivity"] == pytest.approx(1e-3)


def test_mci_needs_a_meshed_layer(write_case, tmp_path):
    text = MCI_CASE.replace('thickness = "1 um"\n[[', 'thickness = "1 um"\nrepresentation = "resistance"\n[[')
    r = run_cli("run", str(write_case(text)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "representation = 'meshed'" in r.stderr, r.stderr
