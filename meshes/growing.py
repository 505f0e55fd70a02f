"""A 2D SE window whose anode interface is an arbitrary polyline: the geometry of a growing
deposit (issue 7).

The interface runs from the left side (x = −w/2) to the right side (x = +w/2) through the
marker points of the growth model; the SE lies above it, up to the counter side y = L.  Each
polyline segment is one mesh edge (transfinite with two nodes), so the mesh's interface
vertices *are* the markers and the plating current is known exactly where the markers move.
Physical groups and tags as for every window (:mod:`dendrite_fem.geometry.tags`).  Built in micrometres, like
:mod:`dendrite_fem.geometry.builders`, on rank 0 by :func:`dendrite_fem.geometry.distribute.build_mesh`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gmsh
import numpy as np

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.builders import set_background_minimum
from dendrite_fem.geometry.spec import GeometryError, MeshSizes


class ShortedCell(GeometryError):
    """The deposit has reached the counter side: the cell is shorted (a growth run's end)."""


#: element size growth away from the interface and the tip (size per length)
GRADING = 0.3


@dataclass(frozen=True)
class GrowingInterface:
    """SE window of ``width`` × ``thickness`` [m] above the interface polyline ``points``
    ((x, y) pairs [m], left side to right side).  ``sizes``: ``near`` at the tip (the
    highest point), ``interface`` along the interface (also the largest marker spacing),
    ``far`` at the counter side."""

    width: float
    thickness: float
    points: tuple[tuple[float, float], ...]
    sizes: MeshSizes
    dim: int = 2
    roughness: None = None  #: (a flat-window attribute that the distribution step reads)
    defects: tuple = ()
    #: one mesh edge per polyline segment (the growth model's markers are the mesh vertices);
    #: False: the segments are meshed by the sizes (a measured interface, many short segments)
    one_edge_per_segment: bool = True
    #: per polyline segment: True where it is a pore wall (a void at the interface), not anode
    pore_segments: tuple[bool, ...] | None = None
    #: closed polylines ((x, y) pairs [m]) of voids inside the SE: insulating pore walls
    holes: tuple[tuple[tuple[float, float], ...], ...] = ()

    def __post_init__(self):
        self.check()  # the one check: an interface that exists can be meshed

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=float)

    @property
    def tip(self) -> np.ndarray:
        """The marker that reaches furthest into the SE (of the anode's, not a pore wall's)."""
        p = self.array
        if self.pore_segments is not None:
            pore = np.asarray(self.pore_segments, dtype=bool)
            on_anode = np.zeros(len(p), dtype=bool)
            on_anode[:-1] |= ~pore
            on_anode[1:] |= ~pore
            p = p[on_anode]
        return p[int(np.argmax(p[:, 1]))]

    def characteristic_size(self) -> float:
        return float(self.tip[1])

    def feature_points(self) -> list[tuple[str, np.ndarray]]:
        return [("tip", np.array([*self.tip, 0.0]))]

    def digest(self) -> str:
        """SHA-256 of the interface and the sizes (a measured section's case hash)."""
        import hashlib

        return hashlib.sha256(
            repr((self.width, self.thickness, self.points, self.sizes)).encode()
        ).hexdigest()

    def feature_bands(self) -> list[None]:
        return [None]  # the tip is no singular point

    def resolved_sizes(self) -> MeshSizes:
        return self.sizes

    def check(self) -> None:
        p = self.array
        w, L = self.width, self.thickness
        if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
            raise GeometryError("the interface needs at least two (x, y) points")
        if not (np.isclose(p[0, 0], -w / 2, atol=1e-9 * w) and np.isclose(p[-1, 0], w / 2, atol=1e-9 * w)):
            raise GeometryError("the interface polyline must start at x = -width/2 and end at x = +width/2")
        if np.min(p[:, 1]) < 0:
            raise GeometryError("the interface must not go below y = 0")
        if np.max(p[:, 1]) >= L - 2 * self.sizes.near:
            raise ShortedCell(
                f"the deposit reaches the counter side (tip at {np.max(p[:, 1]) * 1e6:.3g} um "
                f"of {L * 1e6:.3g} um): the cell is shorted"
            )
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if np.min(seg) <= 1e-6 * self.sizes.near:
            raise GeometryError("two interface points coincide")
        crossing = first_crossing(p)
        if crossing:
            i, j = crossing
            raise GeometryError(
                f"the interface polyline intersects itself (segments {i} and {j} near "
                f"({p[i, 0] * 1e6:.4g}, {p[i, 1] * 1e6:.4g}) um)"
            )


def first_crossing(p: np.ndarray) -> tuple[int, int] | None:
    """The first pair of non-adjacent segments of the polyline that cross, or None
    (vectorised in blocks)."""
    a, b = p[:-1], p[1:]
    n = len(a)
    for i in range(0, n, 256):
        ai, bi = a[i : i + 256, None, :], b[i : i + 256, None, :]
        d1 = _cross(bi - ai, a[None] - ai)
        d2 = _cross(bi - ai, b[None] - ai)
        d3 = _cross(b[None] - a[None], ai - a[None])
        d4 = _cross(b[None] - a[None], bi - a[None])
        crossing = (d1 * d2 < 0) & (d3 * d4 < 0)
        idx = np.arange(i, min(i + 256, n))[:, None]
        crossing &= np.abs(idx - np.arange(n)[None, :]) > 1
        if crossing.any():
            a_i, b_j = np.argwhere(crossing)[0]
            return int(i + a_i), int(b_j)
    return None


def crossing_point(p: np.ndarray, i: int, j: int) -> np.ndarray:
    """Where segment i (p_i → p_i+1) meets segment j."""
    a, r = p[i], p[i + 1] - p[i]
    b, q = p[j], p[j + 1] - p[j]
    t = _cross(b - a, q) / _cross(r, q)
    return a + t * r


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def build_growing_model(g: GrowingInterface, model_unit: float) -> None:
    """Create and mesh the Gmsh model of ``g`` in the current Gmsh session (model units of
    ``model_unit`` metres)."""
    s = 1.0 / model_unit
    p = g.array * s
    w, L = float(g.width * s), float(g.thickness * s)
    near, interface, far = (float(v * s) for v in (g.sizes.near, g.sizes.interface, g.sizes.far))
    geo = gmsh.model.geo  # the built-in kernel: exact polyline, no OCC tolerances to fight
    gmsh.model.add("growing-interface")
    ids = [geo.addPoint(float(x), float(y), 0) for x, y in p]
    top_right, top_left = geo.addPoint(w / 2, L, 0), geo.addPoint(-w / 2, L, 0)
    bottom = [geo.addLine(ids[k], ids[k + 1]) for k in range(len(ids) - 1)]
    right = geo.addLine(ids[-1], top_right)
    top = geo.addLine(top_right, top_left)
    left = geo.addLine(top_left, ids[0])
    loops = [geo.addCurveLoop([*bottom, right, top, left])]
    pore_flags = g.pore_segments or (False,) * len(bottom)
    anode = [line for line, pore in zip(bottom, pore_flags, strict=True) if not pore]
    pores = [line for line, pore in zip(bottom, pore_flags, strict=True) if pore]
    for hole in g.holes:
        h = [geo.addPoint(float(x * s), float(y * s), 0) for x, y in hole]
        lines = [geo.addLine(h[k], h[(k + 1) % len(h)]) for k in range(len(h))]
        loops.append(geo.addCurveLoop(lines))
        pores += lines
    surface = geo.addPlaneSurface(loops)
    geo.synchronize()
    if g.one_edge_per_segment:
        for line in anode:
            gmsh.model.mesh.setTransfiniteCurve(line, 2)  # one edge per segment: mesh vertices = markers
    gmsh.model.addPhysicalGroup(2, [surface], tags.ELECTROLYTE, name="electrolyte")
    gmsh.model.addPhysicalGroup(1, anode, tags.ANODE, name="anode")
    if pores:
        gmsh.model.addPhysicalGroup(1, pores, tags.PORE, name="pore")
    gmsh.model.addPhysicalGroup(1, [top], tags.COUNTER, name="counter")
    gmsh.model.addPhysicalGroup(1, [left, right], tags.SIDE, name="side")
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "CurvesList", anode + pores)
    field.setNumber(dist, "Sampling", 4)
    tip = [float(c) * s for c in g.tip]
    along = field.add("MathEval")
    field.setString(along, "F", f"Min(({far!r}), ({interface!r}) + {GRADING!r} * F{dist})")
    at_tip = field.add("MathEval")
    field.setString(
        at_tip,
        "F",
        f"Min(({far!r}), ({near!r}) + {GRADING!r} * Sqrt((x - ({tip[0]!r}))^2 + (y - ({tip[1]!r}))^2))",
    )
    set_background_minimum([along, at_tip])
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)
