"""Sharp-interface growth of the metal (issue 7; docs/model.md §2).

The anode surface, a polyline of markers from the left side of the window to the right,
advances along its normal into the SE at the Faraday rate

    v_n = i_dep V_Na / F          [m/s]

(i_dep the plating current density at the marker).  One step of length dt moves every marker
by v_n dt along its vertex normal; the window sides are mirror planes, so the end markers move
vertically.  Where parts of the front run into each other (a concave corner of the metal) the
swallowtail that normal motion forms is cut off (:func:`remove_loops`).  The time step follows
the fastest marker, dt = min(dt_max, c Δs / v_max) with
Δs the marker spacing there, so no marker moves more than a fraction c of its spacing.  After
a step the markers are re-spaced (:func:`respace`): long segments are split (which does not
change the metal's area) and very short ones merged (which changes it by a triangle, reported).

Mass balance: the metal's area below the polyline (per metre of depth),
A = ∫ y dx (:func:`metal_area`), grows by exactly the charge passed × V_Na / F in the
continuum; the discrete step's ΔA against it is reported every step.

The current in each step is the steady solution for the current geometry (the field relaxes
in microseconds, the interface moves by micrometres per hour): the geometry is the whole
state, so a checkpoint is the marker set and the clock.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dendrite_fem.constants import FARADAY, NA_MOLAR_VOLUME
from dendrite_fem.geometry.growing import crossing_point, first_crossing


def faraday_velocity(i_dep: np.ndarray | float) -> np.ndarray | float:
    """v_n = i_dep V_Na / F [m/s] for a plating current density i_dep [A/m²]."""
    return np.asarray(i_dep) * NA_MOLAR_VOLUME / FARADAY


def vertex_normals(points: np.ndarray) -> np.ndarray:
    """Unit normals at the markers pointing into the SE (+y on a flat interface): the
    normalised sum of the two adjacent segment normals; vertical at the two ends."""
    seg = np.diff(points, axis=0)
    seg_n = np.column_stack([-seg[:, 1], seg[:, 0]])
    seg_n /= np.linalg.norm(seg_n, axis=1)[:, None]
    n = np.zeros_like(points)
    n[1:-1] = seg_n[:-1] + seg_n[1:]
    n[[0, -1]] = (0.0, 1.0)
    norm = np.linalg.norm(n, axis=1)
    bad = norm < 1e-12  # a cusp: fall back to the left segment's normal
    n[bad] = np.vstack([seg_n[:1], seg_n])[np.flatnonzero(bad)]
    return n / np.linalg.norm(n, axis=1)[:, None]


def advance(points: np.ndarray, velocity: np.ndarray, dt: float) -> np.ndarray:
    """Markers moved by ``velocity`` × dt along their normals; the ends stay on the sides."""
    new = points + (velocity * dt)[:, None] * vertex_normals(points)
    new[[0, -1], 0] = points[[0, -1], 0]
    return new


def remove_loops(points: np.ndarray) -> tuple[np.ndarray, int]:
    """Cut the swallowtails that normal motion forms where two parts of the front run into
    each other (a concave corner of the metal): where segment i crosses segment j > i + 1,
    the markers between them are replaced by the crossing point (the entropy solution: fronts
    that meet merge).  Returns the markers and the number of loops removed."""
    p = points
    removed = 0
    while (pair := first_crossing(p)) is not None:
        i, j = pair
        p = np.vstack([p[: i + 1], crossing_point(p, i, j)[None, :], p[j + 1 :]])
        removed += 1
    return p, removed


def metal_area(points: np.ndarray) -> float:
    """Area between y = 0 and the polyline [m², per m of depth]: ∫ y dx along it, the
    shoelace formula of the polygon closed along y = 0 and the sides (which add nothing to
    ∮ y dx); exact for overhanging shapes too."""
    x, y = points[:, 0], points[:, 1]
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def time_step(
    points: np.ndarray,
    velocity: np.ndarray,
    spacing: Callable[[np.ndarray], np.ndarray],
    fraction: float,
    dt_max: float,
) -> float:
    """dt = min(dt_max, min_k fraction · Δs_k / v_k) over the markers that move."""
    ds = spacing(points)
    v = np.maximum(velocity, 0.0)
    moving = v > 0
    if not moving.any():
        return dt_max
    return float(min(dt_max, np.min(fraction * ds[moving] / v[moving])))


def respace(points: np.ndarray, spacing: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, float]:
    """Split segments longer than 1.5 × the target spacing into equal parts no longer than it
    and merge segments shorter than 0.5 × it (dropping the interior marker); returns the new
    markers and the area this changed (splitting changes nothing, merging a triangle each)."""
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        target = float(spacing(((a + b) / 2)[None, :])[0])
        length = float(np.linalg.norm(b - a))
        n = int(np.ceil(length / target - 1e-9)) if length > 1.5 * target else 1
        for k in range(1, n + 1):
            out.append(a + (b - a) * k / n)
    p = np.array(out)
    area_before = metal_area(p)
    keep = np.ones(len(p), dtype=bool)
    k = 1
    while k < len(p) - 1:
        target = float(spacing(p[k][None, :])[0])
        prev = np.flatnonzero(keep[:k])[-1]
        if np.linalg.norm(p[k] - p[prev]) < 0.5 * target:
            keep[k] = False
        k += 1
    # never leave the last segment too short: drop the marker before the end instead
    kept = np.flatnonzero(keep)
    if len(kept) > 2 and np.linalg.norm(p[-1] - p[kept[-2]]) < 0.5 * float(spacing(p[-1][None, :])[0]):
        keep[kept[-2]] = False
    p = p[keep]
    return p, metal_area(p) - area_before
