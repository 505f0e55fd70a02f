"""The local interfacial pressure ΔP of the Butler–Volmer pressure factor (docs/model.md §2).

    ΔP = −n·σ(u) n    on Γa        (compression positive; n points out of the SE into the metal)

σ(u) is the stress of the SE (dendrite_fem.physics.mechanics).  Where the traction is prescribed (the walls of
a metal-filled defect, loaded by the metal's pressure p) −n·σ n = p exactly and that value is
used; on the flat support it is the contact pressure the elasticity computes.  The kinetics
use ΔP as a P1 function on the mesh, from the lumped (row-sum) boundary projection

    ΔP_i = ∫_Γa (−n·σ n) ψ_i ds / ∫_Γa ψ_i ds          (ψ_i the P1 hat function of vertex i)

a positive weighted average of the traction around each interface vertex: it does not
overshoot where σ_nn jumps (the corner where a defect wall meets the flat anode), and the
same nodal values enter the weak form, the nodal metrics and the profile.  Vertices off Γa
get 0 (they never enter the kinetics).
"""

from __future__ import annotations

import dolfinx
import dolfinx.fem.petsc
import numpy as np
import ufl
from petsc4py import PETSc

from dendrite_fem.physics.mechanics import ElasticConstants, stress


def normal_traction_pressure(u: dolfinx.fem.Function, constants: ElasticConstants):
    """−n·σ(u) n [Pa] on the boundary (UFL)."""
    n = ufl.FacetNormal(u.function_space.mesh)
    return -ufl.dot(n, ufl.dot(stress(u, constants), n))


def boundary_average(
    pieces: dict[int, object],
    V1: dolfinx.fem.FunctionSpace,
    facet_tags: dolfinx.mesh.MeshTags,
    name: str = "interface_pressure",
) -> dolfinx.fem.Function:
    """P1 function with the lumped boundary projection of a boundary field given piecewise,
    facet tag → its expression there (UFL or a number), at the vertices of those facets, 0
    elsewhere (collective):  Σ_tag ∫ expr_tag ψ_i ds(tag) / Σ_tag ∫ ψ_i ds(tag)."""
    mesh = V1.mesh
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags, metadata={"quadrature_degree": 4})
    psi = ufl.TestFunction(V1)
    one = dolfinx.fem.Constant(mesh, 1.0)
    num = dolfinx.fem.petsc.assemble_vector(
        dolfinx.fem.form(sum(expr * one * psi * ds(tag) for tag, expr in pieces.items()))
    )
    den = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(sum(one * psi * ds(tag) for tag in pieces)))
    out = dolfinx.fem.Function(V1, name=name)
    for vec in (num, den):
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    n_arr, d_arr = num.array_r, den.array_r
    owned = V1.dofmap.index_map.size_local
    values = np.zeros(owned)
    on = d_arr > 0
    values[on] = n_arr[on] / d_arr[on]
    out.x.array[:owned] = values
    out.x.scatter_forward()
    num.destroy()
    den.destroy()
    return out
