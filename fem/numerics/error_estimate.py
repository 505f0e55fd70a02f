"""A posteriori error estimate of the steady problem (docs/model.md §3, "Error control").

An estimate of the energy error ‖σ^½ ∇(φ − φ_h)‖ per cell K from two parts:

    η_K² = ∫_K σ⁻¹ |G_h − σ∇φ_h|² dx + Σ_{F ⊂ ∂K ∩ ∂Ω} h_F/σ ‖R_F‖²_F.

The first is the flux-recovery estimator of Zienkiewicz and Zhu (Int. J. Numer. Methods Eng.
24, 337 (1987)): G_h is the L² projection of the discontinuous flux σ∇φ_h onto continuous
vector fields of the same degree, and the size of the difference measures how far the discrete
flux is from being continuous, i.e. the interior residual and the jumps across faces of the
residual estimator (Babuška and Rheinboldt, SIAM J. Numer. Anal. 15, 736 (1978)), without
integrals over interior faces, which a mesh distributed without shared-facet ghosts cannot
assemble.  The second is the residual estimator's boundary part, with the conditions of
docs/model.md §2 (n the SE's outward normal):

    R_F = i_ct(η) − σ∇φ_h·n on Γa,   i_app − σ∇φ_h·n on Γc (galvanostatic; none when φ is
    imposed there),   −σ∇φ_h·n on pore walls and sides,

h_F the longest edge of the cell.  The adaptive loop (:mod:`dendrite_fem.adaptivity`) uses η_K to
rank cells and judges convergence on the reported numbers themselves, not on η's absolute value.
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
from dendrite_fem.physics.conduction import InterfaceProblem


@dataclass
class ErrorEstimate:
    """η_K per owned cell, in the unit of the energy norm ‖σ^½ ∇e‖ (W^½ per m^((3-d)/2))."""

    indicators: np.ndarray
    comm: MPI.Comm

    @property
    def total(self) -> float:
        """η = (Σ η_K²)^½ over all ranks."""
        return float(np.sqrt(self.comm.allreduce(float(np.sum(self.indicators**2)), op=MPI.SUM)))


_prefix_counter = itertools.count()  # a PETSc options prefix per projection


def cell_sizes(mesh: dolfinx.mesh.Mesh, Q: dolfinx.fem.FunctionSpace) -> dolfinx.fem.Function:
    """h_K [m], the longest edge between the vertices of each cell (owned and ghost), as a DG0
    function on ``Q`` (UFL's CellDiameter is not defined for curved cells)."""
    tdim = mesh.topology.dim
    im = mesh.topology.index_map(tdim)
    n = im.size_local + im.num_ghosts
    x = mesh.geometry.x[mesh.geometry.dofmaps[0][:n, : tdim + 1]]  # the first d + 1 nodes: the vertices
    pairs = [(a, b) for a in range(tdim + 1) for b in range(a + 1, tdim + 1)]
    h = dolfinx.fem.Function(Q, name="cell_size")
    h.x.array[Q.dofmap.list[:n, 0]] = np.max(
        [np.linalg.norm(x[:, a] - x[:, b], axis=1) for a, b in pairs], axis=0
    )
    return h


def recovered_flux(problem: InterfaceProblem) -> dolfinx.fem.Function:
    """G_h: the L² projection of σ∇φ_h [A/m²] onto the continuous vector Lagrange fields of φ's
    degree (a mass-matrix solve, CG + Jacobi to a relative 1e-10)."""
    V = problem.phi.function_space
    mesh = V.mesh
    W = dolfinx.fem.functionspace(
        mesh, ("Lagrange", V.ufl_element().embedded_superdegree, (mesh.geometry.dim,))
    )
    u, v = ufl.TrialFunction(W), ufl.TestFunction(W)
    projection = dolfinx.fem.petsc.LinearProblem(
        ufl.inner(u, v) * ufl.dx,
        ufl.inner(problem.sigma * ufl.grad(problem.phi), v) * ufl.dx,
        petsc_options={
            "ksp_type": "cg",
            "pc_type": "jacobi",
            "ksp_rtol": 1e-10,
            "ksp_error_if_not_converged": True,
        },
        petsc_options_prefix=f"dfem_flux{next(_prefix_counter)}_",
    )
    G = projection.solve()
    G.x.scatter_forward()
    return G


def residual_estimate(problem: InterfaceProblem) -> ErrorEstimate:
    """η_K of the solved ``problem`` (its φ converged), per owned cell."""
    V = problem.phi.function_space
    mesh = V.mesh
    phi, sigma = problem.phi, problem.sigma
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    w = ufl.TestFunction(Q)
    h = cell_sizes(mesh, Q)
    n = ufl.FacetNormal(mesh)
    flux = sigma * ufl.grad(phi)
    normal_flux = ufl.dot(flux, n)
    ds = problem.ds
    recovered = recovered_flux(problem)
    form = (1.0 / sigma) * ufl.inner(recovered - flux, recovered - flux) * w * ufl.dx
    anode = problem.charge_transfer_current - normal_flux
    form += (h / sigma) * anode**2 * w * problem.ds_anode
    if not problem.bcs:  # galvanostatic: the current is imposed on Γc, φ is not
        form += (h / sigma) * (problem.load - normal_flux) ** 2 * w * ds(tags.COUNTER)
    form += (h / sigma) * normal_flux**2 * w * (ds(tags.PORE) + ds(tags.SIDE))
    squared = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(form))
    squared.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    owned = mesh.topology.index_map(mesh.topology.dim).size_local
    values = squared.array[Q.dofmap.list[:owned, 0]]  # DG0: one DOF per cell
    squared.destroy()
    return ErrorEstimate(np.sqrt(np.maximum(values, 0.0)), mesh.comm)
