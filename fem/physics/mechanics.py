"""Linear elasticity of the solid electrolyte (small strain, isotropic; plane strain in 2D).

    −∇·σ(u) = 0 in Ω,   σ = λ tr(ε) I + 2μ ε,   ε = (∇u + ∇uᵀ)/2
    σ n = t̄ on traction boundaries,   u·n = 0 on roller (symmetry) boundaries

with λ = E ν / ((1 + ν)(1 − 2ν)), μ = E / (2(1 + ν)).  The interfacial normal stress
σ_nn = n·σ n on the anode gives the local pressure ΔP = −σ_nn (compression positive) of
the Butler–Volmer pressure factor (docs/model.md §2; dendrite_fem.physics.interface_pressure,
dendrite_fem.physics.electromechanics).
Verified against the Kirsch solution and Hooke's law (tests/test_mechanics.py).

The cell's mechanical boundary conditions (:func:`mechanical_facet_tags`): the flat part of
the SE/anode interface rests on the anode (a roller, u_n = 0, the reaction is the contact
pressure); the walls of each metal-filled defect carry the pressure of the metal in it; the
counter side carries the stack pressure; sides are symmetry planes (rollers); pore walls are
free.
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from dendrite_fem.geometry import tags


@dataclass(frozen=True)
class ElasticConstants:
    """Young's modulus E [Pa] and Poisson's ratio ν [-] of an isotropic solid."""

    youngs_modulus: float
    poisson_ratio: float

    def __post_init__(self):
        if not self.youngs_modulus > 0 or not -1.0 < self.poisson_ratio < 0.5:
            raise ValueError(
                f"need E > 0 and -1 < nu < 0.5, got E = {self.youngs_modulus!r} Pa, "
                f"nu = {self.poisson_ratio!r}"
            )

    @property
    def lame(self) -> tuple[float, float]:
        """(λ, μ) [Pa]."""
        e, nu = self.youngs_modulus, self.poisson_ratio
        return e * nu / ((1 + nu) * (1 - 2 * nu)), e / (2 * (1 + nu))


#: facet tags of the mechanics: the flat anode (support) and the walls of protrusion i
ANODE_SUPPORT = 101
SIDE_NORMAL_BASE = 110  #: + k: a side whose normal is the axis k
DEFECT_WALL_BASE = 200


def mechanical_facet_tags(
    mesh: dolfinx.mesh.Mesh, facet_tags: dolfinx.mesh.MeshTags, protrusion_centres: list[np.ndarray]
) -> dolfinx.mesh.MeshTags:
    """Copy of ``facet_tags`` with the anode split: facets lying in the interface plane
    (coordinate d−1 = 0) become :data:`ANODE_SUPPORT`; the others belong to the wall of the
    nearest protrusion i (centres on the plane) and become DEFECT_WALL_BASE + i.  Sides
    become SIDE_NORMAL_BASE + k by the axis k of their normal."""
    fdim = mesh.topology.dim - 1
    up = mesh.topology.dim - 1
    anode = facet_tags.find(tags.ANODE)
    mid = dolfinx.mesh.compute_midpoints(mesh, fdim, anode)
    extent = mesh.comm.allreduce(
        float(np.ptp(mesh.geometry.x[:, 0])) if mesh.geometry.x.size else 0.0, op=MPI.MAX
    )
    on_plane = np.abs(mid[:, up]) < 1e-9 * extent
    values = np.full(len(anode), ANODE_SUPPORT, dtype=np.int32)
    walls = ~on_plane
    if np.any(walls):
        if not protrusion_centres:
            raise ValueError(
                "the anode has facets off the interface plane but the window has no protrusion; "
                "the mechanics supports flat anodes with metal-filled protrusions and pores"
            )
        centres = np.asarray(protrusion_centres, dtype=float)[:, : mesh.geometry.dim]
        d = np.linalg.norm(mid[walls, None, :up] - centres[None, :, :up], axis=2)
        values[walls] = DEFECT_WALL_BASE + np.argmin(d, axis=1)
    sides = facet_tags.find(tags.SIDE)
    mid_s = dolfinx.mesh.compute_midpoints(mesh, fdim, sides)
    half = [
        mesh.comm.allreduce(float(np.max(np.abs(mesh.geometry.x[:, k]), initial=0.0)), op=MPI.MAX)
        for k in range(up)
    ]
    axis = np.argmin([np.abs(np.abs(mid_s[:, k]) - half[k]) for k in range(up)], axis=0) if up else []
    side_values = (SIDE_NORMAL_BASE + np.asarray(axis)).astype(np.int32)
    keep = (facet_tags.values != tags.ANODE) & (facet_tags.values != tags.SIDE)
    indices = np.concatenate([facet_tags.indices[keep], anode, sides])
    allvalues = np.concatenate([facet_tags.values[keep], values, side_values])
    order = np.argsort(indices)
    return dolfinx.mesh.meshtags(mesh, fdim, indices[order].astype(np.int32), allvalues[order])


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
    return solve_elasticity_loads(V, facet_tags, constants, [tractions], rollers, pinned)[0]


def solve_elasticity_loads(
    V: dolfinx.fem.FunctionSpace,
    facet_tags: dolfinx.mesh.MeshTags,
    constants: ElasticConstants,
    loads: list[dict[int, ufl.core.expr.Expr]],
    rollers: dict[int, int],
    pinned: list[tuple[int, np.ndarray]] = (),
) -> list[dolfinx.fem.Function]:
    """One displacement per traction set of ``loads`` (same conditions as
    :func:`solve_elasticity`), with one LU factorisation for all of them."""
    mesh = V.mesh
    fdim = mesh.topology.dim - 1
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    a = dolfinx.fem.form(ufl.inner(stress(u, constants), strain(v)) * ufl.dx)
    zero = dolfinx.fem.Constant(mesh, np.zeros(mesh.geometry.dim))  # no body force
    bcs = []
    for tag, comp in rollers.items():
        Vc, _ = V.sub(comp).collapse()
        dofs = dolfinx.fem.locate_dofs_topological((V.sub(comp), Vc), fdim, facet_tags.find(tag))
        bcs.append(dolfinx.fem.dirichletbc(dolfinx.fem.Function(Vc), dofs, V.sub(comp)))
    for comp, point in pinned:
        bcs.append(_pin_nearest(V, comp, np.asarray(point, dtype=float)))
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=bcs)
    A.assemble()
    ksp = PETSc.KSP().create(mesh.comm)
    ksp.setOperators(A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    ksp.getPC().setFactorSolverType("mumps")
    ksp.setErrorIfNotConverged(True)
    out = []
    for tractions in loads:
        L = dolfinx.fem.form(
            sum((ufl.inner(t, v) * ds(tag) for tag, t in tractions.items()), ufl.inner(zero, v) * ufl.dx)
        )
        b = dolfinx.fem.petsc.assemble_vector(L)
        dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[bcs])
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        dolfinx.fem.petsc.set_bc(b, bcs)
        uh = dolfinx.fem.Function(V, name="displacement")
        ksp.solve(b, uh.x.petsc_vec)
        uh.x.scatter_forward()
        b.destroy()
        out.append(uh)
    ksp.destroy()
    A.destroy()
    return out


def max_principal_stress(u, constants: ElasticConstants):
    """Largest principal stress σ₁ [Pa] (tension positive) as a UFL expression.  In 2D
    (plane strain) the larger of the in-plane σ₁ and σ_zz = ν (σ_xx + σ_yy); in 3D from the
    invariants (trigonometric form)."""
    s = stress(u, constants)
    if len(u) == 2:
        centre = (s[0, 0] + s[1, 1]) / 2
        radius = ufl.sqrt(((s[0, 0] - s[1, 1]) / 2) ** 2 + s[0, 1] ** 2)
        szz = constants.poisson_ratio * (s[0, 0] + s[1, 1])
        return ufl.max_value(centre + radius, szz)
    mean = ufl.tr(s) / 3
    dev = s - mean * ufl.Identity(3)
    j2 = ufl.inner(dev, dev) / 2 + 1e-30  # a hydrostatic state has J2 = 0: keep acos finite
    r = ufl.det(dev) / 2 * (3 / j2) ** 1.5
    theta = ufl.acos(ufl.max_value(ufl.min_value(r, 1.0), -1.0)) / 3
    return mean + 2 * ufl.sqrt(j2 / 3) * ufl.cos(theta)


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
