"""Charge balance on every geometry, and the physical limits of the current distribution."""

import math

import numpy as np
import pytest
from conftest import UM, solve_window

from dendrite_fem.geometry.spec import (
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    MeshSizes,
    RandomDefects,
    Roughness,
    Round,
    Window,
)
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.operation import Galvanostatic

GALV = Galvanostatic(5.1)
K = Kinetics(13.0)
COARSE3 = MeshSizes(1.5 * UM, 3 * UM, 12 * UM)

GEOMETRIES = {
    "round": Window(2, 100 * UM, 50 * UM, defects=(Defect("protrusion", Round(8 * UM)),)),
    "ellipse": Window(2, 100 * UM, 50 * UM, defects=(Defect("protrusion", Ellipse(4 * UM, 12 * UM)),)),
    "cone": Window(
        2, 100 * UM, 50 * UM, defects=(Defect("protrusion", Cone(12 * UM, math.radians(15), 1 * UM)),)
    ),
    "pore": Window(2, 100 * UM, 50 * UM, defects=(Defect("pore", Round(8 * UM)),)),
    "flat_void": Window(2, 100 * UM, 50 * UM, defects=(Defect("pore", FlatVoid(10 * UM, 1 * UM)),)),
    "mixed": Window(
        2,
        100 * UM,
        50 * UM,
        defects=(Defect("pore", Round(6 * UM), -25 * UM), Defect("protrusion", Round(5 * UM), 20 * UM)),
    ),
    "rough": Window(2, 100 * UM, 50 * UM, roughness=Roughness(3 * UM, 25 * UM)),
    "round3d": Window(3, 50 * UM, 40 * UM, defects=(Defect("protrusion", Round(8 * UM)),), sizes=COARSE3),
    "pore3d": Window(3, 50 * UM, 40 * UM, defects=(Defect("pore", Round(8 * UM)),), sizes=COARSE3),
    "cone3d": Window(
        3,
        50 * UM,
        40 * UM,
        defects=(Defect("protrusion", Cone(12 * UM, math.radians(20), 2 * UM)),),
        sizes=COARSE3,
    ),
    "rough3d": Window(
        3,
        50 * UM,
        40 * UM,
        roughness=Roughness(2 * UM, 25 * UM),
        sizes=MeshSizes(1.5 * UM, 1.5 * UM, 10 * UM),
    ),
}


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_charge_balance_and_focusing(name):
    window = GEOMETRIES[name]
    problem, m, mesh, _ = solve_window(window, 0.01, K, GALV)
    assert m["charge_balance_error"] < 1e-8
    # total plating current equals the applied current through the counter side
    assert m["total_plating_current"] == pytest.approx(5.1 * m["counter_area"], rel=1e-8)
    assert m["min_plating_current_density"] > 0  # plating everywhere, no stripping
    assert m["max_over_mean"] > 1.01  # a defect always focuses current somewhere
    if window.defects and window.defects[0].kind == "protrusion" and len(window.defects) == 1:
        tip = m["features"][0]
        assert tip["name"] == "tip" and tip["distance_to_dof_m"] < 1e-12
        assert tip["ratio_to_mean"] > 1.05  # current concentrates at the tip


def test_random_defects_are_placed_reproducibly():
    w = Window(2, 200 * UM, 50 * UM)
    spec = RandomDefects(5, 42, "pore", 3 * UM, 6 * UM, gap=2 * UM)
    a, b = spec.realise(w), spec.realise(w)
    assert a == b and len(a) == 5
    xs = sorted((d.x, d.shape.radius) for d in a)
    for (x1, r1), (x2, r2) in zip(xs, xs[1:]):
        assert x2 - x1 > r1 + r2 + 2 * UM - 1e-15


def test_high_conductivity_gives_uniform_current():
    # σ → ∞: the SE is equipotential, the current uniform over the anode
    _, m, _, _ = solve_window(GEOMETRIES["round"], 1e3, K, GALV)
    assert m["max_over_mean"] - 1 < 1e-4
    assert 1 - m["min_over_mean"] < 1e-4


def test_fast_kinetics_approach_primary_distribution():
    # i0 → ∞: the secondary distribution tends to the (geometry-only) primary one,
    # whose tip focusing is strongest; Wa decreasing must increase max/mean monotonically
    ratios = [
        solve_window(GEOMETRIES["round"], 0.01, Kinetics(i0), GALV)[1]["max_over_mean"]
        for i0 in (1.3, 13.0, 1.3e3, 1.3e5)
    ]
    assert np.all(np.diff(ratios) > 0)
    # primary distribution on a semicircular boss of a plane: i_tip / i_far = 2 (potential flow
    # around a cylinder); the finite window and mesh keep it near that value
    _, m, _, _ = solve_window(GEOMETRIES["round"], 0.01, Kinetics(1.3e5), GALV)
    tip = m["features"][0]["plating_current_A_per_m2"]
    assert tip / 5.1 == pytest.approx(2.0, rel=0.08)


def test_mirror_symmetry_of_a_centred_defect():
    import dolfinx

    from dendrite_fem.post.fields import interpolant
    from dendrite_fem.post.interface import interface_trace, plating_profile

    problem, _, mesh, _ = solve_window(GEOMETRIES["round"], 0.01, K, GALV)
    V1 = problem.phi.function_space
    trace = interface_trace(V1, mesh.facet_tags)
    i_dep, _ = plating_profile(trace, interpolant(problem.phi, V1), K)
    mirrored = np.interp(-trace.points[::-1, 0], trace.points[:, 0], i_dep)
    # the mesh is not mirror-symmetric, so agreement is to discretisation error
    assert np.max(np.abs(mirrored[::-1] - i_dep)) / i_dep.mean() < 0.02
    assert isinstance(V1, dolfinx.fem.FunctionSpace)


def test_continuation_rescues_a_hard_solve():
    """At 20 mA/cm² the linearised guess is far off; with at most 4 Newton steps per load
    step only continuation converges, and it must reach the same solution."""
    from dendrite_fem.numerics.solver import SolverOptions, solve_interface

    window = GEOMETRIES["round"]
    hard = Galvanostatic(200.0)
    reference, m_ref, _, rep_ref = solve_window(window, 0.01, K, hard)
    assert not rep_ref.continuation_steps
    problem, _, _, _ = solve_window(window, 0.01, K, hard)
    problem.phi.x.array[:] = 0.0
    report = solve_interface(problem, SolverOptions(max_iterations=4))
    assert report.continuation_steps and report.continuation_steps[-1] == 1.0
    assert np.allclose(problem.phi.x.array, reference.phi.x.array, rtol=1e-8, atol=1e-12)


def test_a_failed_iterative_linear_solve_falls_back_to_lu(monkeypatch):
    """CG + multigrid that fails (here held to one iteration; in practice a mesh with slivers
    can make the smoothed hierarchy indefinite) is replaced by MUMPS LU for the same Newton
    solve: the same answer as the direct solver, and the report says so."""
    import dendrite_fem as df
    import dendrite_fem.numerics.solver as solver

    window = df.Window(2, "40 um", "20 um", defects=[df.Defect("protrusion", df.Round("5 um"))])
    kinetics, operation = df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2")
    nps = df.electrolyte("NPS")
    direct = df.Model(window, kinetics, operation, solver=solver.SolverOptions(linear_solver="direct")).solve(
        nps
    )
    options = solver.linear_solver_options

    def one_iteration(*args, **kwargs):
        opts, name = options(*args, **kwargs)
        return {**opts, "ksp_max_it": 1}, name

    monkeypatch.setattr(solver, "linear_solver_options", one_iteration)
    model = df.Model(window, kinetics, operation, solver=solver.SolverOptions(linear_solver="iterative"))
    fallback = model.solve(nps)
    assert fallback.report.linear_solver == "direct (MUMPS LU) after CG + multigrid failed"
    assert fallback.metrics.max_over_mean == pytest.approx(direct.metrics.max_over_mean, rel=1e-9)
    assert fallback.metrics.charge_balance_error < 1e-9
    # the failed hierarchy is not kept for the next electrolyte on the mesh, which falls back too
    again = model.solve(df.electrolyte("NAS"))
    assert (
        again.report.linear_solver == fallback.report.linear_solver and not again.report.preconditioner_reused
    )
    assert again.metrics.charge_balance_error < 1e-9
