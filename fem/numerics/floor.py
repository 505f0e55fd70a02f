"""The cost floor of a solve: one linear Poisson problem on the same mesh, written as
plain DOLFINx/PETSc code (no package machinery), solved with the same Krylov method,
preconditioner and tolerance as the Butler–Volmer solve.

    −∇·(σ ∇u) = 0 in Ω,   u = 0 on Γa,   σ ∂u/∂n = i_app on Γc,   σ ∂u/∂n = 0 elsewhere

This is the primary current distribution: the Butler–Volmer problem with infinitely
fast kinetics.  Our nonlinear solve needs at least one solve of an operator like this
one, so ``nonlinear seconds / floor seconds`` says how much the nonlinearity costs
(the performance target of docs/performance.md is at most 2.5).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from dendrite_fem.geometry import tags
from dendrite_fem.numerics.multigrid import attach_p_multigrid


@dataclass
class FloorTiming:
    """Wall times [s] (maximum over ranks) of the floor solve, JIT and matrix creation excluded."""

    assembly: float
    preconditioner_setup: float
    krylov: float
    iterations: int

    @property
    def seconds(self) -> float:
        return self.assembly + self.preconditioner_setup + self.krylov


def poisson_floor(
    V: dolfinx.fem.FunctionSpace,
    sigma: dolfinx.fem.Function,
    facet_tags: dolfinx.mesh.MeshTags,
    applied_current: float,
    ksp_options: dict,
) -> FloorTiming:
    """Solve the primary-distribution Poisson problem once and time its parts."""
    mesh = V.mesh
    comm = mesh.comm
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    i_app = dolfinx.fem.Constant(mesh, float(applied_current))
    a = dolfinx.fem.form(ufl.inner(sigma * ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = dolfinx.fem.form(i_app * v * ds(tags.COUNTER))
    anode = dolfinx.fem.locate_dofs_topological(V, mesh.topology.dim - 1, facet_tags.find(tags.ANODE))
    bcs = [dolfinx.fem.dirichletbc(0.0, anode, V)]
    A = dolfinx.fem.petsc.create_matrix(a)
    b = dolfinx.fem.petsc.create_vector(V)
    x = dolfinx.fem.petsc.create_vector(V)

    ksp = PETSc.KSP().create(comm)
    prefix = f"dfem_floor{id(ksp)}_"
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    for key, value in ksp_options.items():
        opts[prefix + key] = "" if value is None else value
    ksp.setFromOptions()
    attach_p_multigrid(ksp, V)  # the interpolation to P1, when the options ask for p-multigrid

    def timed(f) -> float:
        comm.Barrier()
        t0 = time.perf_counter()
        f()
        comm.Barrier()
        return time.perf_counter() - t0

    def assemble():
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, a, bcs=bcs)
        A.assemble()
        with b.localForm() as local:
            local.set(0.0)
        dolfinx.fem.petsc.assemble_vector(b, L)
        dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(b, bcs)

    try:
        t_asm = timed(assemble)
        ksp.setOperators(A)
        t_pc = timed(ksp.setUp)
        t_ksp = timed(lambda: ksp.solve(b, x))
        its = ksp.getIterationNumber()
        if ksp.getConvergedReason() < 0:
            raise RuntimeError(
                f"the Poisson floor solve did not converge (KSP reason {ksp.getConvergedReason()})"
            )
    finally:
        for key in ksp_options:
            opts.delValue(prefix + key)
        for obj in (ksp, A, b, x):
            obj.destroy()
    t_asm, t_pc, t_ksp = (comm.allreduce(t, op=MPI.MAX) for t in (t_asm, t_pc, t_ksp))
    return FloorTiming(t_asm, t_pc, t_ksp, its)
