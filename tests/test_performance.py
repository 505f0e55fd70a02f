"""Regression guard: the nonlinear solve against its floor, one linear Poisson solve of the
same mesh with the same Krylov solver (dendrite_fem.numerics.floor), timed in the same process — ratios, not
absolute times, because CI machines are noisy."""

import numpy as np
from conftest import UM

from dendrite_fem.geometry.spec import Defect, MeshSizes, Round, Window
from dendrite_fem.model import Model
from dendrite_fem.numerics.floor import poisson_floor
from dendrite_fem.numerics.solver import SolverOptions, linear_solver_options
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import electrolyte
from dendrite_fem.physics.operation import Galvanostatic


def test_nonlinear_solve_stays_close_to_the_poisson_floor():
    window = Window(
        2,
        200 * UM,
        100 * UM,
        defects=(Defect("protrusion", Round(10 * UM)),),
        sizes=MeshSizes(0.7 * UM, 0.7 * UM, 0.7 * UM),
    )
    options = SolverOptions(linear_solver="iterative")  # CG + GAMG, the large-problem path
    model = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=1, solver=options)
    se = electrolyte(name="NPS-like", conductivity=0.01)
    V, sigma = model.space, model.problem(se)[0].sigma
    ksp_options, _ = linear_solver_options(options, model.num_dofs)

    def nonlinear():
        return model.solve(se).report

    nonlinear()  # compile the forms first: JIT is not what is measured
    floor, newton = [], []
    for _ in range(3):
        floor.append(poisson_floor(V, sigma, model.mesh.facet_tags, 5.1, ksp_options).seconds)
        report = nonlinear()
        newton.append(report.phases["newton"])
    assert V.dofmap.index_map.size_global > 40_000
    assert report.newton_iterations <= 6
    ratio = np.median(newton) / np.median(floor)
    # the target of docs/performance.md is 2.5 at 1M DOFs; this guard is tighter so that losing
    # one of the optimisations fails it (1.1 when written; 2.0 without the once-assembled
    # stiffness and the lagged preconditioner)
    assert ratio < 1.8, f"Newton solve / Poisson floor = {ratio:.2f} (1.1 when written)"


def test_reported_linear_iterations_count_every_krylov_solve(capfd):
    """Issue 17: the report summed the convergence history without the last Newton step's CG
    solve (the largest one).  PETSc's own monitor prints one line per Krylov iteration."""
    import re

    window = Window(2, 200 * UM, 100 * UM, defects=(Defect("protrusion", Round(10 * UM)),))
    options = SolverOptions(linear_solver="iterative", monitor=True)
    model = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=2, solver=options)
    capfd.readouterr()
    report = model.solve(electrolyte(name="NPS-like", conductivity=0.01)).report
    printed = capfd.readouterr().out
    krylov = [int(m) for m in re.findall(r"^\s*(\d+) KSP Residual norm", printed, flags=re.M)]
    assert krylov and report.newton_iterations >= 2
    assert report.linear_iterations == sum(1 for k in krylov if k > 0)
