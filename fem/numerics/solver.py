"""Newton solution of the interface problem with PETSc SNES.

Strategy, each step an error rather than a silent result when it fails:

1. initial guess from the linearised problem (Robin condition with R_ct): for a
   galvanostatic run this is Newton's own first step from φ = 0, otherwise one
   linear solve;
2. Newton (``newtonls`` with a backtracking line search) on the full
   Butler–Volmer problem;
3. if that fails, load continuation: the applied current (or voltage) is raised
   from 0 to its target in steps that halve on failure and grow on success.

With CG + multigrid (large problems; P2 and up through P1, :mod:`.multigrid`) these keep Newton close to the cost of one linear
Poisson solve (docs/performance.md): the stiffness is assembled once, each step only adds
the kinetic boundary term to it and evaluates the residual as K φ plus the boundary terms;
the AMG hierarchy is built once per solve (``snes_lag_preconditioner -2``), or taken from
an earlier solve on the same mesh (:class:`PreconditionerCache`); and the linear tolerance
follows the Newton residual (Eisenstat–Walker), so early steps are not solved to round-off.

Convergence is judged on the residual norm against a current scale: the norm
of ∫_Γa ī v ds with ī the mean plating current of the linearised solution, so the
tolerance means the same on every mesh, for every unit choice and for any i0.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Literal

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from dendrite_fem.geometry import tags
from dendrite_fem.numerics.multigrid import (
    GAMG_OPTIONS,
    P_MULTIGRID_OPTIONS,
    attach_p_multigrid,
    uses_p_multigrid,
)
from dendrite_fem.physics.conduction import InterfaceProblem
from dendrite_fem.physics.kinetics import film_law_residual

_prefix_counter = itertools.count()


class ConvergenceError(RuntimeError):
    """Newton (or a linear solve) did not converge; carries the iteration history."""

    def __init__(self, message: str, history: list[str]):
        super().__init__(message + ("\n  history:\n    " + "\n    ".join(history) if history else ""))
        self.history = history


#: DOFs up to which "auto" factorises with MUMPS, per (dimension, degree): where CG + multigrid
#: overtakes it in the Newton solve of the protrusion case, measured here on one rank with
#: ``benchmarks/solver_crossover.py`` (direct / iterative seconds: 2D P1 0.99 at 1.9k DOFs, 1.45
#: at 6.3k; 3D P1 1.02 at 1.7k, 1.12 at 3.4k; with the P2 p-multigrid cycle 2D P2 0.94 at 1.4k,
#: 1.05 at 2.5k, 2.07 at 7.2k; 3D P2 1.12 at 1.4k, 1.50 at 3.1k; the same max/mean to 1e-12;
#: docs/performance.md)
DIRECT_LIMITS = {(2, 1): 3_000, (2, 2): 2_000, (3, 1): 2_000, (3, 2): 1_000}


@dataclass(frozen=True)
class SolverOptions:
    """How to solve: ``linear_solver`` "direct" (MUMPS LU), "iterative" (CG + multigrid)
    or "auto" (direct up to ``direct_limit`` DOFs, by default :data:`DIRECT_LIMITS` for the
    dimension and degree); tolerances are relative."""

    linear_solver: Literal["auto", "direct", "iterative"] = "auto"
    direct_limit: int | None = None  #: None: :data:`DIRECT_LIMITS`
    rtol: float = 1e-10  #: Newton: residual norm / current scale
    ksp_rtol: float = 1e-12  #: CG: relative residual
    max_iterations: int = 30
    continuation_min_step: float = 1e-3
    monitor: bool = False


@dataclass
class SolveReport:
    """What the solve did, for summary.json."""

    newton_iterations: int = 0
    linear_iterations: int = 0
    continuation_steps: list[float] = field(default_factory=list)
    residual_norms: list[float] = field(default_factory=list)
    linear_solver: str = ""
    preconditioner_reused: bool = False  #: the AMG hierarchy came from an earlier solve on the mesh
    seconds: float = 0.0
    #: seconds (max over ranks) from PETSc's event log: "forms" (JIT + matrix creation),
    #: "newton" (all of SNESSolve), and inside it "residual_assembly",
    #: "jacobian_assembly", "preconditioner_setup" and "krylov"
    phases: dict[str, float] = field(default_factory=dict)


#: PETSc log events read for :attr:`SolveReport.phases`
#: (PCSetUp is logged apart from KSPSolve: the two do not overlap)
_EVENTS = {
    "newton": "SNESSolve",
    "residual_assembly": "SNESFunctionEval",
    "jacobian_assembly": "SNESJacobianEval",
    "preconditioner_setup": "PCSetUp",
    "krylov": "KSPSolve",
}


def _event_times() -> dict[str, float]:
    return {k: PETSc.Log.Event(e).getPerfInfo()["time"] for k, e in _EVENTS.items()}


def direct_limit(options: SolverOptions, V: dolfinx.fem.FunctionSpace) -> int:
    """The DOF count up to which "auto" uses the direct solver on the space ``V``."""
    if options.direct_limit is not None:
        return options.direct_limit
    key = (V.mesh.topology.dim, V.ufl_element().embedded_superdegree)
    return DIRECT_LIMITS.get(key, min(DIRECT_LIMITS.values()))


def linear_solver_options(options: SolverOptions, V: dolfinx.fem.FunctionSpace) -> tuple[dict, str]:
    """PETSc options of the linear solves on ``V`` and their name for reports."""
    direct = options.linear_solver == "direct" or (
        options.linear_solver == "auto" and V.dofmap.index_map.size_global <= direct_limit(options, V)
    )
    if direct:
        return {
            "ksp_type": "preonly",
            "pc_type": "lu",
            "pc_factor_mat_solver_type": "mumps",
            "ksp_error_if_not_converged": True,
        }, "direct (MUMPS LU)"
    if uses_p_multigrid(V):
        preconditioner, name = P_MULTIGRID_OPTIONS, "iterative (CG + p-multigrid, GAMG on P1)"
    else:
        preconditioner, name = GAMG_OPTIONS, "iterative (CG + GAMG)"
    return {
        "ksp_type": "cg",
        **preconditioner,
        "ksp_rtol": options.ksp_rtol,
        "ksp_atol": 1e-30,
        "ksp_max_it": 2000,
        "ksp_norm_type": "unpreconditioned",
    }, name


def _switch_to_direct(snes) -> None:
    """Make ``snes`` solve its Newton steps by MUMPS LU, factorised at every step (a lagged
    factorisation would be a stale Jacobian)."""
    opts = PETSc.Options(snes.getOptionsPrefix())
    for key, value in {
        "snes_lag_preconditioner": 1,
        "ksp_type": "preonly",
        "pc_type": "lu",
        "pc_factor_mat_solver_type": "mumps",
    }.items():
        opts[key] = value
    ksp = snes.getKSP()
    pc = PETSc.PC().create(snes.comm)  # not the multigrid PC, whose levels stay attached
    pc.setOptionsPrefix(ksp.getOptionsPrefix())
    ksp.setPC(pc)
    snes.setFromOptions()
    for key in ("snes_lag_preconditioner", "ksp_type", "pc_type", "pc_factor_mat_solver_type"):
        opts.delValue(key)


def _iterative(ksp_opts: dict) -> bool:
    """Whether ``ksp_opts`` (of :func:`linear_solver_options`) are those of CG + multigrid."""
    return ksp_opts["ksp_type"] == "cg"


def _current_scale(problem: InterfaceProblem) -> float:
    """‖∫_Γa ī v ds‖₂ with ī the mean plating current that flows: i_app |Γc| / |Γa| when
    galvanostatic, else that of the linearised solution (in ``problem.phi``), or i0 if that
    is zero. The residual norm then means the same whatever i0 is."""
    V = problem.phi.function_space
    comm = V.mesh.comm
    slope = problem.constants["slope"]

    def integral(expr, measure=problem.ds_anode) -> float:
        return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * measure)))

    one = dolfinx.fem.Constant(V.mesh, 1.0)
    area = integral(one)
    if _galvanostatic(problem):
        i_ref = (
            abs(problem.operation.applied_current_density) * integral(one, problem.ds(tags.COUNTER)) / area
        )
    else:
        i_ref = abs(integral(slope * problem.phi)) / area or problem.kinetics.effective_exchange_current
    v = ufl.TestFunction(V)
    # a Constant, not a number: a number would be compiled into the form, and every run with
    # another current or geometry would compile a new one
    i_ref = dolfinx.fem.Constant(V.mesh, float(i_ref))
    b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(i_ref * v * problem.ds_anode))
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    norm = b.norm()
    b.destroy()
    return norm


def _galvanostatic(problem: InterfaceProblem) -> bool:
    """A non-zero current is imposed (then Newton's first step is the linearised solve)."""
    return bool(problem.operation.applied_current_density)


def solve_linearised(problem: InterfaceProblem, options: SolverOptions) -> int:
    """Solve the problem with linearised kinetics into ``problem.phi``; returns the
    number of linear iterations."""
    V = problem.phi.function_space
    ksp_opts, _ = linear_solver_options(options, V)
    a, L = problem.linearised
    lin = dolfinx.fem.petsc.LinearProblem(
        a,
        L,
        u=problem.phi,
        bcs=problem.bcs,
        petsc_options=ksp_opts | {"ksp_error_if_not_converged": True},
        petsc_options_prefix=f"dfem_lin{next(_prefix_counter)}_",
    )
    attach_p_multigrid(lin.solver, V)
    try:
        lin.solve()
    except PETSc.Error as exc:
        raise ConvergenceError(f"linear solve of the initial guess failed: {exc}", []) from None
    its = lin.solver.getIterationNumber()
    comm = V.mesh.comm
    if lin.solver.getConvergedReason() < 0:
        raise ConvergenceError(
            f"linear solve of the initial guess failed (KSP reason {lin.solver.getConvergedReason()})",
            [],
        )
    if not comm.allreduce(bool(np.all(np.isfinite(problem.phi.x.array))), op=MPI.LAND):
        raise ConvergenceError(
            "the linearised problem gives non-finite potentials: check the conductivities "
            "(positive, finite) and the kinetic parameters",
            [],
        )
    return its


def _assemble_stiffness_once(
    nonlinear: dolfinx.fem.petsc.NonlinearProblem, problem: InterfaceProblem
) -> None:
    """Make the Newton Jacobian K + B(φ): the stiffness K is assembled once (it holds the
    Dirichlet rows), each Newton step copies it and adds the kinetic term B(φ), which
    lives on the anode facets only.  This replaces a volume assembly per step by a copy."""
    bcs = problem.bcs
    J = nonlinear.A
    stiffness_form = dolfinx.fem.form(problem.stiffness)
    kinetic_form = dolfinx.fem.form(problem.kinetic_jacobian)
    # assembled into the Jacobian's preallocated sparsity (which covers the facet couplings)
    # and then duplicated, K and J hold the same nonzero structure, so the copy is a memcpy
    J.zeroEntries()
    dolfinx.fem.petsc.assemble_matrix(J, stiffness_form, bcs, diag=1.0)
    J.assemble()
    K = J.duplicate(copy=True)
    u = problem.phi

    def jacobian(_snes, x, A, _P):
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        x.copy(u.x.petsc_vec)
        u.x.scatter_forward()
        K.copy(A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        # Dirichlet rows: the kinetic term is zeroed there and the diagonal 1 written again
        dolfinx.fem.petsc.assemble_matrix(A, kinetic_form, bcs, diag=1.0)
        A.assemble()

    nonlinear.solver.setJacobian(jacobian, J, J)
    nonlinear._stiffness = K  # keep it alive as long as the solver
    if not bcs and problem.residual is problem.split_residual:
        _residual_from_stiffness(nonlinear, problem, K)


def _residual_from_stiffness(
    nonlinear: dolfinx.fem.petsc.NonlinearProblem, problem: InterfaceProblem, K: PETSc.Mat
) -> None:
    """Evaluate the residual as F(φ) = K φ + (the Γa and Γc terms): one product with the
    stiffness already assembled, and a facet assembly, instead of a volume assembly per
    evaluation (docs/performance.md).  Only without Dirichlet conditions (galvanostatic), where
    K has no rows replaced by the identity, and only for F as :func:`interface_problem` built it
    (the verification adds source terms); otherwise F is assembled as a whole."""
    boundary_form = dolfinx.fem.form(problem.boundary_residual)
    u = problem.phi
    shifted = nonlinear.b.duplicate()

    def residual(_snes, x, b):
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        x.copy(u.x.petsc_vec)
        u.x.scatter_forward()
        with b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(b, boundary_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        # K annihilates constants, so K φ = K (φ − c); without the mean c the products K_ij φ_j
        # carry round-off ∝ |φ| where the assembled form (built from differences of nearby φ)
        # carries ∝ |Δφ|: in a nearly equipotential SE (σ = 1e3 S/m) that was above the
        # Newton tolerance
        x.copy(shifted)
        shifted.shift(-x.sum() / x.getSize())
        K.multAdd(shifted, b, b)  # b ← K (φ − c) + b (owned entries)
        b.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)

    nonlinear.solver.setFunction(residual, nonlinear.b)
    nonlinear._shifted = shifted


class _CachedPreconditioner:
    """A PETSc Python preconditioner that applies an AMG hierarchy set up earlier (see
    :class:`PreconditionerCache`): nothing to set up, so the solver's own set-up is free."""

    def __init__(self, pc: PETSc.PC):
        self.pc = pc

    def apply(self, _pc, x, y):
        self.pc.apply(x, y)


class PreconditionerCache:
    """The AMG hierarchy of one solve, kept for the next solves on the same mesh.

    With one conductivity per subdomain, the stiffness of another electrolyte, or of another
    run on the same mesh, is the same matrix times σ₂/σ₁; the Jacobians differ by that factor
    and by the kinetic boundary term.  Preconditioned CG does not change when the
    preconditioner is scaled, and it absorbs the boundary term as it does between Newton steps
    (``snes_lag_preconditioner``), so the hierarchy built for the first solve serves the next
    ones: the set-up, about half of a large Newton solve, is paid once.  It is reused only when
    the new σ field is the old one times a factor (a meshed interlayer of another contrast is
    not), on the same function space, and a solve that fails with it is repeated with a
    hierarchy of its own."""

    def __init__(self):
        self.pc: PETSc.PC | None = None
        self.owner = None
        self.sigma: np.ndarray | None = None  #: the σ values (DG0, local) it was built for
        self.space = None
        self.reuses = 0  #: solves that used it, for reports and tests

    def matches(self, problem: InterfaceProblem) -> bool:
        """Whether the cached hierarchy fits ``problem`` (collective)."""
        V = problem.phi.function_space
        comm = V.mesh.comm
        ok = self.pc is not None and self.space == V and self.sigma.shape == problem.sigma.x.array.shape
        ok = comm.allreduce(bool(ok), op=MPI.LAND)
        if not ok:
            return False
        ratio = problem.sigma.x.array / self.sigma
        lo = comm.allreduce(float(ratio.min(initial=np.inf)), op=MPI.MIN)
        hi = comm.allreduce(float(ratio.max(initial=-np.inf)), op=MPI.MAX)
        return bool(np.isfinite(lo) and np.isfinite(hi) and lo > 0 and hi - lo <= 1e-12 * hi)

    def keep(self, pc: PETSc.PC, owner, problem: InterfaceProblem) -> None:
        """Keep ``pc``, set up for ``problem`` by the solver ``owner`` (a NonlinearProblem): the
        owner is kept too, since destroying it destroys the PC's operators (one Jacobian and
        one stiffness matrix stay in memory as long as the model)."""
        self.pc = pc
        self.owner = owner
        self.sigma = problem.sigma.x.array.copy()
        self.space = problem.phi.function_space


def _check_film_law(problem: InterfaceProblem) -> None:
    """The thin-film law is solved by a fixed number of local Newton steps inside the form:
    refuse a solution where they did not reach round-off (|φ| far above 0.3 V)."""
    V = problem.phi.function_space
    dofs = dolfinx.fem.locate_dofs_topological(
        V, V.mesh.topology.dim - 1, problem.facet_tags.find(tags.ANODE)
    )
    phi = problem.phi.x.array[dofs]
    local = film_law_residual(
        phi, problem.overpotential_values(phi), problem.kinetics, problem.film_resistance
    )
    worst = V.mesh.comm.allreduce(local, op=MPI.MAX)
    if worst > 1e-9:
        raise ConvergenceError(
            f"the thin-film law was not solved to round-off inside the form (relative residual {worst:.1e}); "
            "the interface overpotential is too large for it: mesh the interlayer (representation "
            "'meshed' instead of a thin-film resistance) or lower the current",
            [],
        )


def solve_interface(
    problem: InterfaceProblem,
    options: SolverOptions | None = None,
    preconditioner: PreconditionerCache | None = None,
) -> SolveReport:
    """Solve F(φ) = 0 for ``problem.phi`` (in place); raise ConvergenceError on failure.
    ``preconditioner``: a multigrid hierarchy to reuse, or to keep for later solves (iterative solves only)."""
    options = options or SolverOptions()
    t0 = time.perf_counter()
    V = problem.phi.function_space
    comm = V.mesh.comm
    ksp_opts, ksp_name = linear_solver_options(options, V)
    report = SolveReport(linear_solver=ksp_name)
    sigma = problem.sigma.x.array
    bad = comm.allreduce(int(np.sum(~np.isfinite(sigma) | (sigma <= 0))))
    if bad:
        raise ConvergenceError(
            f"the conductivity is non-finite or not positive in {bad} cells; nothing was solved", []
        )
    problem.set_load_fraction(1.0)
    if _galvanostatic(problem):
        # Newton's first step from φ = 0 *is* the linearised problem (J(0) is its operator,
        # −F(0) its load), so it needs no solve of its own
        problem.phi.x.array[:] = 0.0
    else:
        report.linear_iterations += solve_linearised(problem, options)
    atol = options.rtol * _current_scale(problem)

    snes_opts = ksp_opts | {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_atol": atol,
        "snes_rtol": 0.0,  # only the scaled absolute test: a large first residual must not relax it
        "snes_stol": 1e-14,  # a Newton step at round-off of φ: converged even if |F| is not
        "snes_max_it": options.max_iterations,
        "snes_error_if_not_converged": False,
    }
    if _iterative(ksp_opts):
        # the Jacobian changes only by the kinetic boundary term between Newton steps: build
        # the AMG hierarchy once per solve and let CG absorb the difference; Eisenstat–Walker
        # loosens the linear tolerance while the Newton residual is still large (the final
        # accuracy is set by snes_atol alone)
        snes_opts["snes_lag_preconditioner"] = -2
        snes_opts["snes_ksp_ew"] = None
    reused = _iterative(ksp_opts) and preconditioner is not None and preconditioner.matches(problem)
    if options.monitor:
        snes_opts["snes_monitor"] = None
        snes_opts["ksp_monitor"] = None
    if not PETSc.Log.isActive():
        PETSc.Log.begin()  # the event log costs next to nothing and gives the phase split
    t_forms = time.perf_counter()
    nonlinear = dolfinx.fem.petsc.NonlinearProblem(
        problem.residual,
        problem.phi,
        J=problem.jacobian,
        bcs=problem.bcs,
        petsc_options=snes_opts,
        petsc_options_prefix=f"dfem_bv{next(_prefix_counter)}_",
    )
    t_forms = time.perf_counter() - t_forms
    events_before = _event_times()
    snes = nonlinear.solver
    t_interpolation = time.perf_counter()
    attach_p_multigrid(snes.getKSP(), V)
    t_forms += time.perf_counter() - t_interpolation
    _assemble_stiffness_once(nonlinear, problem)
    own_pc = snes.getKSP().getPC()
    if reused:
        # a Python PC that applies the earlier hierarchy; the earlier PC itself is never given
        # this problem's operators, which would make PETSc build it again
        shell = PETSc.PC().create(comm)
        shell.setType(PETSc.PC.Type.PYTHON)
        shell.setPythonContext(_CachedPreconditioner(preconditioner.pc))
        snes.getKSP().setPC(shell)
    snes.setConvergenceHistory(length=1000, reset=True)
    history: list[str] = []

    def attempt(fraction: float) -> bool:
        problem.set_load_fraction(fraction)
        saved = problem.phi.x.array.copy()
        try:
            nonlinear.solve()
        except PETSc.Error as exc:  # a failed factorisation or linear solve inside Newton
            history.append(f"load {fraction:.4g}: PETSc error {exc}")
            problem.phi.x.array[:] = saved
            return False
        reason = snes.getConvergedReason()
        its = snes.getIterationNumber()
        norms, lin_its = snes.getConvergenceHistory()
        report.newton_iterations += its
        # PETSc logs one entry per Newton step plus the initial one (0 linear iterations):
        # its + 1 entries, the last step's Krylov solve included
        report.linear_iterations += int(np.sum(lin_its[: its + 1]))
        report.residual_norms.extend(float(r) for r in norms[: its + 1])
        finite = comm.allreduce(bool(np.all(np.isfinite(problem.phi.x.array))), op=MPI.LAND)
        ok = reason > 0 and finite
        history.append(
            f"load {fraction:.4g}: SNES reason {reason}, {its} Newton steps, "
            f"|F| {norms[0]:.3e} -> {norms[its]:.3e} (atol {atol:.3e})"
            + ("" if finite else ", non-finite values")
        )
        if not ok:
            problem.phi.x.array[:] = saved
        return ok

    solved = attempt(1.0)
    if not solved and reused:
        # the hierarchy of another σ or load did not do: build this solve's own
        history.append("again with a preconditioner of its own")
        snes.getKSP().setPC(own_pc)
        reused = False
        solved = attempt(1.0)
    fell_back = False
    if (
        not solved
        and _iterative(ksp_opts)
        and snes.getConvergedReason() == PETSc.SNES.ConvergedReason.DIVERGED_LINEAR_SOLVE
    ):
        # CG + multigrid broke down (a mesh with slivers can make the smoothed hierarchy
        # indefinite); continuation would not mend the linear solver, LU does
        history.append("CG + multigrid failed: again with MUMPS LU")
        _switch_to_direct(snes)
        fell_back = True
        report.linear_solver = "direct (MUMPS LU) after CG + multigrid failed"
        solved = attempt(1.0)
    if not solved:
        # continuation from zero load: start again from φ = 0 (the equilibrium)
        problem.phi.x.array[:] = 0.0
        fraction, step = 0.0, 0.1
        while fraction < 1.0:
            target = min(1.0, fraction + step)
            if attempt(target):
                fraction = target
                report.continuation_steps.append(fraction)
                step *= 1.5
            else:
                step /= 2.0
                if step < options.continuation_min_step:
                    raise ConvergenceError(
                        f"Newton did not converge even with load continuation (stuck at "
                        f"{fraction:.3g} of the applied load). Try a finer mesh near the defect, "
                        "a smaller applied current, or check the kinetic parameters",
                        history,
                    )
    if problem.film_resistance > 0.0:
        _check_film_law(problem)
    if preconditioner is not None and _iterative(ksp_opts) and not fell_back:  # never a failed hierarchy
        if reused:
            preconditioner.reuses += 1
            # the multigrid levels of the PC that was not used would read these at their set-up
            database = PETSc.Options()
            for key in ksp_opts:
                if key.startswith("mg_"):
                    database.delValue(f"{snes.getOptionsPrefix()}{key}")
        else:
            preconditioner.keep(own_pc, nonlinear, problem)
    report.preconditioner_reused = reused
    report.seconds = time.perf_counter() - t0
    spent = {k: t - events_before[k] for k, t in _event_times().items()}
    spent["forms"] = t_forms
    report.phases = {k: comm.allreduce(v, op=MPI.MAX) for k, v in sorted(spent.items())}
    return report
