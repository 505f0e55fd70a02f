"""Interlayers: meshed subdomain vs thin-film resistance, closed forms, and case files."""

import dolfinx
import numpy as np
import pytest
from conftest import UM, run_cli

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.spec import Cone, Defect, GeometryError, MeshSizes, Round, Window
from dendrite_fem.model import Model
from dendrite_fem.physics.kinetics import Kinetics, film_overpotential, overpotential_for_current
from dendrite_fem.physics.materials import Layer, electrolyte
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.post.fields import interpolant
from dendrite_fem.post.interface import interface_trace, plating_profile

K = Kinetics(13.0, 0.3, 0.7)
I_APP = 5.1  # A/m², 0.51 mA/cm²
R_F = 1e-3  # Ω m²: about half of R_ct (1.98e-3)


def _solve(window, sigma, sigma_layer=None, film=0.0, degree=2):
    """(problem, mesh, metrics as a dict) of one SE with a meshed band of ``sigma_layer`` (where
    the window has one) or a thin film of area resistance ``film``, through the public API."""
    if film:
        layer = Layer("film", 1.0, film, "resistance")  # R_f = t/σ = film exactly
    elif window.interlayer_thickness is not None:
        layer = Layer("band", sigma_layer or sigma, window.interlayer_thickness)
    else:
        layer = None
    model = Model(window, K, Galvanostatic(I_APP), degree=degree)
    solution = model.solve(electrolyte(name="se", conductivity=sigma, interlayer=layer))
    return solution.problem, model.mesh, solution.metrics.to_dict()


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_film_law_solves_its_local_equation(alpha):
    k = Kinetics(13.0, alpha, 1 - alpha)
    phi = np.linspace(-0.3, 0.3, 601)
    for r_f in (1e-5, 1e-3, 1e-1):
        eta = film_overpotential(
            phi, k.effective_exchange_current, alpha * k.f, (1 - alpha) * k.f, r_f, 13.0 * k.f
        )
        assert np.max(np.abs(eta + phi + r_f * k.current(eta))) < 1e-13
    assert np.array_equal(film_overpotential(phi, 13.0, 1.0, 1.0, 0.0, 1.0), -phi)


@pytest.mark.parametrize("representation", ["meshed", "resistance"])
def test_flat_cell_voltage_with_an_interlayer_is_the_closed_form(representation):
    """V = i (L − t)/σ + i t/σ_f + η⁻¹(i) for the band; i L/σ + i R_f + η⁻¹(i) for the film."""
    L, t, sigma, sigma_f = 50 * UM, 1 * UM, 0.01, 0.001
    band = t if representation == "meshed" else None
    window = Window(2, 20 * UM, L, sizes=MeshSizes(2 * UM, 2 * UM, 5 * UM), interlayer_thickness=band)
    film = t / sigma_f if representation == "resistance" else 0.0
    p, _, metrics = _solve(window, sigma, sigma_f, film, degree=1)
    bulk = (L - t) / sigma + t / sigma_f if band else L / sigma + film
    expected = I_APP * bulk - overpotential_for_current(-I_APP, K)
    assert metrics["counter_potential"] == pytest.approx(expected, rel=1e-10)
    assert metrics["mean_overpotential"] == pytest.approx(overpotential_for_current(-I_APP, K), rel=1e-10)
    if film:
        assert metrics["film_drop"] == pytest.approx(I_APP * film, rel=1e-10)


def test_meshed_layer_and_film_resistance_agree_for_a_thin_layer():
    """A layer 1 % of the defect radius thick: the interface current of the meshed layer and
    of its area resistance t/σ_f differ by less than 2 % (issue 6)."""
    r, t = 10 * UM, 0.1 * UM
    sigma_f = t / R_F
    sizes = MeshSizes(0.5 * UM, 0.5 * UM, 8 * UM)
    defect = (Defect("protrusion", Round(r)),)
    meshed = Window(2, 200 * UM, 60 * UM, defects=defect, sizes=sizes, interlayer_thickness=t)
    bare = Window(2, 200 * UM, 60 * UM, defects=defect, sizes=sizes)
    results = {}
    for name, window, film in (("meshed", meshed, 0.0), ("film", bare, R_F)):
        p, m, metrics = _solve(window, 0.01, sigma_f, film)
        V1 = dolfinx.fem.functionspace(m.mesh, ("Lagrange", 1))
        trace = interface_trace(V1, m.facet_tags)
        i_dep, _ = plating_profile(trace, interpolant(p.phi, V1), K, p.overpotential_values)
        on = trace.on_anode
        results[name] = (trace.arc_length[on], i_dep[on], metrics)
    s_m, i_m, met_m = results["meshed"]
    s_f, i_f, met_f = results["film"]
    i_f_on_m = np.interp(s_m, s_f, i_f)
    l2 = np.sqrt(np.trapezoid((i_m - i_f_on_m) ** 2, s_m) / np.trapezoid(i_m**2, s_m))
    assert l2 < 0.02
    tip_m, tip_f = (met["features"][0]["plating_current_A_per_m2"] for met in (met_m, met_f))
    assert tip_m == pytest.approx(tip_f, rel=0.02)
    assert met_m["max_over_mean"] == pytest.approx(met_f["max_over_mean"], rel=0.02)
    # and the layer matters: without it the tip current is measurably higher
    _, _, met_bare = _solve(bare, 0.01)
    assert met_bare["features"][0]["plating_current_A_per_m2"] > 1.005 * tip_f


def test_a_passivating_film_homogenises_the_current_for_nas_and_nps():
    window = Window(
        2,
        200 * UM,
        60 * UM,
        defects=(Defect("protrusion", Round(10 * UM)),),
        sizes=MeshSizes(0.5 * UM, 1 * UM, 8 * UM),
    )
    for sigma in (0.09, 0.01):  # NAS, NPS
        _, _, bare = _solve(window, sigma)
        _, _, film = _solve(window, sigma, film=R_F)
        assert film["max_over_mean"] < bare["max_over_mean"]
        assert film["coefficient_of_variation"] < bare["coefficient_of_variation"]
        assert film["charge_balance_error"] < 1e-10


def test_meshed_interlayer_refuses_a_shape_it_cannot_coat():
    with pytest.raises(GeometryError, match=r"Layer.representation = 'resistance'"):
        Window(
            2,
            200 * UM,
            60 * UM,
            defects=(Defect("protrusion", Cone(10 * UM, 0.5, 1 * UM)),),
            interlayer_thickness=1 * UM,
        )


def test_case_file_interlayer_errors_name_the_field(write_case):
    base = """
[case]
name = "il"
[geometry]
width = "100 um"
thickness = "50 um"
[operation]
current_density = "0.51 mA/cm2"
[[electrolytes]]
material = "NAS"
"""
    no_table = write_case(base + 'interlayer = "NAS-passivation"\n', "a.toml")
    r = run_cli("check", str(no_table))
    assert r.returncode == 2 and "[interlayer]" in r.stderr
    typo = write_case(base + 'interlayer = "NAS-pasivation"\n[interlayer]\nthickness = "1 um"\n', "b.toml")
    r = run_cli("check", str(typo))
    assert r.returncode == 2 and "did you mean 'NAS-passivation'" in r.stderr


@pytest.mark.parametrize("representation", ["meshed", "resistance"])
def test_interlayer_case_runs_and_reports_the_layer(tmp_path, representation):
    from conftest import ROOT, read_summary

    out = tmp_path / representation
    r = run_cli(
        "run",
        str(ROOT / "cases" / "nas_vs_nps_interlayer.toml"),
        "--out",
        str(out),
        "--quiet",
        "--set",
        f"interlayer.representation='{representation}'",
        "--set",
        "mesh.size_near='1 um'",
        "--set",
        "mesh.size_interface='2 um'",
        "--set",
        "mesh.size_far='15 um'",
        "--set",
        "mesh.element_degree=1",
    )
    assert r.returncode == 0, r.stderr
    s = read_summary(out)
    bare, coated = s["electrolytes"]["NAS"], s["electrolytes"]["NAS+passivation"]
    assert bare["interlayer"] is None and bare["effective_wagner_length"] == bare["wagner_length"]
    layer = coated["interlayer"]
    assert layer["material"] == "NAS-passivation" and layer["representation"] == representation
    assert layer["area_resistance"] == pytest.approx(1e-6 / 1e-3)  # 1 um / 0.01 mS/cm
    r_ct = s["parameters"]["charge_transfer_resistance"]
    assert coated["effective_wagner_length"] == pytest.approx(coated["conductivity"] * (r_ct + 1e-3))
    for rec in s["electrolytes"].values():
        assert rec["metrics"]["charge_balance_error"] < 1e-8
    film_drop = coated["metrics"]["film_drop"]
    if representation == "resistance":  # i_dep R_f on average: i_app × (|Γc|/|Γa|) × R_f
        mean = coated["metrics"]["mean_plating_current_density"]
        assert film_drop == pytest.approx(mean * 1e-3, rel=1e-9)
    else:
        assert film_drop == pytest.approx(0.0, abs=1e-15)  # the meshed layer's drop is ohmic
        assert coated["metrics"]["ohmic_drop"] > bare["metrics"]["ohmic_drop"]


def test_conformal_layer_in_3d_has_the_right_volume_and_balances_charge():
    """Band (W² t minus the hemisphere's footprint) plus a spherical shell (2π/3 ((r+t)³ − r³)),
    less the ring the two share at the foot; the solve keeps its charge balance."""
    import math

    import ufl

    r, t, w = 8 * UM, 1 * UM, 40 * UM
    window = Window(
        3,
        w,
        30 * UM,
        defects=(Defect("protrusion", Round(r)),),
        interlayer_thickness=t,
        sizes=MeshSizes(1.5 * UM, 1.5 * UM, 8 * UM),
    )
    p, m, metrics = _solve(window, 0.01, 0.001, degree=1)
    dx = ufl.Measure("dx", domain=m.mesh, subdomain_data=m.cell_tags)
    one = dolfinx.fem.Constant(m.mesh, 1.0)
    volume = m.mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * dx(tags.INTERLAYER))))
    # the shell below z = t overlaps the band: a ring of radius ~r and cross-section ~t²
    expected = (
        w * w * t - math.pi * r**2 * t + 2 * math.pi / 3 * ((r + t) ** 3 - r**3) - 2 * math.pi * r * t * t
    )
    assert volume == pytest.approx(expected, rel=0.01)
    assert metrics["charge_balance_error"] < 1e-10
