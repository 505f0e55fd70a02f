"""Phase-field electrodeposition (issue 7, part 2): the grand-potential model of Hong &
Viswanathan, ACS Energy Lett. 3, 1737 (2018), built on Chen et al., J. Power Sources 300, 376
(2015).  For morphologies a sharp interface cannot follow (branching), see docs/phase-field.md.

Nondimensional, with the parameters of the authors' published MOOSE input file (their
Supporting Information; :class:`HongViswanathan2018`).  Unknowns: the chemical potential w of
the metal ion, the order parameter ξ (1 metal, 0 electrolyte) and the electric potential φ.

    ∂ξ/∂t = −L (B g'(ξ) − κ ∇²ξ) − G(φ, ξ, w) + noise                      (Allen–Cahn + Butler–Volmer)
    G     = L_η h'(ξ) [exp(a φ / 2) − r c_l(w) (1 − h(ξ)) exp(−a φ / 2)]     (a = nF/RT, r = 14.89)
    ∂c/∂t = χ ∂w/∂t + f_t ∂ξ/∂t = ∇·(D ∇w + D_N ∇φ)                         (ion conservation)
    ∇·(σ(ξ) ∇φ) = f_2 ∂ξ/∂t,      σ = σ_s h + σ_l (1 − h)                 (charge; Faraday)

with h = ξ³(6ξ² − 15ξ + 10), g = ξ²(1 − ξ)², the grand potentials of the two phases
ω_l,s(w) = u_l,s − A ln(1 + exp((w − ε_l,s)/A)), the concentrations c_l,s = −∂ω_l,s/∂w, the
total content c = (1 − h) c_l + h d_v c_s, so χ = (1 − h) ∂c_l/∂w + h d_v ∂c_s/∂w and
f_t = (d_v c_s − c_l) h'(ξ); D = M0 c_l (1 − h)², D_N = a D.  The electrode side (x = 0) holds
ξ = 1 and φ = φ_applied (no ion flux); the electrolyte side (x = L_x) is the reservoir ξ = 0,
w = 0, φ = 0; the other sides are mirror planes.

Weak form per time step (backward Euler), tested with (q, ζ, ψ):

    ∫ χ (w − wⁿ)/Δt q + (D ∇w + D_N ∇φ)·∇q + f_t (ξ − ξⁿ)/Δt q
  + ∫ (ξ − ξⁿ)/Δt ζ + L B g'(ξ) ζ + L κ ∇ξ·∇ζ + G ζ − noise ζ
  + ∫ σ ∇φ·∇ψ + f_2 (ξ − ξⁿ)/Δt ψ  = 0

(term for term the published kernels).  Langevin noise as MOOSE's ``LangevinNoise``: uniform
in [−a_n, a_n], one draw per step on squares of the published grid spacing (Δx = 1), a
function of position, seed and step only, so that every partition and every refinement of
the mesh sees the same noise.

Differences from the published run, on purpose: backward Euler with a step chosen by the
largest change of ξ (published: BDF2, Δt = 0.02) and Newton with the exact Jacobian and MUMPS
(published: preconditioned JFNK).  With P1 elements the published grid (Δx = 1 = 2 ε) lets w
overshoot without bound near the front (w > 50 within 0.3 time units, then Newton fails), so
we resolve the front with Δx ≤ ε/2 (docs/phase-field.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from dendrite_fem.numerics.solver import ConvergenceError

_prefix = itertools.count()

ROUND_OFF = 1e-6  #: a Newton solve whose line search stalls below this relative residual has converged


@dataclass(frozen=True)
class HongViswanathan2018:
    """Nondimensional parameters of the published input file (Hong & Viswanathan 2018, SI,
    ``input.i``): gradient coefficient κ, ion mobility M0, conductivities of metal and electrolyte,
    Allen–Cahn mobility L, reaction constant L_η, barrier height B, grand-potential constants
    (ε_s, ε_l, A, u_l, u_s), a = nF/RT, site-density ratio d_v, charge coupling f_2, the
    concentration ratio of the reaction term and the noise amplitude.  The published run applies
    φ = −0.45 at the electrode on a 200 × 200 grid with Δx = 1."""

    kappa: float = 0.3
    M0: float = 317.9
    sigma_s: float = 1e6
    sigma_l: float = 1.19
    L: float = 6.25
    L_eta: float = 0.001
    B: float = 2.4
    eps_s: float = -13.8
    eps_l: float = 2.631
    A: float = 1.0
    u_l: float = 0.0695
    u_s: float = 13.8
    nF_RT: float = 38.69
    d_v: float = 5.5
    f_2: float = 0.0074
    c_ratio: float = 14.89
    noise: float = 0.04
    noise_cell: float = 1.0

    @property
    def interface_width(self) -> float:
        """ε of the stationary profile ξ = (1 − tanh(x/ε))/2 of L B g' = L κ ξ'': ε = √(2κ/B)."""
        return float(np.sqrt(2 * self.kappa / self.B))


def interpolation(xi):
    """h(ξ) = ξ³(6ξ² − 15ξ + 10): 0 in the electrolyte, 1 in the metal, h' = 0 at both."""
    return xi**3 * (6 * xi**2 - 15 * xi + 10)


def conductivity(xi, p: HongViswanathan2018):
    """σ(ξ) = σ_s h(ξ) + σ_l (1 − h(ξ))."""
    h = interpolation(xi)
    return p.sigma_s * h + p.sigma_l * (1 - h)


def with_parameters(params: HongViswanathan2018, **changes) -> HongViswanathan2018:
    """A copy with some parameters changed (e.g. ``L_eta=0`` for the bare Allen–Cahn part)."""
    return replace(params, **changes)


def equilibrium_profile(x, x0: float, p: HongViswanathan2018, width: float | None = None):
    """ξ(x) = (1 − tanh((x − x0)/ε))/2, the stationary planar interface of the Allen–Cahn part
    (κ ξ'' = B g'(ξ) with ξ → 1, 0 at ∓∞); ``width`` overrides ε (a perturbed start)."""
    eps = p.interface_width if width is None else width
    return 0.5 * (1.0 - np.tanh((np.asarray(x) - x0) / eps))


@dataclass
class PhaseFieldProblem:
    u: dolfinx.fem.Function  #: (w, ξ, φ) in one blocked P1 space
    u_old: dolfinx.fem.Function
    dt: dolfinx.fem.Constant
    noise: dolfinx.fem.Function  #: DG0 noise of the current step
    residual: ufl.Form
    jacobian: ufl.Form
    bcs: list
    params: HongViswanathan2018
    applied: float
    midpoints: np.ndarray  #: cell midpoints (x, y) relative to the lower-left corner, for the noise
    noise_dofs: np.ndarray  #: the DG0 DOF of each of those cells
    seed: int
    height: float  #: extent of the domain normal to the growth direction (1 in 1-D)
    length: float  #: L_x
    content: dolfinx.fem.Form  #: ∫ c dx, the ion content (metal and electrolyte)
    deposit: dolfinx.fem.Form  #: ∫ ξ dx, the metal
    currents: dict  #: ∮ σ ∇φ·n and ∮ (D ∇w + D_N ∇φ)·n on the two faces, as consistent fluxes
    tip_edges: tuple  #: per mesh edge: its two ξ DOFs in ``u`` and the x of its two vertices


def phase_field_problem(
    mesh: dolfinx.mesh.Mesh,
    params: HongViswanathan2018,
    applied_potential: float,
    front: float,
    seed: int = 0,
    quadrature_degree: int = 4,
    initial_width: float | None = None,
) -> PhaseFieldProblem:
    """The problem on [0, L_x] (× [0, L_y]) with the electrode at x = 0 and the initial planar
    interface at x = ``front`` (the equilibrium profile, w = 0, and φ of that interface carrying
    no current yet; the published input starts from φ = φ_applied ξ).  ``quadrature_degree`` is
    fixed: the estimated degree of the exponentials and quintics would be > 20 and make assembly
    ~10× slower for no accuracy gain."""
    p = params
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))
    u, u_old = dolfinx.fem.Function(W, name="w_xi_phi"), dolfinx.fem.Function(W)
    q, zeta, psi = ufl.split(ufl.TestFunction(W))
    w, xi, phi = ufl.split(u)
    w0, xi0 = u_old[0], u_old[1]
    dt = dolfinx.fem.Constant(mesh, 0.01)
    noise = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("DG", 0)), name="noise")
    h = interpolation(xi)
    dh = 30 * xi**2 * (1 - xi) ** 2
    dg = 2 * xi * (1 - xi) * (1 - 2 * xi)

    def concentration(eps, ww):  # c = −∂ω/∂w and ∂c/∂w for ω = u − A ln(1 + exp((w − ε)/A))
        e = ufl.exp((ww - eps) / p.A)
        return e / (1 + e), e / (1 + e) ** 2 / p.A

    c_l, dc_l = concentration(p.eps_l, w)
    c_s, dc_s = concentration(p.eps_s, w)
    D = p.M0 * c_l * (1 - h) ** 2
    D_N = p.nF_RT * D
    h0 = interpolation(xi0)
    c_l0, _ = concentration(p.eps_l, w0)
    c_s0, _ = concentration(p.eps_s, w0)
    content = (1 - h) * c_l + h * p.d_v * c_s
    content_old = (1 - h0) * c_l0 + h0 * p.d_v * c_s0
    G = p.L_eta * (ufl.exp(p.nF_RT * phi / 2) - p.c_ratio * c_l * (1 - h) * ufl.exp(-p.nF_RT * phi / 2)) * dh
    sigma = conductivity(xi, p)
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": quadrature_degree})
    ion_flux = D * ufl.grad(w) + D_N * ufl.grad(phi)
    F = (
        (content - content_old) / dt * q
        + ufl.inner(ion_flux, ufl.grad(q))
        + (xi - xi0) / dt * zeta
        + p.L * p.B * dg * zeta
        + p.L * p.kappa * ufl.inner(ufl.grad(xi), ufl.grad(zeta))
        + G * zeta
        - noise * zeta
        + sigma * ufl.inner(ufl.grad(phi), ufl.grad(psi))
        + p.f_2 * (xi - xi0) / dt * psi
    ) * dx
    J = ufl.derivative(F, u, ufl.TrialFunction(W))

    comm = mesh.comm
    x = mesh.geometry.x
    lo = comm.allreduce(float(x[:, 0].min(initial=np.inf)), op=MPI.MIN)
    hi = comm.allreduce(float(x[:, 0].max(initial=-np.inf)), op=MPI.MAX)
    if abs(lo) > 1e-12 * max(1.0, hi):
        raise ValueError(f"the phase-field domain must start at x = 0 (the electrode); it starts at {lo}")
    height = 1.0
    if mesh.geometry.dim > 1 and mesh.topology.dim > 1:
        y_lo = comm.allreduce(float(x[:, 1].min(initial=np.inf)), op=MPI.MIN)
        y_hi = comm.allreduce(float(x[:, 1].max(initial=-np.inf)), op=MPI.MAX)
        height = y_hi - y_lo
    fdim = mesh.topology.dim - 1
    tol = 1e-10 * hi
    left = dolfinx.mesh.locate_entities_boundary(mesh, fdim, lambda x: np.abs(x[0]) < tol)
    right = dolfinx.mesh.locate_entities_boundary(mesh, fdim, lambda x: np.abs(x[0] - hi) < tol)
    # Face currents as the residual of their equation tested with the face's P1 indicator (the
    # "consistent" or reaction flux): ∫ (σ∇φ·∇ψ_b + f_2 ξ̇ ψ_b) dx = ∮ σ∇φ·n ψ_b ds, and likewise for
    # the ions.  Unlike ∇φ read on the face it is exact for the discrete solution, so the
    # balances below hold to the solver tolerance; the face gradient is only first-order
    # accurate where diffusion and migration nearly cancel (3.5 % at the reservoir at φ = −0.25).
    P1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    indicators = {}
    for name, where in (("electrode", left), ("reservoir", right)):
        ind = dolfinx.fem.Function(P1)
        ind.x.array[dolfinx.fem.locate_dofs_topological(P1, fdim, where)] = 1.0
        ind.x.scatter_forward()
        indicators[name] = ind

    def charge_residual(b):
        return (sigma * ufl.inner(ufl.grad(phi), ufl.grad(b)) + p.f_2 * (xi - xi0) / dt * b) * dx

    def ion_residual(b):
        return ((content - content_old) / dt * b + ufl.inner(ion_flux, ufl.grad(b))) * dx

    currents = {
        "charge_electrode": dolfinx.fem.form(charge_residual(indicators["electrode"])),
        "charge_reservoir": dolfinx.fem.form(charge_residual(indicators["reservoir"])),
        "ion_reservoir": dolfinx.fem.form(ion_residual(indicators["reservoir"])),
    }
    content = dolfinx.fem.form(content * dx)
    deposit = dolfinx.fem.form(xi * dx)

    bcs = []
    for comp, where, value in (
        (1, left, 1.0),
        (2, left, applied_potential),
        (0, right, 0.0),
        (1, right, 0.0),
        (2, right, 0.0),
    ):
        Vc, _ = W.sub(comp).collapse()
        dofs = dolfinx.fem.locate_dofs_topological((W.sub(comp), Vc), fdim, where)
        value_fn = dolfinx.fem.Function(Vc)
        value_fn.x.array[:] = value
        bcs.append(dolfinx.fem.dirichletbc(value_fn, dofs, W.sub(comp)))
    u.sub(1).interpolate(lambda x: equilibrium_profile(x[0], front, p, initial_width))
    u.x.scatter_forward()
    u.sub(2).interpolate(_initial_potential(u, p, applied_potential, left, right, fdim))
    u.x.scatter_forward()
    u_old.x.array[:] = u.x.array
    tdim = mesh.topology.dim
    num_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cells = np.arange(num_cells, dtype=np.int32)
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)[:, : max(1, min(2, tdim))].copy()
    midpoints[:, 0] -= lo
    if tdim > 1:
        midpoints[:, 1] -= y_lo
    noise_dofs = noise.function_space.dofmap.list[cells, 0]
    # the mesh edges as pairs of ξ DOFs (indices into u) and the x of their two vertices (P1 on
    # a linear mesh: vertex, DOF and geometry node correspond through the cell closures)
    mesh.topology.create_connectivity(1, 0)
    edges = mesh.topology.connectivity(1, 0).array.reshape(-1, 2)
    c2v = mesh.topology.connectivity(tdim, 0).array.reshape(num_cells, -1)
    vertex_dof = np.empty(
        mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts, np.int64
    )
    vertex_dof[c2v.ravel()] = W.sub(1).dofmap.list[:num_cells].ravel()
    vertex_x = np.empty(len(vertex_dof))
    vertex_x[c2v.ravel()] = mesh.geometry.x[mesh.geometry.dofmaps[0][:num_cells].ravel(), 0]
    tip_edges = (vertex_dof[edges], vertex_x[edges])
    return PhaseFieldProblem(
        u,
        u_old,
        dt,
        noise,
        F,
        J,
        bcs,
        p,
        applied_potential,
        midpoints,
        noise_dofs,
        seed,
        height,
        hi,
        content,
        deposit,
        currents,
        tip_edges,
    )


def _initial_potential(u, p, applied, left, right, fdim) -> dolfinx.fem.Function:
    """φ of the initial interface with no deposition yet: ∇·(σ(ξ)∇φ) = 0, φ = φ_applied at the
    electrode, 0 at the reservoir.  (The published start, φ = φ_applied ξ, is far from any
    solution in the metal, where σ_s = 1e6: the first Newton residual would be 1e5 and a
    relative tolerance would leave the ion rows unconverged.)"""
    V, _ = u.function_space.sub(2).collapse()
    sigma = conductivity(u[1], p)
    trial, test = ufl.TrialFunction(V), ufl.TestFunction(V)
    zero = dolfinx.fem.Constant(V.mesh, 0.0)
    bcs = [
        dolfinx.fem.dirichletbc(
            dolfinx.fem.Constant(V.mesh, value), dolfinx.fem.locate_dofs_topological(V, fdim, facets), V
        )
        for value, facets in ((applied, left), (0.0, right))
    ]
    problem = dolfinx.fem.petsc.LinearProblem(
        sigma * ufl.inner(ufl.grad(trial), ufl.grad(test)) * ufl.dx,
        zero * test * ufl.dx,
        bcs=bcs,
        petsc_options={"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"},
        petsc_options_prefix=f"dfem_pf_init{next(_prefix)}_",
    )
    return problem.solve()


def draw_noise(problem: PhaseFieldProblem, step: int) -> None:
    """Uniform noise in [−a_n, a_n], one value per square of side ``noise_cell`` (the published
    grid spacing, so the noise does not weaken as the mesh is refined), a function of (seed,
    step, position) only: every partition and every mesh of the domain sees the same noise."""
    a = problem.params.noise
    if a == 0.0:
        problem.noise.x.array[:] = 0.0
        return
    size = problem.params.noise_cell
    shape = (int(np.ceil(problem.length / size)) + 1, int(np.ceil(problem.height / size)) + 1)
    values = np.random.default_rng([problem.seed, step]).random(shape)
    idx = np.floor(problem.midpoints / size).astype(np.int64)
    iy = idx[:, 1] if idx.shape[1] > 1 else np.zeros(len(idx), dtype=np.int64)
    problem.noise.x.array[problem.noise_dofs] = a * (
        2.0 * values[np.clip(idx[:, 0], 0, shape[0] - 1), np.clip(iy, 0, shape[1] - 1)] - 1.0
    )


def _sum(comm, form) -> float:
    return comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


def order_parameter(problem: PhaseFieldProblem) -> dolfinx.fem.Function:
    """ξ as a scalar P1 function (for output and the tip position)."""
    V, _ = problem.u.function_space.sub(1).collapse()
    xi = dolfinx.fem.Function(V, name="order_parameter")
    xi.interpolate(problem.u.sub(1))
    return xi


def tip_position(problem: PhaseFieldProblem) -> float:
    """The largest x at which ξ = 1/2: along every mesh edge on which ξ − 1/2 changes sign, the
    crossing by linear interpolation (exact for P1); the furthest point of the deposit."""
    dofs, xs = problem.tip_edges
    f = problem.u.x.array[dofs] - 0.5
    cross = (f[:, 0] * f[:, 1] <= 0.0) & (f[:, 0] != f[:, 1])
    s = f[cross, 0] / (f[cross, 0] - f[cross, 1])
    local = float(np.max(xs[cross, 0] + s * (xs[cross, 1] - xs[cross, 0]), initial=-np.inf))
    return problem.u.function_space.mesh.comm.allreduce(local, op=MPI.MAX)


@dataclass
class PhaseFieldHistory:
    """Per accepted step: time, step size, Newton iterations, deposit thickness ∫ξ dx / L_y,
    tip position, the charge currents through the electrode and reservoir faces (∮ σ ∇φ·n ds / L_y,
    consistent fluxes), the ion flux in from the reservoir, and the ion content ∫ c dx / L_y."""

    time: list = field(default_factory=list)
    dt: list = field(default_factory=list)
    newton: list = field(default_factory=list)
    deposit: list = field(default_factory=list)
    tip: list = field(default_factory=list)
    charge_electrode: list = field(default_factory=list)
    charge_reservoir: list = field(default_factory=list)
    ion_reservoir: list = field(default_factory=list)
    content: list = field(default_factory=list)
    rejected: int = 0

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.__dict__.items() if isinstance(v, list)}


def record(problem: PhaseFieldProblem, history: PhaseFieldHistory, t: float, dt: float, its: int) -> None:
    comm = problem.u.function_space.mesh.comm
    ly = problem.height
    history.time.append(t)
    history.dt.append(dt)
    history.newton.append(its)
    history.deposit.append(_sum(comm, problem.deposit) / ly)
    history.tip.append(tip_position(problem))
    for key, form in problem.currents.items():
        getattr(history, key).append(_sum(comm, form) / ly)
    history.content.append(_sum(comm, problem.content) / ly)


def run_phase_field(
    problem: PhaseFieldProblem,
    t_end: float,
    dt0: float = 1e-3,
    dt_max: float = 0.5,
    max_change: float = 0.05,
    stop: Callable[[PhaseFieldHistory], bool] | None = None,
    monitor: Callable[[float, int, PhaseFieldProblem], None] | None = None,
    history: PhaseFieldHistory | None = None,
    t_start: float = 0.0,
    step_start: int = 0,
) -> PhaseFieldHistory:
    """Backward Euler from ``t_start`` to ``t_end`` (or until ``stop(history)``), Newton with
    MUMPS (relative tolerance 1e-8; a line search that stalls after a 1e6-fold reduction, at the
    round-off floor of the 1e6 conductivity contrast, also counts).  Step control on the order
    parameter: a step whose largest nodal change of ξ exceeds 2 × ``max_change``, or whose Newton
    solve fails, is repeated with half the step; otherwise the next step is
    Δt · min(1.5, max_change / max|Δξ|), at most ``dt_max``.  Raises :class:`ConvergenceError`
    when the step falls below 1e-9."""
    mesh = problem.u.function_space.mesh
    comm = mesh.comm
    opts = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_rtol": 1e-8,
        "snes_atol": 1e-10,
        "snes_stol": 0.0,
        "snes_max_it": 25,
        "ksp_type": "preonly",
        "pc_type": "lu",
        "pc_factor_mat_solver_type": "mumps",
        "snes_error_if_not_converged": False,
    }

    def solver():
        return dolfinx.fem.petsc.NonlinearProblem(
            problem.residual,
            problem.u,
            J=problem.jacobian,
            bcs=problem.bcs,
            petsc_options=opts,
            petsc_options_prefix=f"dfem_pf{next(_prefix)}_",
        )

    nl = solver()
    if history is None:
        history = PhaseFieldHistory()
        record(problem, history, t_start, 0.0, 0)
    xi_dofs = problem.u.function_space.sub(1).dofmap.list.ravel()
    t, dt, step = t_start, dt0, step_start
    while t < t_end * (1 - 1e-12):
        dt = min(dt, t_end - t, dt_max)
        problem.dt.value = dt
        draw_noise(problem, step)
        try:
            nl.solver.setConvergenceHistory(reset=True)
            nl.solve()
            reason = nl.solver.getConvergedReason()
            norms = nl.solver.getConvergenceHistory()[0]
            if (
                reason == PETSc.SNES.ConvergedReason.DIVERGED_LINE_SEARCH
                and len(norms) > 1
                and norms[-1] <= ROUND_OFF * norms[0]
            ):
                reason = (
                    1  # the residual fell 1e6-fold and the line search stalled at round-off (σ_s/σ_l = 1e6)
                )
        except PETSc.Error:
            reason = -1
        finite = comm.allreduce(bool(np.all(np.isfinite(problem.u.x.array))), op=MPI.LAND)
        change = np.inf
        if reason > 0 and finite:
            local = np.abs(problem.u.x.array[xi_dofs] - problem.u_old.x.array[xi_dofs])
            change = comm.allreduce(float(local.max(initial=0.0)), op=MPI.MAX)
        if not (reason > 0 and finite) or change > 2 * max_change:
            problem.u.x.array[:] = problem.u_old.x.array
            if not (reason > 0 and finite):
                nl = solver()  # a failed factorisation can leave MUMPS unusable: start afresh
            history.rejected += 1
            dt /= 2
            if dt < 1e-9:
                raise ConvergenceError(
                    f"the phase-field step at t = {t:.6g} did not converge even with dt = {dt:.2e} "
                    f"(Newton reason {reason})",
                    [],
                )
            continue
        t += dt
        step += 1
        record(problem, history, t, dt, nl.solver.getIterationNumber())  # before uⁿ moves: the fluxes use ξ̇
        problem.u_old.x.array[:] = problem.u.x.array
        if monitor is not None:
            monitor(t, step, problem)
        if stop is not None and stop(history):
            break
        dt = dt * min(1.5, max_change / max(change, 1e-12))
    return history
