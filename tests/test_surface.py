"""Closed metal surfaces (issue 19, STL part): sampled on voxels into a VoxelVolume, against the
built-in hemisphere."""

import numpy as np
import pytest
import pyvista as pv
from conftest import UM
from skimage import measure

import dendrite_fem as df
from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case
from dendrite_fem.geometry.spec import GeometryError
from dendrite_fem.geometry.surface import surface_volume

R = 4.0  # µm, on a slab 4 µm thick, 20 × 20 µm


def hemisphere_stl(path, step: float = 0.2, drop: int = 0):
    """A closed STL (µm) of a slab with a hemisphere of radius R on it, from marching cubes of the
    metal on a ``step`` grid; ``drop`` triangles removed open it."""
    x = np.arange(-10, 10 + step / 2, step)
    z = np.arange(-1, 9, step)
    Z, Y, X = np.meshgrid(z, x, x, indexing="ij")
    metal = ((Z <= 4) | (X**2 + Y**2 + (Z - 4) ** 2 <= R**2)) & (Z >= 0)
    v, f, _, _ = measure.marching_cubes(np.pad(metal, 1).astype(float), 0.5)
    v = (v - 1) * step + np.array([z[0], x[0], x[0]])
    f = f[drop:]
    pv.PolyData(v[:, ::-1].copy(), np.hstack([np.full((len(f), 1), 3), f]).ravel()).save(path)
    return path


def test_a_hemisphere_stl_is_the_built_in_hemisphere(tmp_path):
    """Sampled at R/8, the surface's window holds the hemisphere: its tip 4 µm above the flat,
    the anode area within 3 % of the true one, and the NPS and NAS tip currents within 1.5 % of
    the built-in hemisphere's in the same window (the voxel and smoothing error)."""
    window = surface_volume(hemisphere_stl(tmp_path / "metal.stl"), "um", "0.5 um", "20 um")
    assert window.tip[2] == pytest.approx(R * UM, rel=0.02)
    kinetics, operation = df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2")
    width = window.width
    built_in = df.Window(
        3, width, window.thickness, window.depth, defects=[df.Defect("protrusion", df.Round(R * UM))]
    )
    measured, reference = df.Model(window, kinetics, operation), df.Model(built_in, kinetics, operation)
    for name in ("NAS", "NPS"):
        a = measured.solve(df.electrolyte(name)).metrics
        b = reference.solve(df.electrolyte(name)).metrics
        assert a.anode_area == pytest.approx(width * window.depth + np.pi * (R * UM) ** 2, rel=0.03)
        assert a.charge_balance_error < 1e-9
        assert a.features[0]["ratio_to_mean"] == pytest.approx(b.features[0]["ratio_to_mean"], rel=0.015)


def test_what_a_surface_refuses(tmp_path):
    stl = hemisphere_stl(tmp_path / "metal.stl", step=0.5)
    with pytest.raises(GeometryError, match="not closed"):
        surface_volume(hemisphere_stl(tmp_path / "open.stl", step=0.5, drop=5), "um", "0.5 um", "20 um")
    with pytest.raises(GeometryError, match="no such file"):
        surface_volume(tmp_path / "missing.stl", "um", "0.5 um", "20 um")
    (tmp_path / "metal.step").write_text("ISO-10303-21;")
    with pytest.raises(GeometryError, match="unknown format"):
        surface_volume(tmp_path / "metal.step", "um", "0.5 um", "20 um")
    with pytest.raises(GeometryError, match="does not reach above the metal"):
        surface_volume(stl, "um", "0.5 um", "6 um")
    with pytest.raises(GeometryError, match="voxels"):
        surface_volume(stl, "um", "10 um", "20 um")
    with pytest.raises(ValueError, match="unit"):
        surface_volume(stl, "furlong", "0.5 um", "20 um")


CASE = """
[case]
name = "surface"

[geometry]
dimension = 3

[geometry.surface]
path = "metal.stl"
length_unit = "um"
voxel_size = "0.5 um"
thickness = "20 um"

[operation]
current_density = "0.51 mA/cm2"

[[electrolytes]]
material = "NPS"
"""


def test_a_case_file_with_a_surface(write_case, tmp_path):
    """The surface next to the case file is the window (its content in the case hash); bad tables
    are refused naming the field."""
    stl = hemisphere_stl(tmp_path / "metal.stl", step=0.25)
    case = write_case(CASE)
    setup, first = load_case(case)
    # each level (the flat, the tip) is quantised to the voxels: the height between them is
    # within a voxel (0.5 µm), here 3.49 µm where the STL is coarser
    assert setup.window.tip[2] == pytest.approx(R * UM, abs=0.6 * UM)
    hemisphere_stl(stl, step=0.2)
    assert load_case(case)[1] != first
    for override, reason in [
        ("geometry.surface.length_unit='parsec s'", "geometry.surface.length_unit"),
        ("geometry.surface.path='none.stl'", "no such file"),
        ("geometry.surface.thickness='3 um'", "does not reach above the metal"),
        ("geometry.dimension=2", "set dimension = 3"),
    ]:
        with pytest.raises(CaseError, match=reason):
            load_case(case, [override])
