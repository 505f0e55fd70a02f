"""Mixed-conducting interphase (MCI): an electronic potential in the interphase and plating
inside its volume (issue 6; seed 003 blames NPS's failure on such an interphase).

Unknowns φ (ionic, in the SE and the interphase Ω_I) and φ_e (electronic, in Ω_I only):

    −∇·(σ ∇φ)     = −s     in Ω        i   = −σ ∇φ       (s = 0 outside Ω_I)
    −∇·(σ_e ∇φ_e) = +s     in Ω_I      i_e = −σ_e ∇φ_e
    s = −a_v i_ct(η_v),    η_v = φ_e − φ                       [A/m³], plating positive

with i_ct the Butler–Volmer law of dendrite_fem.physics.kinetics and a_v [1/m] the reacting area per volume of
the interphase.  The interphase touches the metal on Γa, so φ_e = 0 there (φ_metal = 0); the SE
blocks electrons, so σ_e ∇φ_e·n = 0 on the rest of ∂Ω_I.  Plating at the metal surface Γa and
the counter side are as in dendrite_fem.physics.conduction.  Weak form, for all (v, w):

    F = ∫_Ω σ ∇φ·∇v − ∫_Γc i_app v − ∫_Γa i_ct(−φ) v + ∫_ΩI s v
      + ∫_ΩI σ_e ∇φ_e·∇w − ∫_ΩI s w  = 0.

Testing with v = 1 gives the charge balance ∫_Γa i_dep ds + ∫_ΩI s dx = i_app |Γc|; the share of
the current plated inside the interphase is ∫_ΩI s dx over that total.  (φ, φ_e) live in one
blocked Lagrange space on the whole mesh; the φ_e degrees of freedom off the closure of Ω_I are
held at 0.  Newton with a direct solver (MUMPS): the Jacobian couples the two fields and is not
symmetric positive definite, and MCI cases are 2D-sized.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from dendrite_fem.geometry import tags
from dendrite_fem.numerics.solver import ConvergenceError
from dendrite_fem.physics.kinetics import Kinetics, butler_volmer_current
from dendrite_fem.physics.operation import Operation

_prefix = itertools.count()


@dataclass
class MixedInterphaseProblem:
    """Forms and unknowns of the MCI problem; ``solution`` holds (φ, φ_e)."""

    solution: dolfinx.fem.Function
    residual: ufl.Form
    jacobian: ufl.Form
    bcs: list
    load: dolfinx.fem.Constant
    operation: Operation
    volumetric_plating: ufl.core.expr.Expr  #: s [A/m³] (valid in Ω_I)
    dx_interphase: ufl.Measure
    ds_anode: ufl.Measure


def interphase_dofs_mask(V0: dolfinx.fem.FunctionSpace, cell_tags: dolfinx.mesh.MeshTags) -> np.ndarray:
    """Boolean over the local DOFs of ``V0``: True on the closure of the interphase cells."""
    mark = dolfinx.fem.Function(V0)
    cells = cell_tags.find(tags.INTERLAYER)
    mark.x.array[np.unique(V0.dofmap.list[cells].ravel())] = 1.0
    mark.x.scatter_reverse(dolfinx.la.InsertMode.add)
    mark.x.scatter_forward()
    return mark.x.array > 0


def mixed_interphase_problem(
    mesh: dolfinx.mesh.Mesh,
    degree: int,
    sigma: dolfinx.fem.Function,
    electronic_conductivity: float,
    specific_area: float,
    cell_tags: dolfinx.mesh.MeshTags,
    facet_tags: dolfinx.mesh.MeshTags,
    kinetics: Kinetics,
    operation: Operation,
) -> MixedInterphaseProblem:
    """The MCI problem on the case mesh; Ω_I is the interlayer subdomain (tag 2)."""
    if not (electronic_conductivity > 0 and specific_area > 0):
        raise ValueError(
            "a mixed-conducting interphase needs a positive electronic conductivity and specific area"
        )
    W = dolfinx.fem.functionspace(mesh, ("Lagrange", degree, (2,)))
    u = dolfinx.fem.Function(W, name="potentials")
    test = ufl.TestFunction(W)
    phi, phi_e, v, w = u[0], u[1], test[0], test[1]
    dx = ufl.Measure("dx", domain=mesh, subdomain_data=cell_tags)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    quad = {"quadrature_degree": 2 * degree + 2}
    dx_i = dx(tags.INTERLAYER, metadata=quad)
    ds_a = ds(tags.ANODE, metadata=quad)
    c = {
        k: dolfinx.fem.Constant(mesh, val)
        for k, val in {
            "i0": kinetics.effective_exchange_current,
            "aaf": kinetics.alpha_a * kinetics.f,
            "acf": kinetics.alpha_c * kinetics.f,
            "sigma_e": electronic_conductivity,
            "a_v": specific_area,
        }.items()
    }
    i_surface = butler_volmer_current(-phi, c["i0"], c["aaf"], c["acf"], exp=ufl.exp)
    s = -c["a_v"] * butler_volmer_current(phi_e - phi, c["i0"], c["aaf"], c["acf"], exp=ufl.exp)
    load = dolfinx.fem.Constant(mesh, float(operation.value))
    F = (
        ufl.inner(sigma * ufl.grad(phi), ufl.grad(v)) * ufl.dx
        - i_surface * v * ds_a
        + s * v * dx_i
        + ufl.inner(c["sigma_e"] * ufl.grad(phi_e), ufl.grad(w)) * dx(tags.INTERLAYER)
        - s * w * dx_i
    )
    fdim = mesh.topology.dim - 1
    V0, to_w = W.sub(1).collapse()
    outside = np.flatnonzero(~interphase_dofs_mask(V0, cell_tags)).astype(np.int32)
    anode = dolfinx.fem.locate_dofs_topological((W.sub(1), V0), fdim, facet_tags.find(tags.ANODE))
    to_w = np.asarray(to_w[0] if isinstance(to_w, list) else to_w, dtype=np.int32).ravel()
    bcs = [
        dolfinx.fem.dirichletbc(dolfinx.fem.Function(V0), anode, W.sub(1)),
        dolfinx.fem.dirichletbc(dolfinx.fem.Function(V0), [to_w[outside], outside], W.sub(1)),
    ]
    counter_residual, _, counter_bcs = operation.counter_terms(load, v, ds, W, facet_tags)
    if counter_residual is not None:
        F = F + counter_residual
    bcs += counter_bcs
    J = ufl.derivative(F, u, ufl.TrialFunction(W))
    return MixedInterphaseProblem(u, F, J, bcs, load, operation, s, dx_i, ds_a)


def solve_mixed_interphase(
    problem: MixedInterphaseProblem, rtol: float = 1e-10, max_iterations: int = 30
) -> int:
    """Newton (MUMPS) from φ = φ_e = 0; returns the Newton steps.  Convergence is judged on
    the residual norm against that of the applied current spread over the anode, as for the
    single-potential problem; failure raises ConvergenceError."""
    u = problem.solution
    mesh = u.function_space.mesh
    comm = mesh.comm
    v = ufl.TestFunction(u.function_space)[0]
    area = comm.allreduce(
        dolfinx.fem.assemble_scalar(dolfinx.fem.form(dolfinx.fem.Constant(mesh, 1.0) * problem.ds_anode))
    )
    scale = dolfinx.fem.petsc.assemble_vector(
        dolfinx.fem.form(
            dolfinx.fem.Constant(mesh, abs(problem.operation.value) / area) * v * problem.ds_anode
        )
    )
    scale.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    # three orders below the single-potential test: Newton from zero reaches it in one more step
    # (the Jacobian is exact), and the charge balance then holds to round-off
    atol = 1e-3 * rtol * scale.norm()
    scale.destroy()
    opts = {
        "snes_type": "newtonls",
        "snes_linesearch_type": "bt",
        "snes_atol": atol,
        "snes_rtol": 0.0,
        "snes_stol": 1e-14,
        "snes_max_it": max_iterations,
        "ksp_type": "preonly",
        "pc_type": "lu",
        "pc_factor_mat_solver_type": "mumps",
        "snes_error_if_not_converged": False,
    }
    nonlinear = dolfinx.fem.petsc.NonlinearProblem(
        problem.residual,
        u,
        J=problem.jacobian,
        bcs=problem.bcs,
        petsc_options=opts,
        petsc_options_prefix=f"dfem_mci{next(_prefix)}_",
    )
    history, steps = [], 0
    for fraction in (1.0, 0.25, 0.5, 0.75, 1.0):  # plain Newton first, then a short load ramp
        problem.load.value = fraction * problem.operation.value
        if fraction == 0.25:
            u.x.array[:] = 0.0
        try:
            nonlinear.solve()
        except PETSc.Error as exc:
            history.append(f"load {fraction}: PETSc error {exc}")
            continue
        snes = nonlinear.solver
        steps += snes.getIterationNumber()
        ok = snes.getConvergedReason() > 0 and comm.allreduce(
            bool(np.all(np.isfinite(u.x.array))), op=MPI.LAND
        )
        history.append(
            f"load {fraction}: SNES reason {snes.getConvergedReason()}, {snes.getIterationNumber()} steps"
        )
        if ok and fraction == 1.0:
            return steps
        if not ok and fraction != 1.0:
            break
    raise ConvergenceError(
        "Newton did not converge for the mixed-conducting interphase; check its "
        "electronic conductivity and specific area, or refine the interphase mesh",
        history,
    )


def interphase_plating_current(problem: MixedInterphaseProblem) -> float:
    """∫_ΩI s dx [A, per m of depth in 2D]: the current plated inside the interphase."""
    mesh = problem.solution.function_space.mesh
    return mesh.comm.allreduce(
        dolfinx.fem.assemble_scalar(dolfinx.fem.form(problem.volumetric_plating * problem.dx_interphase)),
        op=MPI.SUM,
    )


def interphase_plating_field(
    problem: MixedInterphaseProblem, cell_tags: dolfinx.mesh.MeshTags
) -> dolfinx.fem.Function:
    """s [A/m³] per cell (DG0, at the cell midpoints), 0 outside the interphase: for ParaView."""
    mesh = problem.solution.function_space.mesh
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    field = dolfinx.fem.Function(Q, name="interphase_plating_rate")
    field.interpolate(dolfinx.fem.Expression(problem.volumetric_plating, Q.element.interpolation_points))
    inside = np.zeros(field.x.array.size, dtype=bool)
    inside[Q.dofmap.list[cell_tags.find(tags.INTERLAYER)].ravel()] = True
    field.x.array[~inside] = 0.0
    return field
