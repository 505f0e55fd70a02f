"""Stress-coupled kinetics (issue 6): ΔP = 0 is the uncoupled problem exactly, a flat cell
under stack pressure is the closed form with i0 exp((1 − αa) V_Na P / RT), the cavity
compliance is Lamé's, the confined-deposit pressure satisfies its volume balance, and the
case file runs serially and on two ranks."""

import math

import dolfinx
import numpy as np
import pytest
from conftest import RUN_TO_RUN_RTOL, UM, read_summary, run_cli, run_on_one_and_two_ranks

from dendrite_fem.constants import FARADAY, NA_MOLAR_VOLUME
from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import build_mesh
from dendrite_fem.geometry.spec import Defect, MeshSizes, Round, Window
from dendrite_fem.numerics.solver import solve_interface
from dendrite_fem.physics.conduction import conductivity_field, interface_problem
from dendrite_fem.physics.electromechanics import (
    MechanicalLoad,
    interface_mechanics,
    solve_coupled,
    stress_report,
)
from dendrite_fem.physics.kinetics import Kinetics, overpotential_for_current
from dendrite_fem.physics.materials import get_mechanical
from dendrite_fem.physics.mechanics import DEFECT_WALL_BASE, ElasticConstants
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.post.interface import interface_metrics

K = Kinetics(13.0)
I_APP = 5.1
NPS = ElasticConstants(20e9, 0.301)


def _setup(window, degree=2, sigma=0.01):
    m = build_mesh(window, geometry_order=degree)
    V = dolfinx.fem.functionspace(m.mesh, ("Lagrange", degree))
    s = conductivity_field(m.mesh, m.cell_tags, {tags.ELECTROLYTE: sigma, tags.INTERLAYER: sigma})
    protrusions = [(np.array([d.x, 0.0, 0.0]), d.size) for d in window.defects if d.kind == "protrusion"]
    mech = interface_mechanics(m.mesh, m.facet_tags, NPS, protrusions, degree)
    return m, V, s, mech


@pytest.fixture(scope="module")
def protrusion():
    window = Window(2, 400 * UM, 100 * UM, defects=(Defect("protrusion", Round(10 * UM)),))
    return (window, *_setup(window))


def test_zero_pressure_recovers_the_uncoupled_solution_exactly(protrusion):
    window, m, V, s, mech = protrusion
    cc = Galvanostatic(I_APP)
    plain = interface_problem(V, s, m.facet_tags, K, cc)
    solve_interface(plain)
    coupled = interface_problem(V, s, m.facet_tags, K, cc, pressure=dolfinx.fem.Function(V))
    report = solve_coupled(coupled, mech, MechanicalLoad())
    assert report.converged and report.passes == 1
    assert np.array_equal(coupled.phi.x.array, plain.phi.x.array)
    a, b = (
        interface_metrics(plain, window.feature_points()),
        interface_metrics(coupled, window.feature_points()),
    )
    for key in ("max_over_mean", "min_over_mean", "coefficient_of_variation", "counter_potential"):
        assert a[key] == b[key]


def test_flat_cell_under_stack_pressure_is_the_closed_form():
    """Uniaxial strain: ΔP = P on the whole anode, and the cell voltage is that of a flat
    cell whose i0 carries the factor exp((1 − αa) V_Na P / RT)."""
    window = Window(2, 40 * UM, 50 * UM, sizes=MeshSizes(5 * UM, 5 * UM, 10 * UM))
    m, V, s, mech = _setup(window, degree=2)
    pressure = 125e6
    problem = interface_problem(V, s, m.facet_tags, K, Galvanostatic(I_APP), pressure=dolfinx.fem.Function(V))
    solve_coupled(problem, mech, MechanicalLoad(stack_pressure=pressure))
    anode = dolfinx.fem.locate_dofs_topological(mech.V1, 1, m.facet_tags.find(tags.ANODE))
    assert np.allclose(mech.pressure.x.array[anode], pressure, rtol=1e-9)
    pressed = Kinetics(13.0, pressure=pressure)
    assert pressed.pressure_factor == pytest.approx(
        math.exp(0.5 * NA_MOLAR_VOLUME * pressure / (8.314462618 * 298.15))
    )
    metrics = interface_metrics(problem, [])
    expected = I_APP * 50 * UM / 0.01 - overpotential_for_current(-I_APP, pressed)
    assert metrics["counter_potential"] == pytest.approx(expected, rel=1e-9)
    assert metrics["max_over_mean"] == pytest.approx(1.0, abs=1e-9)


def test_cavity_compliance_is_lames(protrusion):
    """A pressurised semicircular cavity on a roller base is half of a circular hole in an
    infinite plane (mirror symmetry): ΔA = π r² p (1 + ν) / E (plane strain = plane stress
    here, since σ_rr + σ_θθ = 0).  The window's free top at 10 r costs ~(r/H)²."""
    *_, mech = protrusion
    r = 10 * UM
    lame = math.pi * r**2 * (1 + NPS.poisson_ratio) / NPS.youngs_modulus
    assert mech.compliance[0, 0] == pytest.approx(lame, rel=0.015)
    assert mech.defects[0].volume == pytest.approx(math.pi * r**2 / 2, rel=1e-6)


def test_hemispherical_cavity_compliance_is_lames_in_3d():
    """A pressurised hemispherical cavity on a symmetry plane is half of a spherical cavity in
    an infinite solid: u_r = p r / (4G), so ΔV / p = π r³ (1 + ν) / E."""
    r = 5 * UM
    window = Window(
        3,
        60 * UM,
        30 * UM,
        defects=(Defect("protrusion", Round(r)),),
        sizes=MeshSizes(1 * UM, 1 * UM, 6 * UM),
    )
    m = build_mesh(window, geometry_order=2)
    mech = interface_mechanics(m.mesh, m.facet_tags, NPS, [(np.zeros(3), r)], 2)
    assert mech.compliance[0, 0] == pytest.approx(
        math.pi * r**3 * (1 + NPS.poisson_ratio) / NPS.youngs_modulus, rel=0.01
    )
    assert mech.defects[0].volume == pytest.approx(2 / 3 * math.pi * r**3, rel=1e-3)


def test_confined_deposit_pressure_balances_the_plated_volume(protrusion):
    window, m, V, s, mech = protrusion
    load = MechanicalLoad(stack_pressure=20e6, deposit_time=60.0, rtol=1e-10)
    problem = interface_problem(V, s, m.facet_tags, K, Galvanostatic(I_APP), pressure=dolfinx.fem.Function(V))
    report = solve_coupled(problem, mech, load)
    assert report.converged and 2 < report.passes < 10
    assert report.changes[-1] < report.changes[0] * 1e-8  # the coupling's own convergence
    p = report.deposit_pressures[-1][0]
    # independent check from the final fields: plated volume = cavity growth + metal compression
    import ufl

    ds = ufl.Measure("ds", domain=m.mesh, subdomain_data=mech.mech_tags)
    plated = dolfinx.fem.assemble_scalar(
        dolfinx.fem.form(-problem.charge_transfer_current * ds(DEFECT_WALL_BASE))
    )
    volume = 60.0 * NA_MOLAR_VOLUME / FARADAY * plated
    n = ufl.FacetNormal(m.mesh)
    grown = (
        -dolfinx.fem.assemble_scalar(dolfinx.fem.form(ufl.dot(mech.unit_defect[0], n) * ds(DEFECT_WALL_BASE)))
        * p
    )
    squeezed = mech.defects[0].volume * p / get_mechanical("Na").bulk_modulus
    assert grown + squeezed == pytest.approx(volume, rel=1e-8)
    assert 30e6 < p < 120e6  # tens of MPa: a minute of plating into a sealed 10 um defect
    stresses, _ = stress_report(mech, load, [p], 0.2e6, window.defects)
    d = stresses["defects"][0]
    assert d["metal_pressure"] == pytest.approx(20e6 + p)
    assert d["interface_pressure_at_tip"] == pytest.approx(20e6 + p, rel=0.01)
    assert stresses["wall_traction_error"] < 0.01
    # K_I at the critical deposit pressure is the toughness
    f, a = d["crack_shape_factor"], d["size"]
    sigma_lat = NPS.poisson_ratio / (1 - NPS.poisson_ratio) * 20e6
    assert f * (20e6 + d["critical_deposit_pressure"] - sigma_lat) * math.sqrt(math.pi * a) == pytest.approx(
        0.2e6
    )


MECH_CASE = """
[case]
name = "mech"
[geometry]
width = "200 um"
thickness = "60 um"
[[geometry.defects]]
kind = "protrusion"
shape = "semicircle"
radius = "8 um"
[mesh]
element_degree = 2
[operation]
current_density = "0.51 mA/cm2"
[mechanics]
stack_pressure = "62.5 MPa"
deposit_time = "30 s"
[[electrolytes]]
material = "NPS"
[[electrolytes]]
name = "soft"
conductivity = "0.9 mS/cm"
youngs_modulus = "10 GPa"
poisson_ratio = 0.35
fracture_toughness = "0.5 MPa*m^0.5"
"""


@pytest.mark.slow
def test_mechanics_case_serial_and_two_ranks(write_case, tmp_path):
    outs = [read_summary(out) for out in run_on_one_and_two_ranks("run", write_case(MECH_CASE), tmp_path)]
    for name in ("NPS", "soft"):
        one, two = (o["electrolytes"][name] for o in outs)
        mech = one["mechanics"]
        assert mech["coupling"]["converged"] and mech["coupling"]["passes"] >= 2
        assert mech["load"]["stack_pressure"] == 62.5e6 and mech["load"]["deposit_time"] == 30.0
        p1, p2 = mech["defects"][0]["deposit_pressure"], two["mechanics"]["defects"][0]["deposit_pressure"]
        # the coupling stops at a pressure change of 1e-8 of its scale (rtol), Newton at 1e-10
        assert p2 == pytest.approx(p1, rel=RUN_TO_RUN_RTOL)
        assert two["metrics"]["max_over_mean"] == pytest.approx(
            one["metrics"]["max_over_mean"], rel=RUN_TO_RUN_RTOL
        )
    soft = outs[0]["electrolytes"]["soft"]["mechanics"]
    assert soft["elastic_constants"]["youngs_modulus"] == 10e9
    assert soft["defects"][0]["fracture_toughness"] == 0.5e6
    assert "ASSUMED" in outs[0]["electrolytes"]["NPS"]["mechanics"]["elastic_constants"]["source"]
    header = (tmp_path / "np1" / "interface_profile.csv").read_text().splitlines()[0]
    assert "dP_NPS_Pa" in header


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[kinetics]\npressure = "20 MPa"\n', "set kinetics.pressure"),
        ('[geometry.roughness]\namplitude = "2 um"\nwavelength = "40 um"\n', "flat anode"),
    ],
)
def test_mechanics_refuses_inconsistent_cases(write_case, tmp_path, extra, message):
    text = (
        MECH_CASE.replace("[operation]", extra + "[operation]")
        if "kinetics" in extra
        else MECH_CASE.replace("[mesh]", extra + "[mesh]")
    )
    r = run_cli("run", str(write_case(text)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()


def test_mechanics_needs_elastic_constants(write_case, tmp_path):
    text = MECH_CASE.replace('youngs_modulus = "10 GPa"\n', "")
    r = run_cli("run", str(write_case(text)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "electrolyte soft" in r.stderr and "youngs_modulus" in r.stderr
    both = MECH_CASE.replace('deposit_time = "30 s"', 'deposit_time = "30 s"\ndeposit_pressure = "5 MPa"')
    r = run_cli("run", str(write_case(both)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "not both" in r.stderr
