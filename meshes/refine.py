"""Refine a distributed mesh in parallel and put its new boundary nodes on the true shapes.

Gmsh meshes on one rank, and for millions of cells that is the serial phase of a run
(docs/performance.md).  Here Gmsh meshes the window with every size multiplied by 2^k, the
coarse mesh is distributed, and DOLFINx splits every cell k times on all ranks (Plaza's
algorithm, each edge halved).  A halved edge on a curved wall would leave its midpoint on the
chord, a distance h²/8R inside the wall; so the midpoint is moved onto the wall, whose shape
every rank knows from the window's defects (:class:`TrueGeometry`).  A curved (order-2)
geometry is built last, on the refined mesh, with its edge nodes put on the walls the same way.

Which wall an edge lies on: a boundary edge whose two ends lie on the same curved wall (a
sphere, circle, ellipse, spheroid or cone flank) has its midpoint moved onto it; all other
midpoints stay where they are (flat walls, the interior).  Coordinates in model units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import basix
import basix.ufl
import dolfinx
import dolfinx.cpp.mesh
import numpy as np
import ufl

from dendrite_fem.geometry.builders import MODEL_UNIT
from dendrite_fem.geometry.spec import Cone, Ellipse, FlatVoid, Gap, GeometryError, Round, Window, scaled


@dataclass(frozen=True)
class _Spheroid:
    """The wall |(p − c) / axes| = 1: a circle, ellipse, sphere or spheroid."""

    centre: np.ndarray
    axes: np.ndarray

    def distance(self, p: np.ndarray) -> np.ndarray:
        q = np.linalg.norm((p - self.centre) / self.axes, axis=1)
        return np.abs(q - 1.0) * self.axes.min()

    def onto(self, p: np.ndarray) -> np.ndarray:
        q = (p - self.centre) / self.axes
        return self.centre + self.axes * q / np.linalg.norm(q, axis=1, keepdims=True)

    def onto_trace(self, p: np.ndarray) -> np.ndarray:
        """Onto the wall's trace in the plane y = 0 (3D): q_y is fixed, x and z scale."""
        q = (p - self.centre) / self.axes
        q[:, 1] = -self.centre[1] / self.axes[1]
        rest = np.sqrt(np.maximum(1.0 - q[:, 1] ** 2, 0.0)) / np.linalg.norm(q[:, [0, 2]], axis=1)
        q[:, [0, 2]] *= rest[:, None]
        out = self.centre + self.axes * q
        out[:, 1] = 0.0
        return out


@dataclass(frozen=True)
class _Flank:
    """The flank of a cone (3D) or wedge (2D) about the vertical axis through ``axis`` (its
    in-plane coordinates): half-width ρ(z) linear, r0 at z0 and r1 at z1; points are moved
    horizontally onto it."""

    axis: np.ndarray
    z0: float
    r0: float
    z1: float
    r1: float

    def radius(self, z: np.ndarray) -> np.ndarray:
        return self.r0 + (z - self.z0) * (self.r1 - self.r0) / (self.z1 - self.z0)

    def distance(self, p: np.ndarray) -> np.ndarray:
        rho = np.linalg.norm(p[:, :-1] - self.axis, axis=1)
        return np.abs(rho - self.radius(p[:, -1]))

    def onto(self, p: np.ndarray) -> np.ndarray:
        out = p.copy()
        h = p[:, :-1] - self.axis
        out[:, :-1] = self.axis + h * (self.radius(p[:, -1]) / np.linalg.norm(h, axis=1))[:, None]
        return out

    def onto_trace(self, p: np.ndarray) -> np.ndarray:
        """Onto the flank's trace in the plane y = 0 (3D): (x − a_x)² + a_y² = ρ(z)², z kept."""
        out = p.copy()
        half = np.sqrt(np.maximum(self.radius(p[:, 2]) ** 2 - self.axis[1] ** 2, 0.0))
        out[:, 0] = self.axis[0] + np.sign(p[:, 0] - self.axis[0]) * half
        out[:, 1] = 0.0
        return out


@dataclass(frozen=True)
class _RoundedCone:
    """A flank up to the height ``join``, where it meets the tip sphere (circle) tangentially."""

    flank: _Flank
    tip: _Spheroid
    join: float

    def distance(self, p: np.ndarray) -> np.ndarray:
        return np.where(p[:, -1] >= self.join, self.tip.distance(p), self.flank.distance(p))

    def _either(self, p: np.ndarray, on_tip: np.ndarray, on_flank: np.ndarray) -> np.ndarray:
        # a point near the join goes where its image is on the right side of it
        return np.where((on_tip[:, -1] >= self.join)[:, None], on_tip, on_flank)

    def onto(self, p: np.ndarray) -> np.ndarray:
        return self._either(p, self.tip.onto(p), self.flank.onto(p))

    def onto_trace(self, p: np.ndarray) -> np.ndarray:
        return self._either(p, self.tip.onto_trace(p), self.flank.onto_trace(p))


def _walls(window: Window) -> list:
    """The curved walls of ``window``'s defects (model units), as :mod:`builders` makes them."""
    dim = window.dim
    walls = []
    for d in window.defects:
        s = d.shape
        centre = np.array([d.x, 0.0]) if dim == 2 else np.array([d.x, d.y, 0.0])
        if isinstance(s, Gap):
            continue
        if isinstance(s, Round):
            walls.append(_Spheroid(centre, np.full(dim, s.radius)))
        elif isinstance(s, (Ellipse, FlatVoid)):
            walls.append(_Spheroid(centre, np.array([s.half_width] * (dim - 1) + [s.height])))
        elif isinstance(s, Cone):
            tip = centre.copy()
            tip[-1] = s.height - s.tip_radius
            # the flank from below the interface (the builders extend it there) to the join
            z0 = -0.5 * s.tip_radius
            r0 = s.half_width + (-z0) * np.tan(s.half_angle)
            flank = _Flank(centre[:-1], z0, r0, s.tangent_height, s.tangent_radius)
            walls.append(_RoundedCone(flank, _Spheroid(tip, np.full(dim, s.tip_radius)), s.tangent_height))
        else:  # pragma: no cover - spec.ALLOWED_SHAPES lists the shapes
            raise TypeError(f"no wall for shape {s!r}")
    return walls


class TrueGeometry:
    """The curved walls of a window (model units), to put points on them."""

    def __init__(self, window: Window):
        if window.interlayer_thickness is not None and window.interlayer_coats_defects and window.defects:
            raise GeometryError(
                "parallel refinement does not follow the curved interlayer coating of defects; "
                "set refinements = 0, or interlayer_coats_defects = false"
            )
        model = scaled(window, 1.0 / MODEL_UNIT)
        self.dim = model.dim
        self.walls = _walls(model)
        self.section_plane = model.dim == 3 and model.section_plane
        self.tolerance = 1e-7 * max(model.width, model.thickness)

    def midpoints(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Midpoints of the boundary edges (a, b) (shape (n, dim)), on the curved wall that holds
        both ends where there is one, else (a + b) / 2.  An edge in the section plane y = 0
        (3D) keeps its midpoint in that plane: on the wall's trace."""
        mid = 0.5 * (a + b)
        done = np.zeros(len(a), dtype=bool)
        for wall in self.walls:
            on = ~done & (wall.distance(a) < self.tolerance) & (wall.distance(b) < self.tolerance)
            if not on.any():
                continue
            p = wall.onto(mid[on])
            if self.section_plane:
                trace = (np.abs(a[on, 1]) < self.tolerance) & (np.abs(b[on, 1]) < self.tolerance)
                p[trace] = wall.onto_trace(mid[on][trace])
            mid[on], done[on] = p, True
        return mid


def _boundary_edges(mesh: dolfinx.mesh.Mesh, facet_tags: dolfinx.mesh.MeshTags) -> np.ndarray:
    """Local indices of the edges of the tagged (boundary) facets."""
    tdim = mesh.topology.dim
    if tdim == 2:
        return np.unique(facet_tags.indices)
    mesh.topology.create_connectivity(tdim - 1, 1)
    f_to_e = mesh.topology.connectivity(tdim - 1, 1).array.reshape(-1, 3)
    return np.unique(f_to_e[facet_tags.indices])


def _vertex_coordinates(mesh: dolfinx.mesh.Mesh) -> np.ndarray:
    """Coordinates of every local vertex (owned and ghost) of an affine mesh, shape (n, gdim)."""
    tdim, gdim = mesh.topology.dim, mesh.geometry.dim
    c_to_v = mesh.topology.connectivity(tdim, 0).array.reshape(-1, tdim + 1)
    nodes = mesh.geometry.dofmaps[0][:, : tdim + 1]
    n = mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts
    x = np.empty((n, gdim))
    x[c_to_v.ravel()] = mesh.geometry.x[nodes.ravel(), :gdim]
    return x


def _edge_ends(mesh: dolfinx.mesh.Mesh, edges: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mesh.topology.create_connectivity(1, 0)
    e_to_v = mesh.topology.connectivity(1, 0).array.reshape(-1, 2)[edges]
    return x[e_to_v[:, 0]], x[e_to_v[:, 1]]


def _refine_once(mesh, cell_tags, facet_tags, geometry: TrueGeometry):
    """Split every cell (each edge halved) and move the midpoints of edges on curved walls
    onto the walls."""
    tdim = mesh.topology.dim
    mesh.topology.create_entities(1)
    x = _vertex_coordinates(mesh)
    edges = _boundary_edges(mesh, facet_tags)
    a, b = _edge_ends(mesh, edges, x)
    chord, true = 0.5 * (a + b), geometry.midpoints(a, b)
    moved = np.linalg.norm(true - chord, axis=1) > 0
    fine, parent_cell, parent_facet = dolfinx.mesh.refine(
        mesh, partitioner=None, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet
    )
    fine.topology.create_connectivity(tdim - 1, tdim)
    cells = dolfinx.mesh.transfer_meshtag(cell_tags, fine, parent_cell)
    facets = dolfinx.mesh.transfer_meshtag(facet_tags, fine, parent_cell, parent_facet)
    if moved.any():
        # the new vertices sit at the chords' midpoints: find them by their coordinates
        from scipy.spatial import cKDTree

        gx = fine.geometry.x[:, : mesh.geometry.dim]
        dist, node = cKDTree(gx).query(chord[moved])
        scale = np.linalg.norm(a[moved] - b[moved], axis=1)
        if np.any(dist > 1e-9 * scale):
            raise RuntimeError("refinement: a boundary edge's midpoint is not a vertex of the refined mesh")
        before = _signed_volumes(fine)
        fine.geometry.x[node, : mesh.geometry.dim] = true[moved]
        flipped = fine.comm.allreduce(int(np.sum(np.sign(_signed_volumes(fine)) != np.sign(before))))
        if flipped:
            raise GeometryError(
                f"parallel refinement: {flipped} cells turn inside out when their nodes are put on "
                "the curved walls (the Gmsh mesh is too coarse there); use fewer refinements"
            )
    return fine, cells, facets


def _signed_volumes(mesh: dolfinx.mesh.Mesh) -> np.ndarray:
    """det [x1 − x0, …, x_d − x0] of every local cell of an affine mesh."""
    tdim, gdim = mesh.topology.dim, mesh.geometry.dim
    v = mesh.geometry.x[mesh.geometry.dofmaps[0][:, : tdim + 1], :gdim]
    return np.linalg.det(v[:, 1:] - v[:, :1])


def _tangled_cells(mesh: dolfinx.mesh.Mesh) -> np.ndarray:
    """Local cells (owned and ghost) whose Jacobian determinant changes sign (vertices and centroid)."""
    tdim = mesh.topology.dim
    cell = basix.CellType.triangle if tdim == 2 else basix.CellType.tetrahedron
    ref = basix.geometry(cell)
    points = np.vstack([ref, 0.5 * (ref[:, None] + ref[None, :]).reshape(-1, tdim), ref.mean(axis=0)])
    expr = dolfinx.fem.Expression(ufl.JacobianDeterminant(mesh), points)
    imap = mesh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    det = expr.eval(mesh, cells).reshape(len(cells), -1)
    return cells[np.min(det * np.sign(det[:, -1:]), axis=1) <= 0]


def _curved_geometry(mesh: dolfinx.mesh.Mesh, facet_tags, geometry: TrueGeometry) -> dolfinx.mesh.Mesh:
    """The same topology with an order-2 geometry: edge nodes at the edges' midpoints, on the
    walls for the edges on curved walls.  Where putting an edge node on the wall would tangle a
    cell (a flat cell at a concave wall), that edge stays straight, on every rank alike."""
    tdim, gdim = mesh.topology.dim, mesh.geometry.dim
    top = mesh.topology
    top.create_entities(1)
    top.create_connectivity(tdim, 1)
    x = _vertex_coordinates(mesh)
    edge_map = top.index_map(1)
    n_edges = edge_map.size_local + edge_map.num_ghosts
    a, b = _edge_ends(mesh, np.arange(n_edges, dtype=np.int32), x)
    straight = 0.5 * (a + b)
    mid = straight.copy()
    edges = _boundary_edges(mesh, facet_tags)
    mid[edges] = geometry.midpoints(a[edges], b[edges])
    bent_at_first = np.any(mid[edges] != straight[edges], axis=1)
    on_boundary = np.zeros(n_edges, dtype=bool)
    on_boundary[edges] = True
    c_to_v = top.connectivity(tdim, 0).array.reshape(-1, tdim + 1).astype(np.int64)
    c_to_e = top.connectivity(tdim, 1).array.reshape(-1, 3 * (tdim - 1))
    # node numbers local to this rank: vertices, then edges (DOLFINx's P2 layout per cell)
    xdofs = np.hstack([c_to_v, len(x) + c_to_e.astype(np.int64)]).ravel()
    nodes = np.arange(len(x) + n_edges, dtype=np.int64)
    cell = top.cell_type
    element = dolfinx.fem.coordinate_element(cell, 2)
    domain = ufl.Mesh(basix.ufl.element("Lagrange", cell.name, 2, shape=(gdim,), dtype=np.float64))
    moved = dolfinx.la.vector(edge_map, gdim, dtype=np.float64)
    count = dolfinx.la.vector(edge_map, 1, dtype=np.float64)
    for attempt in range(16):
        coords = np.ascontiguousarray(np.vstack([x, mid]), dtype=np.float64).ravel()
        cpp_geometry = dolfinx.cpp.mesh.create_geometry(
            top._cpp_object, [element._cpp_object], nodes, xdofs, coords, gdim
        )
        curved = dolfinx.mesh.Mesh(
            dolfinx.cpp.mesh.Mesh_float64(mesh.comm, top._cpp_object, cpp_geometry), domain
        )
        tangled = _tangled_cells(curved)
        if mesh.comm.allreduce(len(tangled)) == 0:
            straightened = mesh.comm.allreduce(
                int(np.sum(np.all(mid[edges] == straight[edges], axis=1) & bent_at_first))
            )
            if straightened:
                warnings.warn(
                    f"parallel refinement: {straightened} edge nodes of curved walls were left on their "
                    "chords, where the wall would tangle a cell; a finer Gmsh mesh there (fewer "
                    "refinements or smaller sizes) puts them on the wall",
                    stacklevel=4,
                )
            return curved
        # a tangled cell's interior edges follow a growing fraction of its wall edges' mean
        # displacement (a blending into the cell); if that does not untangle it, its wall
        # edges stay straight
        shift = mid - straight
        blend = attempt < 4
        moved.array[:], count.array[:] = 0.0, 0.0
        for c in tangled:
            own = c_to_e[c]
            bent = np.any(shift[own] != 0.0, axis=1)
            wall = on_boundary[own] & bent
            if blend and not wall.any():
                continue
            # blending: move the interior edges; else: every bent edge of the cell goes straight
            target = own[~on_boundary[own]] if blend else own[bent]
            step = 0.25 * (attempt + 1) * shift[own[wall]].mean(axis=0) if blend else np.zeros(gdim)
            moved.array.reshape(-1, gdim)[target] += step
            count.array[target] += 1.0
        for v in (moved, count):
            v.scatter_reverse(dolfinx.la.InsertMode.add)
            v.scatter_forward()
        hit = np.flatnonzero(count.array > 0)
        mid[hit] = straight[hit] + moved.array.reshape(-1, gdim)[hit] / count.array[hit, None]
    return curved  # still tangled: the caller's check names it


def refine_on_geometry(
    mesh: dolfinx.mesh.Mesh,
    cell_tags: dolfinx.mesh.MeshTags,
    facet_tags: dolfinx.mesh.MeshTags,
    geometry: TrueGeometry,
    levels: int,
    geometry_order: int = 1,
):
    """Refine an affine mesh (model units) ``levels`` times in parallel with the new nodes of
    the ``geometry``'s curved walls on the walls; with ``geometry_order`` 2 the result has
    curved cells.  Returns (mesh, cell_tags, facet_tags)."""
    if geometry_order not in (1, 2):
        raise GeometryError(f"parallel refinement builds geometry order 1 or 2, not {geometry_order}")
    for _ in range(levels):
        mesh, cell_tags, facet_tags = _refine_once(mesh, cell_tags, facet_tags, geometry)
    if geometry_order == 2:
        curved = _curved_geometry(mesh, facet_tags, geometry)
        cell_tags = dolfinx.mesh.meshtags(curved, mesh.topology.dim, cell_tags.indices, cell_tags.values)
        facet_tags = dolfinx.mesh.meshtags(
            curved, mesh.topology.dim - 1, facet_tags.indices, facet_tags.values
        )
        mesh = curved
    return mesh, cell_tags, facet_tags
