"""Synthetic segmented volumes for tests and demos: a rough anode with voids at its interface.

Tomography of a real SE on its anode (X-ray CT, FIB-SEM) is rarely shareable and never small; a
synthetic volume with the same features exercises the whole path from labels to currents:

- the metal fills the volume up to a rough surface ``z = h(x, y)``: the mean at
  ``metal_depth``·nz, a random field smoothed over ``correlation`` voxels (periodic, so the
  sides look alike) with the standard deviation ``roughness`` voxels;
- voids — where contact is lost after stripping, or pores of the SE at its surface — are
  overlapping spheres of radius ``void_radius`` voxels (porespy's generator, seeded), kept within
  ``void_radius`` of the interface, filling ``void_fraction`` of that band.

The labels are ``METAL`` = 1, ``ELECTROLYTE`` = 2 and ``VOID`` = 3, as ``uint8`` (z, y, x).
"""

from __future__ import annotations

import numpy as np

METAL, ELECTROLYTE, VOID = 1, 2, 3


def interface_volume(
    shape: tuple[int, int, int] = (64, 64, 64),
    seed: int = 0,
    *,
    metal_depth: float = 0.25,
    roughness: float = 2.0,
    correlation: float = 8.0,
    void_radius: int = 5,
    void_fraction: float = 0.15,
) -> np.ndarray:
    """A label volume (z, y, x) of a rough anode under its SE with voids at the interface."""
    from scipy.ndimage import gaussian_filter

    try:
        import porespy
    except ImportError:
        raise ImportError(
            "synthetic volumes need porespy: pip install 'dendrite-fem[microstructures]'"
        ) from None

    nz, ny, nx = shape
    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.standard_normal((ny, nx)), correlation, mode="wrap")
    field -= field.mean()  # on a small grid the smoothed noise keeps much of its mean
    field *= roughness / max(field.std(), 1e-300)
    height = metal_depth * nz + field
    z = np.arange(nz, dtype=float)[:, None, None]
    labels = np.where(z < height, METAL, ELECTROLYTE).astype(np.uint8)
    if void_fraction > 0:
        # porespy: True is the space between the spheres, at the porosity given
        spheres = ~porespy.generators.overlapping_spheres(
            list(shape), r=void_radius, porosity=1 - void_fraction, seed=seed
        )
        band = np.abs(z - height) < void_radius
        labels[spheres & band] = VOID
    return labels
