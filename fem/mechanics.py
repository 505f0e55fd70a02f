"""Linear elasticity of the solid electrolyte (small strain, isotropic; plane strain in 2D).

    −∇·σ(u) = 0 in Ω,   σ = λ tr(ε) I + 2μ ε,   ε = (∇u + ∇uᵀ)/2
    σ n = t̄ on traction boundaries,   u·n = 0 on roller (symmetry) boundaries

with λ = E ν / ((1 + ν)(1 − 2ν)), μ = E / (2(1 + ν)).  The interfacial normal stress
σ_nn = n·σ n on the anode gives the local pressure ΔP = −σ_nn (compression positive) of
the Butler–Volmer pressure factor (physics.md §2).  This module is the mechanics building
block of issue 6: it is verified against the Kirsch solution (tests/test_mechanics.py); the
coupling to the kinetics and cited elastic constants are not in it yet.
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI


@dataclass(frozen=True)
class ElasticConstants:
    """Young's modulus E [Pa] and Poisson's ratio ν [-] of an isotropic solid."""

    youngs_modulus: float
    poisson_ratio: float

    def __post_init__(self):
        if not self.youngs_modulus > 0 or not -1.0 < self.poisson_ratio < 0.5:
            raise ValueError(f"need E > 0 and -1 < nu < 0.5, got E = {self.youngs_modulus!r} Pa, "
                             f"nu = {self.poisson_ratio!r}")  # fmt: skip

    @property
    def lame(self) -> tuple[float, float]:
        """(λ, μ) [Pa]."""
        e, nu = self.youngs_modulus, self.poisson_ratio
        return e * nu / ((1 + nu) * (1 - 2 * nu)), e / (2 * (1 + nu))


def strain(u):
    return ufl.sym(ufl.grad(u))


def stress(u, constants: ElasticConstants):
    """σ(u) [Pa]; in 2D the plane-strain law (ε_zz = 0)."""
    lam, mu = constants.lame
    eps = strain(u)
    return lam * ufl.tr(eps) * ufl.Identity(len(u)) + 2 * mu * eps


def solve_elasticity(
    V: dolfinx.fem.FunctionSpace,
    facet_tags: dolfinx.mesh.MeshTags,
    constants: ElasticConstants,
    tractions: dict[int, ufl.core.expr.Expr],
    rollers: dict[int, int],
    pinned: list[tuple[int, np.ndarray]] = (),
) -> dolfinx.fem.Function:
    """Displacement u [m] on the vector space ``V``.

    ``tractions``: facet tag → traction vector t̄ = σ n [Pa] (UFL); ``rollers``: facet tag →
    the displacement component held at zero there (a symmetry plane normal to that axis);
    ``pinned``: (component, point) pairs fixing one displacement component at the node
    nearest the point, to remove a rigid translation the other conditions leave free (it
    does not change the stress).  Solved directly (MUMPS)."""
    mesh = V.mesh
    fdim = mesh.topology.dim - 1
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    a = ufl.inner(stress(u, constants), strain(v)) * ufl.dx
    zero = dolfinx.fem.Constant(mesh, np.zeros(mesh.geometry.dim))  # no body force
    L = sum((ufl.inner(t, v) * ds(tag) for tag, t in tractions.items()), ufl.inner(zero, v) * ufl.dx)
    bcs = []
    for tag, comp in rollers.items():
        Vc, _ = V.sub(comp).collapse()
        dofs = dolfinx.fem.locate_dofs_topological((V.sub(comp), Vc), fdim, facet_tags.find(tag))
        bcs.append(dolfinx.fem.dirichletbc(dolfinx.fem.Function(Vc), dofs, V.sub(comp)))
    for comp, point in pinned:
        bcs.append(_pin_nearest(V, comp, np.asarray(point, dtype=float)))
    uh = dolfinx.fem.Function(V, name="displacement")
    problem = dolfinx.fem.petsc.LinearProblem(
        a, L, u=uh, bcs=bcs, petsc_options_prefix="dfem_elasticity_",
        petsc_options={"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps",
                       "ksp_error_if_not_converged": True},
    )  # fmt: skip
    problem.solve()
    return uh


def _pin_nearest(V: dolfinx.fem.FunctionSpace, comp: int, point: np.ndarray) -> dolfinx.fem.DirichletBC:
    """u_comp = 0 at the one node (over all ranks) nearest ``point``."""
    Vc, to_parent = V.sub(comp).collapse()
    owned = Vc.dofmap.index_map.size_local
    coords = Vc.tabulate_dof_coordinates()[:owned]
    d = np.linalg.norm(coords - point[: coords.shape[1]], axis=1) if owned else np.array([np.inf])
    j = int(np.argmin(d))
    comm = V.mesh.comm
    best = comm.allreduce((float(d[j]), comm.rank), op=MPI.MIN)
    local = np.array([j] if comm.rank == best[1] and owned else [], dtype=np.int32)
    parent = np.asarray(to_parent[0] if isinstance(to_parent, list) else to_parent, dtype=np.int32)
    dofs = [parent[local], local]
    return dolfinx.fem.dirichletbc(dolfinx.fem.Function(Vc), dofs, V.sub(comp))
