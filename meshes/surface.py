"""Interfaces from a closed surface of the metal (3D): an STL (or OBJ, PLY, VTP) from a CAD model,
a reconstruction or another code.

The surface encloses the metal: a slab at the bottom with whatever grows out of it.  It is
sampled on voxel centres (``voxel_size``, over the surface's x–y extent and from its lowest
point up to ``thickness``; inside: metal, outside: SE, by VTK's enclosed-points test), and the
label volume is a :class:`~dendrite_fem.geometry.volume.VoxelVolume`: the same marching-cubes
interface, walls and tags as a segmented tomography volume.  The interface is therefore
resolved to the voxel size (smoothed over ``smoothing`` voxels), not to the surface's own
triangles; a feature must span several voxels, and each level of the surface (the flat, a tip) is
quantised to the voxels (to within half a voxel; a height between two levels within a voxel).  A
slab with a hemisphere of radius R sampled at R/8 gives the tip current of the built-in hemisphere
within 1.5 % (tests/test_surface.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dendrite_fem.geometry.spec import GeometryError, MeshSizes
from dendrite_fem.geometry.volume import VoxelVolume
from dendrite_fem.units import si

METAL, ELECTROLYTE = 1, 2
#: the formats PyVista reads as a triangulated surface
SUFFIXES = (".stl", ".obj", ".ply", ".vtp")
#: refuse a sampling of more voxels than this (the volume is held in memory and meshed on one rank)
MAX_VOXELS = 50_000_000


def surface_labels(path: str | Path, length_unit: str, voxel_size, thickness) -> tuple[np.ndarray, float]:
    """The label volume (z, y, x) of the closed metal surface in ``path`` whose coordinates are in
    ``length_unit``, and the voxel size [m]: metal inside the surface, SE outside."""
    import pyvista as pv

    path = Path(path)
    h, top = si(voxel_size, "m", "0.25 um"), si(thickness, "m", "20 um")
    scale = si(f"1 {length_unit}", "m", "um")
    if not path.is_file():
        raise GeometryError(f"{path}: no such file (a path is relative to the case file)")
    if path.suffix.lower() not in SUFFIXES:
        raise GeometryError(f"{path}: unknown format {path.suffix!r}; give a {', '.join(SUFFIXES)} file")
    try:
        surface = pv.read(path)
    except Exception as exc:  # noqa: BLE001 - VTK's readers fail in their own ways on a bad file
        raise GeometryError(f"{path}: cannot read the surface ({type(exc).__name__}: {exc})") from None
    if not isinstance(surface, pv.PolyData) or surface.n_cells == 0:
        raise GeometryError(f"{path}: holds no surface triangles")
    surface = surface.triangulate().clean()
    if surface.n_open_edges:
        raise GeometryError(
            f"{path}: the surface is not closed ({surface.n_open_edges} open edges); the metal must be "
            "a closed surface (fill its holes, e.g. with PyVista's fill_holes or MeshLab)"
        )
    surface.points = surface.points * scale
    x0, x1, y0, y1, z0, z1 = surface.bounds
    if top <= z1 - z0:
        raise GeometryError(
            f"{path}: thickness {top:.3g} m does not reach above the metal, which rises {z1 - z0:.3g} m "
            "from its lowest point; give a larger thickness"
        )
    axes = [np.arange(a + h / 2, b, h) for a, b in ((x0, x1), (y0, y1), (z0, z0 + top))]
    shape = tuple(len(a) for a in axes)
    if min(shape) < 4 or np.prod(shape, dtype=float) > MAX_VOXELS:
        raise GeometryError(
            f"{path}: the voxel size {h:.3g} m samples the window in {shape[2]} × {shape[1]} × {shape[0]} "
            f"voxels (z × y × x); give a voxel size with 4 to about {MAX_VOXELS:.0e} voxels in all"
        )
    grid = pv.ImageData(dimensions=shape, spacing=(h, h, h), origin=(axes[0][0], axes[1][0], axes[2][0]))
    inside = grid.select_interior_points(surface, check_surface=False).point_data["selected_points"]
    inside = inside.reshape(shape[::-1]).astype(bool)  # VTK orders the points x fastest: (z, y, x)
    return np.where(inside, METAL, ELECTROLYTE).astype(np.uint8), h


def surface_volume(
    path: str | Path,
    length_unit: str,
    voxel_size,
    thickness,
    smoothing: float = 1.0,
    sizes: MeshSizes | None = None,
) -> VoxelVolume:
    """The 3D window of the closed metal surface in ``path`` (see the module docstring)."""
    labels, h = surface_labels(path, length_unit, voxel_size, thickness)
    return VoxelVolume(labels, h, METAL, ELECTROLYTE, smoothing=smoothing, sizes=sizes, source=str(path))
