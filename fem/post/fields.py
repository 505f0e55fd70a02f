"""Derived fields (i = −σ∇φ, |i|), ParaView output and gathering for figures.

Fields are written with XDMF/HDF5 (collective, every rank writes its part);
ParaView opens the ``.xdmf`` files with its XDMF3 reader.  φ is written at the
mesh nodes (P1; a P2 potential is interpolated), i and |i| as cell data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dolfinx
import numpy as np
import ufl
from dolfinx.io import XDMFFile

from dendrite_fem.physics.conduction import InterfaceProblem


def current_density(problem: InterfaceProblem) -> tuple[dolfinx.fem.Function, dolfinx.fem.Function]:
    """Cell-wise current density i = −σ∇φ [A/m²] and its magnitude |i| (DG0)."""
    mesh = problem.phi.function_space.mesh
    gdim = mesh.geometry.dim
    i_expr = -problem.sigma * ufl.grad(problem.phi)
    W = dolfinx.fem.functionspace(mesh, ("DG", 0, (gdim,)))
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    i_vec = dolfinx.fem.Function(W, name="current_density")
    i_mag = dolfinx.fem.Function(Q, name="current_density_magnitude")
    i_vec.interpolate(dolfinx.fem.Expression(i_expr, W.element.interpolation_points))
    i_mag.interpolate(
        dolfinx.fem.Expression(ufl.sqrt(ufl.inner(i_expr, i_expr)), Q.element.interpolation_points)
    )
    return i_vec, i_mag


def write_fields(path: Path, functions: list[dolfinx.fem.Function]) -> None:
    """Write the mesh and ``functions`` into one XDMF file (collective)."""
    mesh = functions[0].function_space.mesh
    with XDMFFile(mesh.comm, str(path), "w") as f:
        f.write_mesh(mesh)
        for u in functions:
            f.write_function(u)


def write_tags(path: Path, mesh: dolfinx.mesh.Mesh, cell_tags, facet_tags) -> None:
    """Write the mesh with its subdomain and boundary tags (collective)."""
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    with XDMFFile(mesh.comm, str(path), "w") as f:
        f.write_mesh(mesh)
        cell_tags.name = "subdomains"
        facet_tags.name = "boundaries"
        f.write_meshtags(cell_tags, mesh.geometry)
        f.write_meshtags(facet_tags, mesh.geometry)


@dataclass
class GatheredField:
    """A P1 mesh with nodal and cell data, collected on rank 0 for plotting."""

    points: np.ndarray  #: (N, 3) [m]
    cells: np.ndarray  #: (M, 3 or 4) vertex indices
    nodal: dict[str, np.ndarray]
    cellwise: dict[str, np.ndarray]


def gather_on_root(
    nodal: dict[str, dolfinx.fem.Function], cellwise: dict[str, dolfinx.fem.Function]
) -> GatheredField | None:
    """Collect P1 nodal values and DG0 cell values of owned cells on rank 0
    (None on the other ranks).  The nodal functions must share one P1 space."""
    V1 = next(iter(nodal.values())).function_space
    mesh = V1.mesh
    comm = mesh.comm
    tdim = mesh.topology.dim
    num_cells = mesh.topology.index_map(tdim).size_local
    imap = V1.dofmap.index_map
    owned = imap.size_local
    cells = imap.local_to_global(V1.dofmap.list[:num_cells].ravel()).reshape(num_cells, -1)
    coords = V1.tabulate_dof_coordinates()[:owned]
    start = imap.local_range[0]
    local = {
        "range": (start, owned),
        "coords": coords,
        "cells": cells,
        "nodal": {k: u.x.array[:owned].copy() for k, u in nodal.items()},
        "cellwise": {
            k: u.x.array.reshape(-1, u.function_space.dofmap.bs)[u.function_space.dofmap.list[:num_cells, 0]]
            for k, u in cellwise.items()
        },
    }
    parts = comm.gather(local, root=0)
    if comm.rank != 0:
        return None
    n = imap.size_global
    points = np.zeros((n, 3))
    values = {k: np.zeros(n) for k in nodal}
    for p in parts:
        s, m = p["range"]
        points[s : s + m] = p["coords"]
        for k in values:
            values[k][s : s + m] = p["nodal"][k]
    return GatheredField(
        points=points,
        cells=np.concatenate([p["cells"] for p in parts]),
        nodal=values,
        cellwise={k: np.concatenate([p["cellwise"][k] for p in parts]) for k in cellwise},
    )


def interpolant(u: dolfinx.fem.Function, V: dolfinx.fem.FunctionSpace) -> dolfinx.fem.Function:
    """Nodal interpolant of ``u`` in ``V`` (for P1: exact at the vertices)."""
    if u.function_space is V:
        return u
    out = dolfinx.fem.Function(V, name=u.name)
    out.interpolate(u)
    return out


def write_vtu(path: Path, field: GatheredField) -> None:
    """One unstructured grid with φ at the points and i, |i| per cell (rank 0 only): the
    file ParaView opens without choosing blocks.  Vertex values only (P1 view of φ)."""
    import pyvista as pv

    n, k = field.cells.shape
    kind = pv.CellType.TRIANGLE if k == 3 else pv.CellType.TETRA
    grid = pv.UnstructuredGrid(
        np.hstack([np.full((n, 1), k), field.cells]).ravel(), np.full(n, kind, np.uint8), field.points
    )
    for name, values in field.nodal.items():
        grid.point_data[name] = values
    for name, values in field.cellwise.items():
        values = values.reshape(n, -1)
        if values.shape[1] == 2:  # 2D vectors: ParaView glyphs and tracers want three components
            values = np.hstack([values, np.zeros((n, 1))])
        grid.cell_data[name] = values if values.shape[1] > 1 else values.ravel()
    grid.save(path, binary=True)


def write_interface_vtu(path: Path, surface) -> None:
    """The interface (:class:`~dendrite_fem.post.interface.InterfaceSurface`) as its own grid,
    rank 0 only: i_dep and η at the points, the facet tag (anode 11, pore wall 13) per cell, so
    that ParaView colours the anode surface by the plating current."""
    import pyvista as pv

    n, k = surface.facets.shape
    kind = pv.CellType.TRIANGLE if k == 3 else pv.CellType.LINE
    grid = pv.UnstructuredGrid(
        np.hstack([np.full((n, 1), k), surface.facets]).ravel(), np.full(n, kind, np.uint8), surface.points
    )
    grid.point_data["plating_current"] = surface.plating_current
    grid.point_data["overpotential"] = surface.overpotential
    grid.cell_data["tag"] = surface.tag.astype(np.int32)
    grid.save(path, binary=True)
