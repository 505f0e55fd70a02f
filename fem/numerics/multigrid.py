"""Two-level p-multigrid for Lagrange spaces of degree k ≥ 2: the preconditioner of the
iterative solves (docs/performance.md, "p-multigrid").

Algebraic multigrid on a P2 matrix is expensive to set up: a P2 tetrahedron couples every
DOF with about 60 others, and GAMG's graph squaring and Galerkin products on that graph were
three quarters of a large Newton solve.  The P1 space on the same mesh is nested in Pk,
V₁ ⊂ V_k, so with the interpolation I: V₁ → V_k (each Pk node takes the P1 nodal values at
its reference point) the coarse operator

    A₁ = Iᵀ A_k I

is exactly the P1 matrix of the same bilinear form (the kinetic boundary term included), about
eight times smaller in 3D.  One V-cycle is: Chebyshev–Jacobi smoothing on A_k, the
restricted residual, one GAMG V-cycle on A₁, prolongation, smoothing again.  It is symmetric,
so CG stays CG.

I is the same reference-cell matrix on every cell (Lagrange nodes are point evaluations and
both spaces use the reference map of the cell), so it is built from the dofmaps in one
vectorised pass instead of DOLFINx's general ``interpolation_matrix``, which evaluates every
cell and took longer than the whole multigrid set-up.
"""

from __future__ import annotations

import dolfinx
import numpy as np
from petsc4py import PETSc

#: GAMG on P1 matrices: the fine level of a P1 solve, the coarse level of a P2 one.
#: Tuned on the 3D pore field (docs/performance.md): a threshold above 0.02 made the set-up
#: 2-14x slower; aggressive coarsening on two levels cut the P1 set-up by 17 % against one
#: level (as the coarse level of the P2 cycle the two are within 3 %).
GAMG_OPTIONS = {
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_threshold": 0.02,
    "pc_gamg_aggressive_coarsening": 2,
    "pc_gamg_agg_nsmooths": 1,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
}

#: the two-level Pk/P1 cycle (PCMG with a Galerkin coarse operator); the coarse solve is one
#: GAMG V-cycle with the options above, under the prefix ``mg_coarse_``
P_MULTIGRID_OPTIONS = {
    "pc_type": "mg",
    "pc_mg_levels": 2,
    "pc_mg_galerkin": "both",
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
    "mg_coarse_ksp_type": "preonly",
    **{f"mg_coarse_{key}": value for key, value in GAMG_OPTIONS.items()},
}


def uses_p_multigrid(V: dolfinx.fem.FunctionSpace) -> bool:
    """Whether the iterative solves on ``V`` use the p-multigrid cycle (scalar Lagrange, k ≥ 2)."""
    return V.dofmap.index_map_bs == 1 and V.ufl_element().embedded_superdegree >= 2


def lowest_order_interpolation(V: dolfinx.fem.FunctionSpace) -> PETSc.Mat:
    """The interpolation I: P1 → ``V`` on the same mesh (rows: DOFs of ``V``, columns: P1
    DOFs), kept on ``V`` for the next solves."""
    cached = getattr(V, "_dfem_p1_interpolation", None)
    if cached is not None:
        return cached
    mesh = V.mesh
    V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    # I_ij = (P1 basis j)(reference node i of V): the same for every cell
    local = V1.ufl_element().basix_element.tabulate(0, V.element.interpolation_points)[0, :, :, 0]
    local[np.abs(local) < 1e-12] = 0.0
    im, im1 = V.dofmap.index_map, V1.dofmap.index_map
    n = im.size_local
    # each owned row from any one cell around it (the last one written here): its cell and
    # its node in that cell
    cells = np.broadcast_to(np.arange(V.dofmap.list.shape[0])[:, None], V.dofmap.list.shape)
    node_of = np.empty(im.size_local + im.num_ghosts, dtype=np.int64)
    cell_of = np.empty_like(node_of)
    node_of[V.dofmap.list] = np.broadcast_to(np.arange(local.shape[0]), V.dofmap.list.shape)
    cell_of[V.dofmap.list] = cells
    node_of, cell_of = node_of[:n], cell_of[:n]
    nonzero = [np.flatnonzero(row) for row in local]
    counts = np.array([len(j) for j in nonzero])[node_of]
    indptr = np.zeros(n + 1, dtype=PETSc.IntType)
    np.cumsum(counts, out=indptr[1:])
    columns = np.empty(indptr[-1], dtype=np.int32)
    values = np.empty(indptr[-1], dtype=PETSc.ScalarType)
    for node, j in enumerate(nonzero):
        rows = np.flatnonzero(node_of == node)
        at = indptr[rows][:, None] + np.arange(len(j))
        columns[at] = V1.dofmap.list[cell_of[rows][:, None], j]
        values[at] = local[node, j]
    I = PETSc.Mat().createAIJ(
        ((n, im.size_global), (im1.size_local, im1.size_global)),
        csr=(indptr, im1.local_to_global(columns).astype(PETSc.IntType), values),
        comm=mesh.comm,
    )
    I.assemble()
    V._dfem_p1_interpolation = I
    return I


def attach_p_multigrid(ksp: PETSc.KSP, V: dolfinx.fem.FunctionSpace) -> None:
    """Give the PCMG of ``ksp`` (options :data:`P_MULTIGRID_OPTIONS`, already read) its
    interpolation from P1 to ``V``; PETSc forms the coarse operator at set-up."""
    pc = ksp.getPC()
    if pc.getType() != PETSc.PC.Type.MG:
        return
    pc.setMGInterpolation(1, lowest_order_interpolation(V))
