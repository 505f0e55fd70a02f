"""Measured interfaces read from files: line profiles and height maps (docs/case-files.md).

A profilometer, an AFM or a traced SEM edge gives heights on a uniform grid: a CSV column or row
(a line profile h(x), for a 2D window), a CSV grid, a NumPy ``.npy`` array or a TIFF image
(h(x, y), rows along y, for a 3D window).  The numbers are in ``height_unit``; the spacing is
``pixel_size``.  :func:`read_height_map` turns them into a
:class:`~dendrite_fem.geometry.spec.HeightMap` in SI units, or refuses them with the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dendrite_fem.geometry.spec import GeometryError, HeightMap
from dendrite_fem.units import si

#: file suffixes read, and how
FORMATS = {".csv": "CSV", ".txt": "CSV", ".npy": "NumPy", ".tif": "TIFF", ".tiff": "TIFF"}


def cropped(data: np.ndarray, crop: list[tuple[int, int]] | None, source) -> np.ndarray:
    """``data`` cut to ``crop``, one [start, stop) index range per axis within its shape (None:
    all of it); measured heights, label images and label volumes alike."""
    if crop is None:
        return data
    if len(crop) != data.ndim:
        raise GeometryError(
            f"{source}: crop gives {len(crop)} ranges for {data.ndim}D data; give one [start, stop) per axis"
        )
    for axis, ((a, b), n) in enumerate(zip(crop, data.shape, strict=True)):
        if not 0 <= a < b <= n:
            raise GeometryError(
                f"{source}: crop range {axis} [{a}, {b}) is not within the data's {n} along that axis "
                f"(shape {data.shape})"
            )
    return data[tuple(slice(a, b) for a, b in crop)]


def _read_csv(path: Path) -> np.ndarray:
    text = path.read_text(encoding="utf-8-sig")
    delimiter = "," if "," in text else None
    try:
        data = np.loadtxt(path, delimiter=delimiter, comments="#", ndmin=2, encoding="utf-8-sig")
    except ValueError as exc:
        raise GeometryError(f"{path}: not a table of numbers ({exc})") from None
    return data[:, 0] if data.shape[1] == 1 else data[0] if data.shape[0] == 1 else data


def _read_array(path: Path) -> np.ndarray:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise GeometryError(
            f"{path}: unknown format {path.suffix!r}; give a {', '.join(sorted(FORMATS))} file"
        )
    if not path.is_file():
        raise GeometryError(f"{path}: no such file (a path is relative to the case file)")
    try:
        if kind == "CSV":
            return _read_csv(path)
        if kind == "NumPy":
            return np.load(path, allow_pickle=False)
        import tifffile

        return tifffile.imread(path)
    except GeometryError:
        raise
    except Exception as exc:  # noqa: BLE001 - each reader fails in its own way on a bad file
        raise GeometryError(f"{path}: cannot read it as {kind} ({type(exc).__name__}: {exc})") from None


def read_height_map(
    path: str | Path,
    pixel_size: float | str,
    height_unit: str,
    smoothing: float = 0.0,
    crop: list[tuple[int, int]] | None = None,
) -> HeightMap:
    """The heights in ``path`` (numbers in ``height_unit``, e.g. ``"um"`` or ``"nm"``) on a grid
    of spacing ``pixel_size`` (SI, or a string with its unit); ``crop``: the [start, stop) index
    range of the samples (a profile) or of the rows and columns (a map) to use."""
    path = Path(path)
    scale = si(f"1 {height_unit}", "m", "um")
    data = np.squeeze(_read_array(path))
    data = cropped(data, crop, path)
    if data.dtype.kind not in "iuf":
        raise GeometryError(f"{path}: heights must be real numbers, the file holds {data.dtype}")
    return HeightMap(data.astype(float) * scale, pixel_size, smoothing, source=str(path))
