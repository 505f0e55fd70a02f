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
    ksp_options, _ = linear_solver_options(options, model.space)

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


def test_other_parameter_values_compile_no_new_form(monkeypatch):
    """Every number a run may change (current, geometry, temperature, conductivity, stack
    pressure) reaches the forms as a constant or a function, not compiled into them: a sweep
    compiles its forms once, not once per run.  Forms are counted by their FFCx module names."""
    from ffcx.codegeneration import jit

    from dendrite_fem.physics.electromechanics import MechanicalLoad
    from dendrite_fem.physics.materials import get_mechanical

    requested: list[str] = []
    original = jit.get_cached_module

    def recording(module_name, *args, **kwargs):
        requested.append(module_name)
        return original(module_name, *args, **kwargs)

    monkeypatch.setattr(jit, "get_cached_module", recording)

    def names(radius, current, temperature, stack_pressure) -> set[str]:
        requested.clear()
        window = Window(
            2,
            80 * UM,
            40 * UM,
            defects=(Defect("protrusion", Round(radius * UM)),),
            sizes=MeshSizes(1 * UM, 2 * UM, 8 * UM),
        )
        kinetics = Kinetics(13.0, temperature=temperature)
        plain = Model(window, kinetics, Galvanostatic(current), degree=1)
        plain.solve(electrolyte(name="SE", conductivity=0.09, temperature=temperature))
        stressed = plain.replace(mechanics=MechanicalLoad(stack_pressure=stack_pressure))
        stressed.solve(
            electrolyte(
                name="SE", conductivity=0.01, temperature=temperature, mechanical=get_mechanical("NPS")
            )
        )
        return set(requested)

    first = names(8.0, 5.1, 298.15, 5e6)
    second = names(6.0, 1.27, 318.15, 2e7)
    assert len(first) > 5
    assert second <= first, f"{len(second - first)} forms compiled again for other values"


def test_residual_is_stiffness_times_phi_plus_boundary_terms():
    """The solver evaluates F(φ) as K φ + the Γa/Γc terms (a product instead of a volume
    assembly); that identity must hold for the forms interface_problem builds, here at a random
    φ with a thin film and against the assembled residual."""
    import dolfinx.fem.petsc
    from petsc4py import PETSc

    window = Window(
        2,
        80 * UM,
        40 * UM,
        defects=(Defect("protrusion", Round(8 * UM)),),
        sizes=MeshSizes(1 * UM, 2 * UM, 8 * UM),
    )
    from dendrite_fem.physics.materials import Layer

    model = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=2)
    film = Layer("film", 1.0, 2e-4, "resistance")  # R_f = 2e-4 ohm m^2, on Γa
    for e in (electrolyte("NAS"), electrolyte(name="SE", conductivity=0.02, interlayer=film)):
        problem, _ = model.problem(e)
        rng = np.random.default_rng(1)
        problem.phi.x.array[:] = 0.02 * rng.standard_normal(problem.phi.x.array.size)
        problem.phi.x.scatter_forward()

        def vector(form):
            b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(form))
            b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            return b

        K = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(problem.stiffness))
        K.assemble()
        split = vector(problem.boundary_residual)
        K.multAdd(problem.phi.x.petsc_vec, split, split)
        whole = vector(problem.residual)
        assert problem.residual is problem.split_residual
        assert (split - whole).norm() <= 1e-12 * whole.norm()


def test_amg_hierarchy_is_reused_across_electrolytes_with_the_same_answer():
    """The second electrolyte on a mesh reuses the first one's AMG hierarchy (its σ is the same
    field times a factor) and gets the answer a solve with its own hierarchy gets, to the
    solver's tolerance; a meshed interlayer of another contrast is not a scaled copy."""
    from dendrite_fem.physics.materials import Layer

    window = Window(
        2,
        200 * UM,
        100 * UM,
        defects=(Defect("protrusion", Round(10 * UM)),),
        sizes=MeshSizes(0.6 * UM, 0.6 * UM, 4 * UM),
    )
    options = SolverOptions(linear_solver="iterative")
    shared = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=2, solver=options)
    first = shared.solve(electrolyte("NAS"))
    second = shared.solve(electrolyte("NPS"))
    own = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=2, solver=options).solve(
        electrolyte("NPS")
    )
    assert not first.report.preconditioner_reused and not own.report.preconditioner_reused
    assert second.report.preconditioner_reused
    assert second.report.phases["preconditioner_setup"] < 0.1 * own.report.phases["preconditioner_setup"]
    for key in ("max_over_mean", "min_over_mean", "coefficient_of_variation", "counter_potential"):
        a, b = getattr(second.metrics, key), getattr(own.metrics, key)
        assert abs(a - b) <= 1e-8 * abs(b), key

    banded = Window(
        2,
        200 * UM,
        100 * UM,
        defects=(Defect("protrusion", Round(10 * UM)),),
        sizes=MeshSizes(0.6 * UM, 0.6 * UM, 4 * UM),
        interlayer_thickness=2 * UM,
    )
    model = Model(banded, Kinetics(13.0), Galvanostatic(5.1), degree=1, solver=options)
    layer = Layer("band", 0.001, 2 * UM)
    model.solve(electrolyte("NAS", interlayer=layer))
    assert model.solve(
        electrolyte("NAS", interlayer=Layer("band", 0.001, 2 * UM))
    ).report.preconditioner_reused
    assert not model.solve(electrolyte("NPS", interlayer=layer)).report.preconditioner_reused


#: package / hand-written whole-process time on the default case at its own discretisation
#: (benchmarks/handwritten.py); 1.3 here (docs/performance.md): the package's start-up
#: (pydantic and its schema, rich, its modules) and what it computes and writes beyond max/mean
#: (metrics, profile, summary, resumable state) cost about 0.18 s.  Issue 17 asks for 1.2; this
#: guards what there is, with room for the other test worker's load: a start-up regression of
#: 0.2 s (pint imported again, say) fails it
HANDWRITTEN_RATIO_LIMIT = 1.7


def test_end_to_end_time_against_the_handwritten_script(tmp_path):
    """The default case (figures and fields off) against the shortest correct hand-written
    DOLFINx script at the same discretisation, whole processes, interleaved, median of ratios;
    and both compute the same max/mean."""
    import json
    import statistics
    import subprocess
    import sys
    import time

    from conftest import ROOT

    package = [
        sys.executable,
        "-m",
        "dendrite_fem.app.cli",
        "run",
        str(ROOT / "cases/nas_vs_nps_protrusion.toml"),
        "--out",
        str(tmp_path / "run"),
        "--force",
        "--quiet",
        "--set",
        "output.figures=false",
        "--set",
        "output.fields=false",
    ]
    script = [sys.executable, str(ROOT / "benchmarks/handwritten.py")]

    def timed(cmd):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0, r.stdout + r.stderr
        return time.perf_counter() - t0, r.stdout

    timed(package)  # the form cache, warm for both
    _, out = timed(script)
    ratios = [timed(package)[0] / timed(script)[0] for _ in range(3)]
    hand = json.loads(out.strip().splitlines()[-1])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for name in ("NAS", "NPS"):
        ours = summary["electrolytes"][name]["metrics"]["max_over_mean"]
        assert abs(ours - hand[name]["max_over_mean"]) < 1e-5 * ours  # the same discretisation
    assert statistics.median(ratios) <= HANDWRITTEN_RATIO_LIMIT, ratios


def test_auto_solver_follows_the_measured_limits():
    """ "auto" is MUMPS up to DIRECT_LIMITS[(dim, degree)] DOFs and CG + multigrid above (GAMG
    for P1, p-multigrid to P1 for P2); an explicit direct_limit wins; "direct" and "iterative"
    are what they say."""
    from dendrite_fem.numerics.solver import DIRECT_LIMITS, direct_limit

    window = Window(
        2,
        80 * UM,
        40 * UM,
        defects=(Defect("protrusion", Round(8 * UM)),),
        sizes=MeshSizes(1 * UM, 2 * UM, 8 * UM),
    )
    iterative = {1: "iterative (CG + GAMG)", 2: "iterative (CG + p-multigrid, GAMG on P1)"}
    for degree in (1, 2):
        V = Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=degree).space
        n = V.dofmap.index_map.size_global
        assert direct_limit(SolverOptions(), V) == DIRECT_LIMITS[(2, degree)]
        below = SolverOptions(direct_limit=n)
        above = SolverOptions(direct_limit=n - 1)
        assert linear_solver_options(below, V)[1] == "direct (MUMPS LU)"
        assert linear_solver_options(above, V)[1] == iterative[degree]
        assert linear_solver_options(SolverOptions("direct", direct_limit=0), V)[1] == "direct (MUMPS LU)"
        assert (
            linear_solver_options(SolverOptions("iterative", direct_limit=10**9), V)[1] == iterative[degree]
        )


def test_p_multigrid_interpolation_and_solve_against_dolfinx_and_lu():
    """The P1 → Pk interpolation of the p-multigrid cycle, built from the dofmaps, equals
    DOLFINx's general interpolation matrix (P2 and P3, triangles and tetrahedra); a Poisson
    solve preconditioned by the cycle gives the LU answer to the Krylov tolerance, with fewer
    CG iterations than GAMG on the Pk matrix itself."""
    import dolfinx
    import dolfinx.fem.petsc
    import ufl
    from mpi4py import MPI
    from petsc4py import PETSc

    from dendrite_fem.numerics.multigrid import (
        GAMG_OPTIONS,
        P_MULTIGRID_OPTIONS,
        attach_p_multigrid,
        lowest_order_interpolation,
    )

    comm = MPI.COMM_WORLD
    meshes = (
        dolfinx.mesh.create_unit_square(comm, 24, 16, dolfinx.mesh.CellType.triangle),
        dolfinx.mesh.create_unit_cube(comm, 6, 5, 4, dolfinx.mesh.CellType.tetrahedron),
    )
    for mesh in meshes:
        for degree in (2, 3):
            V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree))
            V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
            ours = lowest_order_interpolation(V)
            reference = dolfinx.fem.petsc.interpolation_matrix(V1, V)
            reference.assemble()
            difference = ours.copy()
            difference.axpy(-1.0, reference, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
            assert difference.norm() < 1e-13 * reference.norm(), (mesh.topology.dim, degree)
            assert lowest_order_interpolation(V) is ours  # built once per space

    mesh = meshes[1]
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 2))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    x = ufl.SpatialCoordinate(mesh)
    # a Robin condition as at the anode: no Dirichlet rows, the operator is SPD
    a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx + 3.0 * u * v * ufl.ds)
    L = dolfinx.fem.form(ufl.sin(3 * x[0]) * x[1] * v * ufl.dx)
    A = dolfinx.fem.petsc.assemble_matrix(a)
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L)
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)

    def solve(options: dict) -> tuple[PETSc.Vec, int]:
        ksp = PETSc.KSP().create(comm)
        prefix = f"pmg_test{id(ksp)}_"
        ksp.setOptionsPrefix(prefix)
        database = PETSc.Options()
        for key, value in options.items():
            database[prefix + key] = value
        ksp.setOperators(A)
        ksp.setFromOptions()
        attach_p_multigrid(ksp, V)
        solution = b.duplicate()
        ksp.solve(b, solution)
        assert ksp.getConvergedReason() > 0
        return solution, ksp.getIterationNumber()

    krylov = {"ksp_type": "cg", "ksp_rtol": 1e-12, "ksp_norm_type": "unpreconditioned"}
    exact, _ = solve({"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"})
    p_multigrid, p_its = solve(krylov | P_MULTIGRID_OPTIONS)
    _, gamg_its = solve(krylov | GAMG_OPTIONS)
    p_multigrid.axpy(-1.0, exact)
    assert p_multigrid.norm() < 1e-9 * exact.norm()
    assert p_its < gamg_its, (p_its, gamg_its)
