"""Geometry specification of a simulation window, in SI units (metres, radians).

A window is the SE layer of width ``width`` (and ``depth`` in 3D) and thickness
``thickness``: the anode interface lies in the plane y = 0 (2D) or z = 0 (3D),
the counter side at the top, the lateral sides are mirror planes.  Defects sit
on the interface:

* a *protrusion* is anode metal reaching into the SE; its walls are anode;
* a *pore* is an empty cavity in the SE at the interface; its walls insulate.

Nothing here calls Gmsh: these classes only describe and check a geometry, so
that an impossible one is refused before any meshing starts.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Literal

import numpy as np

from dendrite_fem.units import si


class GeometryError(ValueError):
    """A geometry that cannot be built; the message names the field and the fix.

    The fields a message names are placeholders (``$width`` in ``template``) with their paths
    on the domain objects (``fields``: ``{"width": "Window.width"}``); ``str()`` reads them so,
    and :meth:`worded` lets a front end (the case-file resolver) say them in its own terms."""

    def __init__(self, template: str, **fields: str):
        self.template, self.fields = template, fields
        super().__init__(self.worded(lambda path: path))

    def worded(self, name: Callable[[str], str]) -> str:
        """The message with each field path ``p`` written as ``name(p)``."""
        return string.Template(self.template).substitute({k: name(v) for k, v in self.fields.items()})


#: dataclass fields that carry a length and change under :func:`scaled`
_LENGTHS = {
    "radius",
    "height",
    "thickness",
    "tip_radius",
    "x",
    "y",
    "amplitude",
    "wavelength",
    "width",
    "depth",
    "near",
    "interface",
    "far",
    "radius_min",
    "radius_max",
    "gap",
    "interlayer_thickness",
}


def scaled(obj, factor: float):
    """Copy of a geometry description with every length multiplied by ``factor``."""
    if isinstance(obj, tuple):
        return tuple(scaled(o, factor) for o in obj)
    if not is_dataclass(obj):
        return obj
    if isinstance(obj, HeightMap):  # heights are an array, already smoothed
        return HeightMap(obj.heights * factor, obj.pixel_size * factor, 0.0, obj.source)
    changes = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in _LENGTHS and isinstance(value, (int, float)):
            changes[f.name] = value * factor
        elif is_dataclass(value) or isinstance(value, tuple):
            changes[f.name] = scaled(value, factor)
    return replace(obj, **changes)


def _parse_units(obj, units: dict[str, str]) -> None:
    """The constructors take SI numbers or unit strings ("10 um", "15 deg"), parsed once here."""
    examples = {"m": "10 um", "rad": "15 deg"}
    for name, unit in units.items():
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, si(value, unit, examples[unit]))


@dataclass(frozen=True)
class Round:
    """Semicircle (2D) or hemisphere (3D) of radius ``radius`` [m]."""

    radius: float

    def __post_init__(self):
        _parse_units(self, {"radius": "m"})

    @property
    def half_width(self) -> float:
        return self.radius

    @property
    def height(self) -> float:
        return self.radius

    @property
    def smallest_feature(self) -> float:
        return self.radius


@dataclass(frozen=True)
class Ellipse:
    """Half-ellipse (2D) or half-ellipsoid of revolution (3D).

    ``radius`` is the half-width of the footprint on the interface [m] and
    ``height`` how far the shape reaches into the SE [m].
    """

    radius: float
    height: float

    def __post_init__(self):
        _parse_units(self, {"radius": "m", "height": "m"})

    @property
    def half_width(self) -> float:
        return self.radius

    @property
    def smallest_feature(self) -> float:
        return min(self.radius, self.height)


@dataclass(frozen=True)
class FlatVoid:
    """Thin (flat) void: a half-ellipse of half-width ``radius`` and small ``thickness`` [m]."""

    radius: float
    thickness: float

    def __post_init__(self):
        _parse_units(self, {"radius": "m", "thickness": "m"})

    @property
    def half_width(self) -> float:
        return self.radius

    @property
    def height(self) -> float:
        return self.thickness

    @property
    def smallest_feature(self) -> float:
        return self.thickness


@dataclass(frozen=True)
class Cone:
    """Cone (3D) or wedge-shaped notch (2D) with a rounded tip.

    ``height`` is the tip height above the interface [m], ``half_angle`` the
    half opening angle [rad] (small: crack-like), ``tip_radius`` the radius of
    the sphere/circle that rounds the tip [m].  With d = r / sin θ the sharp apex
    would lie at H = h − r + d, and the base half-width is R = H tan θ.
    """

    height: float
    half_angle: float
    tip_radius: float

    def __post_init__(self):
        _parse_units(self, {"height": "m", "half_angle": "rad", "tip_radius": "m"})

    @property
    def apex_height(self) -> float:
        return self.height - self.tip_radius + self.tip_radius / math.sin(self.half_angle)

    @property
    def half_width(self) -> float:
        return self.apex_height * math.tan(self.half_angle)

    @property
    def smallest_feature(self) -> float:
        return self.tip_radius

    @property
    def tangent_height(self) -> float:
        """Height at which the flanks meet the tip circle tangentially [m]."""
        d = self.tip_radius / math.sin(self.half_angle)
        return self.apex_height - d * math.cos(self.half_angle) ** 2

    @property
    def tangent_radius(self) -> float:
        return self.tip_radius * math.cos(self.half_angle)


@dataclass(frozen=True)
class Gap:
    """Loss of contact without a cavity: the strip |x − x0| < ``radius`` (2D) or the
    disc of that radius (3D) of the flat interface insulates [m]."""

    radius: float

    def __post_init__(self):
        _parse_units(self, {"radius": "m"})

    @property
    def half_width(self) -> float:
        return self.radius

    @property
    def height(self) -> float:
        return 0.0

    @property
    def smallest_feature(self) -> float:
        return self.radius


Shape = Round | Ellipse | FlatVoid | Cone | Gap

#: which shapes each kind of defect may take
ALLOWED_SHAPES = {
    "protrusion": (Round, Ellipse, Cone),
    "pore": (Round, FlatVoid, Ellipse, Gap),
}


@dataclass(frozen=True)
class Defect:
    """One defect on the interface, centred at (x, y) of the interface plane [m]."""

    kind: Literal["protrusion", "pore"]
    shape: Shape
    x: float = 0.0
    y: float = 0.0  # 3D only: the second in-plane coordinate

    def __post_init__(self):
        _parse_units(self, {"x": "m", "y": "m"})

    @property
    def size(self) -> float:
        """Characteristic size a for the Wagner number: the reach into the SE of a
        protrusion, the half-width of a pore [m]."""
        return self.shape.height if self.kind == "protrusion" else self.shape.half_width

    def feature_points(self, dim: int) -> list[tuple[str, np.ndarray]]:
        """Points where current concentrates: a protrusion's tip, a pore's rim."""
        up = np.zeros(3)
        up[dim - 1] = 1.0
        centre = np.array([self.x, 0.0, 0.0]) if dim == 2 else np.array([self.x, self.y, 0.0])
        if self.kind == "protrusion":
            return [("tip", centre + self.shape.height * up)]
        rim = centre + np.array([self.shape.half_width, 0.0, 0.0])
        return [("rim", rim)]

    def feature_band(self, dim: int) -> tuple[np.ndarray, float, float] | None:
        """Where the current is singular, the band of the anode over which the feature current
        is averaged instead of taken at a node: (centre, inner radius, width) [m] of the strip
        a < |x − x0| < a + w (2D) or the ring a < r < a + w (3D) next to a contact gap's rim,
        w = a / 10; None elsewhere.  At a gap's rim the current goes as r^(-1/2) in the primary
        limit: its nodal value grows under refinement, the band's mean converges."""
        if not isinstance(self.shape, Gap):
            return None
        centre = np.array([self.x, 0.0, 0.0]) if dim == 2 else np.array([self.x, self.y, 0.0])
        return centre, self.shape.radius, self.shape.radius / 10


@dataclass(frozen=True)
class Roughness:
    """Sinusoidal interface h(x) = A cos(2πx/λ) (2D) or A cos(2πx/λ) cos(2πy/λ) (3D)."""

    amplitude: float
    wavelength: float

    def __post_init__(self):
        _parse_units(self, {"amplitude": "m", "wavelength": "m"})

    def height(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        k = 2.0 * math.pi / self.wavelength
        h = self.amplitude * np.cos(k * x)
        return h if y is None else h * np.cos(k * y)

    @property
    def curvature_radius(self) -> float:
        """Smallest radius of curvature of the surface, λ²/(4π²A) [m]."""
        return self.wavelength**2 / (4 * math.pi**2 * self.amplitude)

    def peak(self, half_width: float = np.inf, half_depth: float = np.inf) -> tuple[float, float]:
        """In-plane position of the highest point [m] (the crest at the window's middle)."""
        return (0.0, 0.0)


@dataclass(frozen=True, eq=False)
class HeightMap:
    """A measured interface: heights [m] on a uniform grid of spacing ``pixel_size`` [m], a line
    profile h(x) (1D, for 2D windows) or a height map h(x, y) (2D array, rows along y, for 3D),
    centred on the window (x = 0 at the middle sample).  ``smoothing``: Gaussian σ in pixels,
    applied first; the mean height is then subtracted, so the interface plane is the mean level.
    Between samples h is the cubic spline through them (C²: no kinks at the pixels).
    ``source`` names the data in messages (a file path).  Data only; the mesh is the flat window
    mapped onto h (as :class:`Roughness`)."""

    heights: np.ndarray
    pixel_size: float
    smoothing: float = 0.0
    source: str = "height map"

    def __post_init__(self):
        _parse_units(self, {"pixel_size": "m"})
        h = np.asarray(self.heights)
        where = self.source
        if h.ndim not in (1, 2) or min(h.shape) < 4:
            raise GeometryError(
                f"{where}: a height map needs at least 4 samples along each axis, as a line (2D) or "
                f"a grid (3D); got an array of shape {h.shape}"
            )
        if not np.issubdtype(h.dtype, np.number) or np.issubdtype(h.dtype, np.complexfloating):
            raise GeometryError(f"{where}: heights must be real numbers, got {h.dtype}")
        h = h.astype(float)
        if not np.all(np.isfinite(h)):
            bad = int(np.sum(~np.isfinite(h)))
            raise GeometryError(
                f"{where}: {bad} heights are missing or not finite (NaN/Inf); fill or crop them out"
            )
        if not (self.pixel_size > 0 and self.smoothing >= 0):
            raise GeometryError(f"{where}: the pixel size must be positive and the smoothing ≥ 0")
        if self.smoothing > 0:
            from scipy.ndimage import gaussian_filter

            h = gaussian_filter(h, self.smoothing, mode="nearest")
        h = h - h.mean()
        h.setflags(write=False)
        object.__setattr__(self, "heights", h)

    @property
    def dim(self) -> int:
        """Dimension of the window it is for: 2 for a line profile, 3 for a grid."""
        return self.heights.ndim + 1

    def _axis(self, n: int) -> np.ndarray:
        return (np.arange(n) - (n - 1) / 2) * self.pixel_size

    @property
    def extent(self) -> tuple[float, ...]:
        """Lengths covered along x (and y) [m]."""
        return tuple((n - 1) * self.pixel_size for n in self.heights.shape[::-1])

    @functools.cached_property
    def _spline(self):
        from scipy.interpolate import RectBivariateSpline, make_interp_spline

        h = self.heights
        if h.ndim == 1:
            return make_interp_spline(self._axis(len(h)), h, k=3)
        return RectBivariateSpline(self._axis(h.shape[0]), self._axis(h.shape[1]), h, kx=3, ky=3)

    def height(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        if self.heights.ndim == 1:
            return self._spline(x)
        return self._spline.ev(y, x)

    @property
    def amplitude(self) -> float:
        """Largest |h| [m] (above or below the mean level)."""
        return float(np.abs(self.heights).max())

    def peak(self, half_width: float = np.inf, half_depth: float = np.inf) -> tuple[float, float]:
        """In-plane position of the highest sample within |x| ≤ half_width, |y| ≤ half_depth [m]
        (of equal ones, the one nearest the middle)."""
        h = self.heights
        x = self._axis(h.shape[-1])
        if h.ndim == 1:
            grid = [x, np.zeros(1)]
            h = h[None, :]
        else:
            grid = [x, self._axis(h.shape[0])]
        X, Y = np.meshgrid(*grid)
        inside = (np.abs(X) <= half_width * (1 + 1e-12)) & (np.abs(Y) <= half_depth * (1 + 1e-12))
        score = np.where(inside, h, -np.inf)
        best = np.flatnonzero(score == score.max())
        j = best[np.argmin(np.hypot(X.ravel()[best], Y.ravel()[best]))]
        return (float(X.ravel()[j]), float(Y.ravel()[j]))

    @property
    def wavelength(self) -> float:
        """The dominant lateral length [m]: the wavelength of the strongest Fourier mode (along
        each axis; the shorter), between 4 pixels and the map's extent."""
        out = []
        for axis, n in enumerate(self.heights.shape):
            power = np.abs(np.fft.rfft(self.heights, axis=axis)) ** 2
            if power.ndim == 2:
                power = power.sum(axis=1 - axis)
            k = int(np.argmax(power[1:])) + 1
            out.append(n * self.pixel_size / k)
        return float(np.clip(min(out), 4 * self.pixel_size, max(self.extent)))

    @property
    def curvature_radius(self) -> float:
        """Smallest radius of curvature of the sampled surface, 1 / max |∂²h| (second differences
        along each axis) [m], at least the pixel size."""
        d2 = [np.abs(np.diff(self.heights, 2, axis=a)).max() for a in range(self.heights.ndim)]
        return float(max(self.pixel_size**2 / max(max(d2), 1e-300), self.pixel_size))

    @property
    def max_slope(self) -> float:
        """Largest |∂h/∂x| (or |∂h/∂y|) between samples."""
        return float(
            max(np.abs(np.diff(self.heights, axis=a)).max() for a in range(self.heights.ndim))
            / self.pixel_size
        )

    def digest(self) -> str:
        """SHA-256 of the heights (after smoothing) and the pixel size."""
        import hashlib

        d = hashlib.sha256(np.ascontiguousarray(self.heights).tobytes())
        d.update(repr((self.heights.shape, self.pixel_size)).encode())
        return d.hexdigest()

    def __repr__(self) -> str:  # what a mesh cache key sees: the data, not the object
        return (
            f"HeightMap(shape={self.heights.shape}, pixel_size={self.pixel_size!r}, sha256={self.digest()})"
        )


@dataclass(frozen=True)
class RandomDefects:
    """``count`` round defects of radius in [radius_min, radius_max], placed at random
    (seeded) so that no two overlap and none touches a side."""

    count: int
    seed: int
    kind: Literal["protrusion", "pore"]
    radius_min: float
    radius_max: float
    gap: float = 0.0  #: smallest clearance between two defects [m]

    def __post_init__(self):
        _parse_units(self, {"radius_min": "m", "radius_max": "m", "gap": "m"})

    def realise(self, window: Window) -> list[Defect]:
        rng = np.random.default_rng(self.seed)
        placed: list[Defect] = []
        half = np.array([window.width / 2, window.in_plane_depth / 2])
        for _attempt in range(200 * self.count + 1000):
            if len(placed) == self.count:
                return placed
            r = rng.uniform(self.radius_min, self.radius_max)
            lim = half - r - self.gap
            if window.dim == 2:
                lim[1] = 0.0
            if lim[0] <= 0 or (window.dim == 3 and lim[1] <= 0):
                break
            p = rng.uniform(-lim, lim)
            if all(math.hypot(p[0] - d.x, p[1] - d.y) > r + d.shape.half_width + self.gap for d in placed):
                placed.append(Defect(self.kind, Round(r), float(p[0]), float(p[1])))
        raise GeometryError(
            f"$random: could only place {len(placed)} of {self.count} "
            "non-overlapping defects; reduce count or radius_max, or widen $width",
            random="RandomDefects",
            width="Window.width",
        )


@dataclass(frozen=True)
class MeshSizes:
    """Target element sizes [m]: ``near`` at defect walls, tips and rims,
    ``interface`` along the flat anode, ``far`` away from the interface."""

    near: float
    interface: float
    far: float

    def __post_init__(self):
        _parse_units(self, {"near": "m", "interface": "m", "far": "m"})


@dataclass(frozen=True, eq=False)
class SizeMap:
    """Target element sizes [m] over the window, given on the simplices of an earlier mesh of
    it: ``simplices`` (n, d + 1, 3) vertex coordinates [m] and ``sizes`` (n, d + 1) [m] at those
    vertices; the mesher interpolates linearly inside each simplex.  What the error estimate
    asks of the next mesh (:mod:`dendrite_fem.adaptivity`); data only, Gmsh reads it."""

    simplices: np.ndarray
    sizes: np.ndarray

    def __post_init__(self):
        n = len(self.simplices)
        if (
            self.simplices.ndim != 3
            or self.simplices.shape[2] != 3
            or self.sizes.shape != self.simplices.shape[:2]
        ):
            raise GeometryError(
                f"a size map needs simplices of shape (n, d+1, 3) and sizes (n, d+1), got "
                f"{self.simplices.shape} and {self.sizes.shape}"
            )
        if n == 0 or not np.all(np.isfinite(self.sizes)) or not np.all(self.sizes > 0):
            raise GeometryError("a size map needs at least one simplex and finite, positive sizes")

    @property
    def dim(self) -> int:
        return self.simplices.shape[1] - 1

    def digest(self) -> str:
        """SHA-256 of the map's numbers (a mesh cache key)."""
        import hashlib

        h = hashlib.sha256(np.ascontiguousarray(self.simplices, dtype=float).tobytes())
        h.update(np.ascontiguousarray(self.sizes, dtype=float).tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class Window:
    """The SE window with its interface (flat, with defects, or rough)."""

    dim: Literal[2, 3]
    width: float
    thickness: float
    depth: float | None = None  #: 3D: extent in y; defaults to ``width``
    defects: tuple[Defect, ...] = ()
    roughness: Roughness | HeightMap | None = None
    sizes: MeshSizes | None = None
    section_plane: bool = True  #: 3D: embed the plane y = 0 so the mesh has a profile trace
    interlayer_thickness: float | None = None  #: a band 0 < y < t (2D) / z (3D) tagged interlayer
    interlayer_coats_defects: bool = True  #: the layer also coats round protrusions (False: flat band only)

    def __post_init__(self):
        _parse_units(self, {"width": "m", "thickness": "m", "depth": "m", "interlayer_thickness": "m"})
        object.__setattr__(self, "defects", tuple(self.defects))
        self.check()  # the one check: a Window that exists can be meshed

    @property
    def in_plane_depth(self) -> float:
        return 0.0 if self.dim == 2 else (self.depth or self.width)

    def characteristic_size(self) -> float:
        """The defect size a of the Wagner number Wa = ℓ_W / a [m]."""
        if self.defects:
            return max(d.size for d in self.defects)
        if self.roughness is not None:
            return self.roughness.amplitude
        return self.thickness

    def feature_bands(self) -> list[tuple[np.ndarray, float, float] | None]:
        """:meth:`Defect.feature_band` of each of :meth:`feature_points`, in the same order."""
        bands = [d.feature_band(self.dim) for d in self.defects for _ in d.feature_points(self.dim)]
        return bands + [None] * (self.roughness is not None)

    def feature_points(self) -> list[tuple[str, np.ndarray]]:
        pts = [p for d in self.defects for p in d.feature_points(self.dim)]
        if self.roughness is not None:
            r = self.roughness
            peak = np.zeros(3)
            peak[: self.dim - 1] = r.peak(self.width / 2, self.in_plane_depth / 2)[: self.dim - 1]
            peak[self.dim - 1] = r.height(*peak[: self.dim - 1]) if isinstance(r, HeightMap) else r.amplitude
            pts.append(("peak", peak))
        return pts

    def resolved_sizes(self) -> MeshSizes:
        """Mesh sizes, given or derived from the geometry: ``near`` resolves the
        smallest feature (a tip radius, a void thickness), ``interface`` the defect
        size along walls and the anode plane."""
        if self.sizes is not None:
            return self.sizes
        scale = min(self.width, self.thickness)
        per = 16 if self.dim == 2 else 4
        far = scale / (15 if self.dim == 2 else 5)
        if self.defects:
            near = min(d.shape.smallest_feature for d in self.defects) / per
            interface = min(d.size for d in self.defects) / per
        elif self.roughness is not None:
            # what the field varies on is the wavelength (it decays over λ/2π into the SE) and the
            # surface's smallest curvature radius λ²/(4π²A), not the amplitude: sizes from A put
            # 9 nm cells on a 0.15 µm sinusoid of λ = 30 µm, 16x the DOFs of 0.25 µm cells for
            # the same max/mean to 4e-7
            r = self.roughness
            near = interface = min(r.wavelength / 8, r.curvature_radius) / per
            if isinstance(r, HeightMap):  # the data say nothing below their pixels
                near = interface = max(near, r.pixel_size / 2)
        else:
            near = interface = far / 2
        interface = min(max(interface, near), far)
        return MeshSizes(near=min(near, interface), interface=interface, far=far)

    def estimated_cells(self) -> float:
        """About how many cells the mesh will have, before meshing: the background size
        h = min(far, h₀ + g d) of the builders integrated as N ≈ c_d ∫ dV / h^d over the window
        (each refined layer, of measure A and size h₀, adds c_d A / ((d − 1) g h₀^(d−1))).  An
        estimate to refuse what cannot be meshed, good to a factor of about 2."""
        from dendrite_fem.geometry.builders import GRADING

        s = self.resolved_sizes()
        d = self.dim
        c = 2.3 if d == 2 else 4.2  # cells per h^d (equilateral triangles; Gmsh's tetrahedra, measured)
        span = self.width if d == 2 else self.width * self.in_plane_depth
        volume = span * self.thickness
        plane = s.interface if not self.defects else max(s.interface, s.far / 2)
        if self.interlayer_thickness is not None:
            plane = min(plane, self.interlayer_thickness / 2)

        def layer(measure: float, h0: float) -> float:
            return c * measure / ((d - 1) * GRADING * h0 ** (d - 1))

        n = c * volume / s.far**d + layer(span, plane)
        for defect in self.defects:
            w, h = defect.shape.half_width, max(defect.shape.height, defect.shape.half_width)
            wall = math.pi * h if d == 2 else 2 * math.pi * w * h
            tip = min(wall, math.pi * (10 * s.near) ** (d - 1))  # where the size is near, not interface
            n += layer(wall, s.interface) + layer(tip, s.near)
        return n

    def check(self) -> None:
        """Refuse impossible combinations with a message that names the field (run on
        construction; a :class:`GeometryError` names fields as ``Window.<path>``)."""
        for name, value in (("width", self.width), ("thickness", self.thickness)):
            if not value > 0:
                raise GeometryError(f"$field must be positive, got {value!r} m", field=f"Window.{name}")
        if self.dim == 3 and self.depth is not None and not self.depth > 0:
            raise GeometryError(f"$depth must be positive, got {self.depth!r} m", depth="Window.depth")
        t = self.interlayer_thickness
        if t is not None and not 0 < t < 0.5 * self.thickness:
            raise GeometryError(
                f"$layer ({t * 1e6:.4g} um) must lie between 0 and half the SE thickness "
                f"({self.thickness * 1e6:.4g} um); make it thinner or increase $thickness",
                layer="Window.interlayer_thickness",
                thickness="Window.thickness",
            )
        if t is not None and self.interlayer_coats_defects:
            for i, d in enumerate(self.defects):
                if d.kind == "protrusion" and not isinstance(d.shape, Round):
                    raise GeometryError(
                        "$defect: a meshed interlayer coats round protrusions only; use "
                        "$representation = 'resistance' for this shape",
                        defect=f"Window.defects[{i}]",
                        representation="Layer.representation",
                    )
        if self.defects and self.roughness is not None:
            raise GeometryError(
                "give either defects or roughness, not both (remove $roughness or $defects)",
                roughness="Window.roughness",
                defects="Window.defects",
            )
        for i, d in enumerate(self.defects):
            self._check_defect(i, d)
        for i in range(len(self.defects)):
            for j in range(i + 1, len(self.defects)):
                a, b = self.defects[i], self.defects[j]
                gap = math.hypot(a.x - b.x, a.y - b.y) - a.shape.half_width - b.shape.half_width
                if gap <= 0:
                    raise GeometryError(
                        f"$a and $b overlap (their footprints intersect by {-gap * 1e6:.3g} um); move them apart",
                        a=f"Window.defects[{i}]",
                        b=f"Window.defects[{j}]",
                    )
        if self.roughness is not None:
            self._check_roughness()
        if self.sizes is not None:
            s = self.sizes
            if not (0 < s.near <= s.interface <= s.far):
                raise GeometryError(
                    "$sizes must satisfy 0 < near <= interface <= far, "
                    f"got {s.near:.3g}, {s.interface:.3g}, {s.far:.3g} m",
                    sizes="Window.sizes",
                )

    def _check_defect(self, i: int, d: Defect) -> None:
        where = f"Window.defects[{i}]"
        s = d.shape

        def refuse(template: str, **more: str):
            raise GeometryError(template, defect=where, **more)

        if not isinstance(s, ALLOWED_SHAPES[d.kind]):
            names = ", ".join(c.__name__.lower() for c in ALLOWED_SHAPES[d.kind])
            refuse(f"$defect: a {d.kind} cannot have shape {type(s).__name__.lower()}; use one of {names}")
        for name in ("radius", "height", "thickness", "tip_radius"):
            if isinstance(s, Gap) and name == "height":
                continue  # a contact gap has no cavity
            value = getattr(s, name, None)
            if value is not None and not value > 0:
                refuse(f"$defect.{name} must be positive, got {value!r} m")
        if isinstance(s, Cone):
            if not 0 < s.half_angle < math.pi / 2:
                refuse(
                    "$defect.half_angle must lie strictly between 0 and 90 deg, "
                    f"got {math.degrees(s.half_angle):.3g} deg"
                )
            if s.tip_radius >= s.height:
                refuse(
                    f"$defect.tip_radius ({s.tip_radius * 1e6:.3g} um) must be smaller than "
                    f"its height ({s.height * 1e6:.3g} um)"
                )
        if isinstance(s, FlatVoid) and s.thickness >= s.radius:
            refuse(
                "$defect.thickness must be smaller than its radius for a flat void; use shape = 'round' for a thick one"
            )
        half_w = self.width / 2
        if abs(d.x) + s.half_width >= half_w:
            refuse(
                f"$defect reaches x = {(abs(d.x) + s.half_width) * 1e6:.4g} um, beyond the window "
                f"half-width {half_w * 1e6:.4g} um; widen $width to more than "
                f"{2 * (abs(d.x) + s.half_width) * 1e6:.4g} um or move/shrink the defect",
                width="Window.width",
            )
        if self.dim == 3 and abs(d.y) + s.half_width >= self.in_plane_depth / 2:
            refuse(
                f"$defect reaches y = {(abs(d.y) + s.half_width) * 1e6:.4g} um, beyond the window "
                f"half-depth {self.in_plane_depth / 2 * 1e6:.4g} um; enlarge $depth",
                depth="Window.depth",
            )
        if self.dim == 2 and d.y != 0.0:
            refuse("$defect.y is only meaningful in 3D; remove it")
        if s.height >= 0.8 * self.thickness:
            refuse(
                f"$defect reaches {s.height * 1e6:.4g} um into an SE of thickness "
                f"{self.thickness * 1e6:.4g} um (limit 80 %); increase $thickness",
                thickness="Window.thickness",
            )

    def _check_roughness(self) -> None:
        r = self.roughness
        assert r is not None
        if isinstance(r, HeightMap):
            self._check_height_map(r)
            return
        if not (r.amplitude > 0 and r.wavelength > 0):
            raise GeometryError(
                "$roughness: amplitude and wavelength must be positive", roughness="Window.roughness"
            )
        if r.amplitude >= 0.5 * self.thickness:
            raise GeometryError(
                "$amplitude must be below half the thickness; increase $thickness",
                amplitude="Window.roughness.amplitude",
                thickness="Window.thickness",
            )
        # mirror-symmetric sides need a whole number of wavelengths across the window
        for name, extent in (("width", self.width), ("depth", self.in_plane_depth)):
            if self.dim == 2 and name == "depth":
                continue
            n = extent / r.wavelength
            if abs(n - round(n)) > 1e-6 or round(n) < 1:
                raise GeometryError(
                    f"$extent ({extent * 1e6:.4g} um) must be a whole number of "
                    f"roughness wavelengths ({r.wavelength * 1e6:.4g} um) so that the mirror "
                    f"sides see a symmetric profile; try {max(1, round(n)) * r.wavelength * 1e6:.4g} um",
                    extent=f"Window.{name}",
                )

    def _check_height_map(self, r: HeightMap) -> None:
        """A measured surface must fit the window, be flat enough to map the mesh onto it, and
        have the window's dimension."""
        where = r.source
        if r.dim != self.dim:
            raise GeometryError(
                f"{where}: a {'line profile' if r.dim == 2 else 'height grid'} is for a "
                f"{r.dim}D window; $dimension is {self.dim}",
                dimension="Window.dim",
            )
        spans = [("width", self.width)] + ([("depth", self.in_plane_depth)] if self.dim == 3 else [])
        for (name, extent), covered in zip(spans, r.extent, strict=True):
            if extent > covered * (1 + 1e-9):
                raise GeometryError(
                    f"{where}: the map covers {covered * 1e6:.4g} um, less than the window's $extent "
                    f"({extent * 1e6:.4g} um); make the window smaller or give more samples",
                    extent=f"Window.{name}",
                )
        if r.amplitude >= 0.25 * self.thickness:
            raise GeometryError(
                f"{where}: heights reach {r.amplitude * 1e6:.4g} um from their mean, more than a quarter "
                "of $thickness; make the window thicker",
                thickness="Window.thickness",
            )
        if r.max_slope > 1.0:
            raise GeometryError(
                f"{where}: the surface is steeper than 45° (slope {r.max_slope:.3g}) between samples: the "
                "mesh cannot follow it by mapping; smooth it (smoothing, in pixels) or check the pixel size"
            )
