"""Interfaces from segmented cross-section images (2D).

A cross-section (SEM, FIB-SEM slice, a tomography slice) segmented into labels — metal below,
solid electrolyte above — gives the anode interface as the boundary between the two.  The
metal mask is smoothed (Gaussian, ``smoothing`` pixels, 2 by default: the staircase of the
pixels is not the interface), its 0.5 level contour found by marching squares and simplified to ``tolerance``
pixels (scikit-image), and the resulting polyline from the left edge to the right edge is the
interface of a :class:`~dendrite_fem.geometry.growing.GrowingInterface` window: the SE above it
up to the top of the image (the counter side), mirror sides, the usual physical groups.

Coordinates: x = 0 at the middle of the image, y = 0 at the lowest point of the interface (the
flat metal surface), pixel centres at whole multiples of the pixel size.  With a ``void``
label, voids are pore walls (insulating): at the interface (contact lost) and inside the SE
(holes).  Islands of metal inside the SE are refused (they are not connected to the anode).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dendrite_fem.geometry.growing import GrowingInterface
from dendrite_fem.geometry.measured import cropped
from dendrite_fem.geometry.spec import GeometryError, MeshSizes
from dendrite_fem.units import si


def read_labels(path: str | Path, ndim: int = 2, crop: list[tuple[int, int]] | None = None) -> np.ndarray:
    """The label image in ``path`` (PNG, TIFF or .npy; a colour image must be greyscale), or with
    ``ndim = 3`` the label volume (a multi-page TIFF stack or .npy, slices along the first axis);
    ``crop``: one [start, stop) index range per axis of the part to use."""
    path = Path(path)
    if not path.is_file():
        raise GeometryError(f"{path}: no such file (a path is relative to the case file)")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            data = tifffile.imread(path)
        elif suffix == ".png" and ndim == 2:
            import skimage.io

            data = skimage.io.imread(path)
        else:
            raise GeometryError(
                f"{path}: unknown format {path.suffix!r}; give a "
                f"{'.png, ' if ndim == 2 else ''}.tif, .tiff or .npy file"
            )
    except GeometryError:
        raise
    except Exception as exc:  # noqa: BLE001 - each reader fails in its own way on a bad file
        raise GeometryError(f"{path}: cannot read the image ({type(exc).__name__}: {exc})") from None
    if ndim == 2 and data.ndim == 3 and data.shape[2] in (3, 4) and np.all(data[..., :3] == data[..., :1]):
        data = data[..., 0]  # an RGB(A) export of a greyscale label image
    if data.ndim != ndim or data.dtype.kind not in "iub":
        what = "image" if ndim == 2 else "volume"
        raise GeometryError(
            f"{path}: a label {what} is a {ndim}D array of integers; this one is {data.ndim}D of {data.dtype}"
        )
    return cropped(data, crop, path)


def section_interface(
    labels: np.ndarray,
    pixel_size: float | str,
    metal: int,
    electrolyte: int,
    smoothing: float = 2.0,
    tolerance: float = 0.05,
    sizes: MeshSizes | None = None,
    source: str = "image",
    void: int | None = None,
) -> GrowingInterface:
    """The window of a segmented cross-section: ``labels`` (rows from the top), ``pixel_size``
    (SI or a string with its unit), the label values of the ``metal``, the ``electrolyte`` and,
    if there are voids, the ``void``.  The SE's boundary from the left edge to the right edge is
    the interface: anode where metal lies beyond it, insulating pore wall where a void does;
    voids inside the SE are holes with pore walls.
    ``sizes`` default to the pixel size along the interface, half of it at the tip and a
    fifteenth of the SE's thickness far from it.  ``smoothing`` (Gaussian σ, pixels): without
    it the pixels' staircase survives in the contour as ±0.4 px ripples, whose corners focus the
    current (a rasterised semicircle then stays 1.3 % off at any pixel size); 2 px removes them
    (0.1 % at a/40) and rounds features smaller than about 4 px."""
    from scipy.ndimage import gaussian_filter, map_coordinates
    from skimage import measure

    px = si(pixel_size, "m", "0.1 um")
    labels = np.asarray(labels)
    present = set(np.unique(labels).tolist())
    for name, value in (("metal", metal), ("electrolyte", electrolyte)):
        if value not in present:
            raise GeometryError(
                f"{source}: no pixel has the {name} label {value} (labels present: {sorted(present)})"
            )
    known = {metal, electrolyte} | ({void} if void is not None else set())
    other = present - known
    if other:
        raise GeometryError(
            f"{source}: labels {sorted(other)} are neither metal ({metal}) nor electrolyte "
            f"({electrolyte}){'' if void is None else f' nor void ({void})'}; give the void label "
            "(void) or relabel them"
        )
    se = (labels == electrolyte).astype(float)
    if smoothing > 0:
        se = gaussian_filter(se, smoothing, mode="nearest")
    rows, cols = labels.shape
    contours = measure.find_contours(se, 0.5)
    spanning = [c for c in contours if {round(c[0, 1]), round(c[-1, 1])} == {0, cols - 1}]
    closed = [c for c in contours if np.allclose(c[0], c[-1])]
    if len(spanning) != 1 or len(spanning) + len(closed) != len(contours):
        raise GeometryError(
            f"{source}: the SE must be one region above the metal, its lower boundary running from "
            f"the left edge to the right edge; found {len(contours)} boundaries, {len(spanning)} of them "
            "across the image"
        )
    gy, gx = np.gradient(se)

    def beyond(points: np.ndarray) -> np.ndarray:
        """The first label other than the SE's found going out of the SE from each point (along
        −∇ of the smoothed SE mask, 1 to 6 px); metal where none is found."""
        g = np.stack([map_coordinates(gy, points.T, order=1), map_coordinates(gx, points.T, order=1)], axis=1)
        out = -g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-300)
        found = np.full(len(points), metal)
        open_ = np.ones(len(points), dtype=bool)
        for distance in (1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
            at = np.rint(points + distance * out).astype(int)
            at[:, 0] = np.clip(at[:, 0], 0, rows - 1)
            at[:, 1] = np.clip(at[:, 1], 0, cols - 1)
            value = labels[at[:, 0], at[:, 1]]
            hit = open_ & (value != electrolyte)
            found[hit] = value[hit]
            open_ &= ~hit
        return found

    def to_window(c: np.ndarray) -> np.ndarray:
        return np.stack([(c[:, 1] - (cols - 1) / 2) * px, ((rows - 1) - c[:, 0]) * px], axis=1)

    line = spanning[0] if spanning[0][0, 1] < spanning[0][-1, 1] else spanning[0][::-1]
    line = measure.approximate_polygon(line, tolerance)
    pore = (
        (beyond(0.5 * (line[1:] + line[:-1])) != metal) if void is not None else np.zeros(len(line) - 1, bool)
    )
    holes = []
    for c in closed:
        c = measure.approximate_polygon(c, tolerance)[:-1]
        if len(c) < 3:
            continue  # a void of a pixel or two, smoothed to nothing
        outside = beyond(c)
        if np.any(outside == metal):
            raise GeometryError(
                f"{source}: an island of metal inside the SE near pixel ({int(c[0, 0])}, {int(c[0, 1])}): "
                "it is not connected to the anode; relabel it"
            )
        holes.append(c)
    xy = to_window(line)
    base = xy[:, 1].min()
    points = tuple(map(tuple, xy - [0.0, base]))
    thickness = (rows - 1) * px - base
    sizes = sizes or MeshSizes(px / 2, px, thickness / 15)
    return GrowingInterface(
        (cols - 1) * px,
        thickness,
        points,
        sizes,
        one_edge_per_segment=False,
        pore_segments=tuple(bool(p) for p in pore) if pore.any() else None,
        holes=tuple(tuple(map(tuple, to_window(h) - [0.0, base])) for h in holes),
    )
