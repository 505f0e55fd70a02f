"""Gmsh (OpenCASCADE) models of a :class:`~dendrite_fem.geometry.spec.Window`.

The SE is the window box minus every defect body: a protrusion body is metal,
a pore body is void, and in both cases the SE ends at its wall.  Boundary
entities are classified by where they lie (top, sides, the flat interface, or
the wall of the nearest defect) and put into the physical groups of
:mod:`dendrite_fem.geometry.tags`.  Size fields refine at defect walls (tips, rims) and along
the interface, and coarsen towards the counter side.

OpenCASCADE works with absolute tolerances near 1e-7 model units, so the model
is built in micrometres (:data:`MODEL_UNIT`) and the mesh scaled to metres by the
caller.  Call these on one rank only, between ``gmsh.initialize()`` and
``gmsh.finalize()``; :func:`dendrite_fem.geometry.distribute.build_mesh` does that.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.spec import (
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    Gap,
    MeshSizes,
    Round,
    SizeMap,
    Window,
    scaled,
)

#: length of one Gmsh model unit [m]
MODEL_UNIT = 1e-6

#: how fast the element size may grow away from a refined feature (size per length)
GRADING = 0.3


def _defect_body_2d(d: Defect) -> list[tuple[int, int]]:
    occ = gmsh.model.occ
    s = d.shape
    if isinstance(s, Round):
        return [(2, occ.addDisk(d.x, 0, 0, s.radius, s.radius))]
    if isinstance(s, (Ellipse, FlatVoid)):
        rx, ry = s.half_width, s.height
        if rx >= ry:
            return [(2, occ.addDisk(d.x, 0, 0, rx, ry))]
        # OCC wants the major radius first: build it along x, then turn it upright
        disk = [(2, occ.addDisk(d.x, 0, 0, ry, rx))]
        occ.rotate(disk, d.x, 0, 0, 0, 0, 1, math.pi / 2)
        return disk
    if isinstance(s, Cone):
        zt, rt, base = s.tangent_height, s.tangent_radius, s.half_width
        pts = [
            occ.addPoint(d.x - base, -0.5 * s.tip_radius, 0),
            occ.addPoint(d.x + base, -0.5 * s.tip_radius, 0),
            occ.addPoint(d.x + rt, zt, 0),
            occ.addPoint(d.x - rt, zt, 0),
        ]
        lines = [occ.addLine(pts[k], pts[(k + 1) % 4]) for k in range(4)]
        wedge = occ.addPlaneSurface([occ.addCurveLoop(lines)])
        tip = occ.addDisk(d.x, s.height - s.tip_radius, 0, s.tip_radius, s.tip_radius)
        fused, _ = occ.fuse([(2, wedge)], [(2, tip)])
        return fused
    raise TypeError(f"unknown shape {s!r}")


def _defect_body_3d(d: Defect) -> list[tuple[int, int]]:
    occ = gmsh.model.occ
    s = d.shape
    if isinstance(s, Round):
        return [(3, occ.addSphere(d.x, d.y, 0, s.radius))]
    if isinstance(s, (Ellipse, FlatVoid)):
        body = [(3, occ.addSphere(d.x, d.y, 0, 1.0))]
        occ.dilate(body, d.x, d.y, 0, s.half_width, s.half_width, s.height)
        return body
    if isinstance(s, Cone):
        z0 = -0.5 * s.tip_radius
        # extend the frustum below the interface so the cut leaves no sliver
        r0 = s.half_width + (-z0) * math.tan(s.half_angle)
        cone = occ.addCone(d.x, d.y, z0, 0, 0, s.tangent_height - z0, r0, s.tangent_radius)
        tip = occ.addSphere(d.x, d.y, s.height - s.tip_radius, s.tip_radius)
        fused, _ = occ.fuse([(3, cone)], [(3, tip)])
        return fused
    raise TypeError(f"unknown shape {s!r}")


def _gap_patches(window: Window) -> list[tuple[int, int]]:
    """Segments (2D) or discs (3D) of the interface plane that lose contact."""
    occ = gmsh.model.occ
    out = []
    for d in window.defects:
        if isinstance(d.shape, Gap):
            r = d.shape.radius
            if window.dim == 2:
                a, b = occ.addPoint(d.x - r, 0, 0), occ.addPoint(d.x + r, 0, 0)
                out.append((1, occ.addLine(a, b)))
            else:
                out.append((2, occ.addDisk(d.x, d.y, 0, r, r)))
    return out


def _interlayer_region(window: Window) -> list[tuple[int, int]]:
    """The region within the interlayer thickness t of the metal: the band 0 < y < t (z in
    3D), larger than the window, fused with a shell of thickness t around every round
    protrusion (a conformal coating; a flat band only when ``interlayer_coats_defects`` is
    False).  Intersected with the SE it becomes the interlayer."""
    t = window.interlayer_thickness
    if t is None:
        return []
    occ = gmsh.model.occ
    w, depth = window.width, window.in_plane_depth
    coated = [d for d in window.defects if d.kind == "protrusion" and window.interlayer_coats_defects]
    if window.dim == 2:
        band = [(2, occ.addRectangle(-w, 0, 0, 2 * w, t))]
        shells = [(2, occ.addDisk(d.x, 0, 0, d.shape.radius + t, d.shape.radius + t)) for d in coated]
    else:
        band = [(3, occ.addBox(-w, -w - depth, 0, 2 * w, 2 * (w + depth), t))]
        shells = [(3, occ.addSphere(d.x, d.y, 0, d.shape.radius + t)) for d in coated]
    if not shells:
        return band
    fused, _ = occ.fuse(band, shells)
    return fused


def _classify_boundary(window: Window, boundary: list[tuple[int, int]]) -> dict[int, list[int]]:
    """Sort boundary entities into the facet groups by where they lie."""
    dim = window.dim
    up = dim - 1  # index of the coordinate normal to the interface
    tol = 1e-5 * min(window.width, window.thickness)
    half = [window.width / 2, window.in_plane_depth / 2]
    groups: dict[int, list[int]] = {t: [] for t in tags.FACET_TAGS.values()}
    for edim, tag in boundary:
        lo = np.array(gmsh.model.getBoundingBox(edim, tag)[:3])
        hi = np.array(gmsh.model.getBoundingBox(edim, tag)[3:])
        if lo[up] > window.thickness - tol:
            groups[tags.COUNTER].append(tag)
        elif any(abs(lo[k] - hi[k]) < tol and abs(abs(lo[k]) - half[k]) < tol for k in range(dim - 1)):
            groups[tags.SIDE].append(tag)
        elif hi[up] < tol:
            centre = np.array(gmsh.model.occ.getCenterOfMass(edim, tag))
            in_gap = any(
                isinstance(d.shape, Gap)
                and math.hypot(centre[0] - d.x, (centre[1] - d.y) if dim == 3 else 0.0) < d.shape.radius
                for d in window.defects
            )
            groups[tags.PORE if in_gap else tags.ANODE].append(tag)
        else:
            centre = np.array(gmsh.model.occ.getCenterOfMass(edim, tag))
            nearest = min(
                window.defects,
                key=lambda d: math.hypot(centre[0] - d.x, (centre[1] - d.y) if dim == 3 else 0.0),
            )
            groups[tags.ANODE if nearest.kind == "protrusion" else tags.PORE].append(tag)
    return groups


def _feature_distance(window: Window, d: Defect) -> str:
    """Gmsh MathEval expression of the distance to a defect's tip (protrusion) or
    rim (pore: two points in 2D, a circle in 3D)."""
    # every number in parentheses: mathex rejects "x - -4", and Gmsh aborts on it
    x, y, h, r = (f"({v!r})" for v in (d.x, d.y, d.shape.height, d.shape.half_width))
    if window.dim == 2:
        if d.kind == "protrusion":
            return f"Sqrt((x - {x})^2 + (y - {h})^2)"
        return f"Sqrt((Abs(x - {x}) - {r})^2 + y^2)"
    if d.kind == "protrusion":
        return f"Sqrt((x - {x})^2 + (y - {y})^2 + (z - {h})^2)"
    return f"Sqrt((Sqrt((x - {x})^2 + (y - {y})^2) - {r})^2 + z^2)"


def _size_fields(window: Window, sizes: MeshSizes, defect_walls: list[int], grading: float = GRADING) -> None:
    """Background size: ``near`` at tips and rims, ``interface`` along the defect walls
    (and along the whole anode plane when there are no defects), growing with distance at
    rate ``grading`` (:data:`GRADING`) up to ``far``; far from defects the plane gets ``far`` / 2."""
    field = gmsh.model.mesh.field
    coord = "y" if window.dim == 2 else "z"
    fields = []

    def grow(expr: str, size: float) -> None:
        f = field.add("MathEval")
        field.setString(f, "F", f"Min(({sizes.far!r}), ({size!r}) + {grading!r} * {expr})")
        fields.append(f)

    # the plane itself: fine everywhere on a flat or rough interface; with defects, the wall
    # field below refines around them and the plain interface far away can be coarser
    plane = sizes.interface if not window.defects else max(sizes.interface, sizes.far / 2)
    wall = sizes.interface
    if window.interlayer_thickness is not None:
        # at least two cells across the interlayer, on the plane and on the coated walls: with
        # one, a resistive layer's P1 solution overshoots at the protrusion's foot
        plane = min(plane, window.interlayer_thickness / 2)
        wall = min(wall, window.interlayer_thickness / 2)
    grow(f"Abs({coord})", plane)
    for d in window.defects:
        grow(_feature_distance(window, d), sizes.near)
    if defect_walls:
        dist = field.add("Distance")
        field.setNumbers(dist, "CurvesList" if window.dim == 2 else "SurfacesList", defect_walls)
        field.setNumber(dist, "Sampling", 200 if window.dim == 2 else 40)
        thr = field.add("Threshold")
        field.setNumber(thr, "InField", dist)
        field.setNumber(thr, "SizeMin", wall)
        field.setNumber(thr, "SizeMax", sizes.far)
        field.setNumber(thr, "DistMin", 0.0)
        field.setNumber(thr, "DistMax", (sizes.far - wall) / grading)
        fields.append(thr)
    set_background_minimum(fields)


def set_background_minimum(fields: list[int]) -> None:
    """Make the smallest of the Gmsh size ``fields`` the mesh size, and only it (no sizes from
    points, curvature or the boundary)."""
    field = gmsh.model.mesh.field
    smallest = field.add("Min")
    field.setNumbers(smallest, "FieldsList", fields)
    field.setAsBackgroundMesh(smallest)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)


def _size_map_field(size_map: SizeMap, far: float) -> None:
    """Background size from a size map (model units): a list-based Gmsh view of its
    simplices, read by a PostView field.  It replaces the geometric fields of
    :func:`_size_fields`, so that the map can coarsen as well as refine; capped at ``far``
    (where a point falls outside every simplex, PostView answers with a huge size)."""
    field = gmsh.model.mesh.field
    view = gmsh.view.add("size map")
    d = size_map.dim
    # per simplex: the x of its vertices, then y, then z, then the values
    data = np.concatenate(
        [size_map.simplices.transpose(0, 2, 1).reshape(len(size_map.simplices), -1), size_map.sizes], axis=1
    )
    gmsh.view.addListData(view, "ST" if d == 2 else "SS", len(data), data.ravel().tolist())
    mapped = field.add("PostView")
    field.setNumber(mapped, "ViewTag", view)
    capped = field.add("MathEval")
    field.setString(capped, "F", f"{far!r}")
    set_background_minimum([mapped, capped])


def _has_inverted_cells(dim: int) -> bool:
    """Whether any curved cell has a Jacobian determinant ≤ 0 somewhere (Gmsh's minSJ)."""
    types, elem_tags, _ = gmsh.model.mesh.getElements(dim)
    for cell_tags in elem_tags:
        if len(cell_tags) and np.min(gmsh.model.mesh.getElementQualities(cell_tags, "minSJ")) <= 0.0:
            return True
    return False


def build_geometry(window: Window, name: str = "interface-window") -> set[int]:
    """Create the OpenCASCADE geometry of ``window`` (in model units) as a new Gmsh model
    ``name``, unmeshed; returns the tags of the interlayer's volumes."""
    occ = gmsh.model.occ
    dim = window.dim
    gmsh.model.add(name)
    if dim == 2:
        domain = [(2, occ.addRectangle(-window.width / 2, 0, 0, window.width, window.thickness))]
        bodies = [b for d in window.defects if not isinstance(d.shape, Gap) for b in _defect_body_2d(d)]
    else:
        depth = window.in_plane_depth
        domain = [(3, occ.addBox(-window.width / 2, -depth / 2, 0, window.width, depth, window.thickness))]
        bodies = [b for d in window.defects if not isinstance(d.shape, Gap) for b in _defect_body_3d(d)]
    if bodies:
        domain, _ = occ.cut(domain, bodies)
    layer = []
    if window.interlayer_thickness is not None:
        layer, _ = occ.intersect(_interlayer_region(window), domain, removeObject=True, removeTool=False)
    cutters = _gap_patches(window)
    if dim == 3 and window.section_plane:
        # a conforming plane y = 0 gives the mesh an interface trace for the profile
        plane = occ.addRectangle(-window.width, -window.thickness, 0, 2 * window.width, 3 * window.thickness)
        occ.rotate([(2, plane)], 0, 0, 0, 1, 0, 0, math.pi / 2)
        cutters.append((2, plane))
    inside = []
    if cutters:
        # keep only the parts of the cutters inside the SE, then imprint them on it
        inside, _ = occ.intersect(cutters, domain, removeObject=True, removeTool=False)
    layer_volumes: set[int] = set()
    if inside or layer:
        out, children = occ.fragment(domain, layer + inside)
        # children lists the pieces of each input, objects first: the pieces of the
        # interlayer region (the inputs after the SE) are the interlayer
        first = len(domain)
        layer_volumes = {tag for k in range(first, first + len(layer)) for d, tag in children[k] if d == dim}
        domain = [e for e in out if e[0] == dim]
    occ.synchronize()
    return layer_volumes


def build_model(
    window: Window, geometry_order: int = 1, size_map: SizeMap | None = None, coarsening: float = 1.0
) -> None:
    """Create and mesh the Gmsh model of ``window`` (SI) in the current Gmsh session,
    in units of :data:`MODEL_UNIT`; with a ``size_map`` (SI) the element sizes are that map's
    instead of those of the window's size fields.  ``coarsening`` multiplies every size and
    the grading: a mesh to be split into 2^k finer cells per edge later
    (:mod:`dendrite_fem.geometry.refine`) is meshed with ``coarsening = 2^k``.
    """
    window = scaled(window, 1.0 / MODEL_UNIT)
    dim = window.dim
    layer_volumes = build_geometry(window)
    volumes = [tag for _, tag in gmsh.model.getEntities(dim)]
    boundary = gmsh.model.getBoundary([(dim, t) for t in volumes], combined=True, oriented=False)
    groups = _classify_boundary(window, [(abs(d), abs(t)) for d, t in boundary])
    in_band = [t for t in volumes if t in layer_volumes]
    gmsh.model.addPhysicalGroup(
        dim, [t for t in volumes if t not in in_band], tags.ELECTROLYTE, name="electrolyte"
    )
    if in_band:
        gmsh.model.addPhysicalGroup(dim, in_band, tags.INTERLAYER, name="interlayer")
    for name, tag in tags.FACET_TAGS.items():
        if groups[tag]:
            gmsh.model.addPhysicalGroup(dim - 1, groups[tag], tag, name=name)
    # defect walls are the anode/pore entities that rise above the interface plane
    top_of = lambda t: gmsh.model.getBoundingBox(dim - 1, t)[3 + dim - 1]  # noqa: E731
    tol = 1e-5 * min(window.width, window.thickness)  # OCC pads bounding boxes by ~1e-7
    walls = [t for t in groups[tags.ANODE] + groups[tags.PORE] if top_of(t) > tol]
    if size_map is None:
        _size_fields(window, scaled(window.resolved_sizes(), coarsening), walls, GRADING * coarsening)
    else:
        model_map = SizeMap(size_map.simplices / MODEL_UNIT, coarsening * size_map.sizes / MODEL_UNIT)
        _size_map_field(model_map, coarsening * window.resolved_sizes().far)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    # HXT: about twice as fast as Gmsh's Delaunay here; on one thread it is also
    # reproducible (with several threads the mesh changes from run to run, and the
    # 1-rank/N-rank comparison needs the very same mesh)
    gmsh.option.setNumber("Mesh.Algorithm3D", 10)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.model.mesh.generate(dim)
    if geometry_order > 1:
        gmsh.model.mesh.setOrder(geometry_order)
        # curving the boundary can invert a few cells next to it: first the optimisation of
        # patches around them (seconds), then, only if that fails, the elastic analogy over
        # the whole mesh (minutes for a million cells)
        if _has_inverted_cells(dim):
            gmsh.model.mesh.optimize("HighOrder")
        if _has_inverted_cells(dim):
            gmsh.model.mesh.optimize("HighOrderElastic")
            gmsh.model.mesh.optimize("HighOrder")
