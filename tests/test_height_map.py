"""Measured interfaces (issue 19, first part): line profiles and height maps read from files,
against the sinusoid's closed form and the built-in sinusoid."""

import math

import dolfinx
import numpy as np
import pytest
import tifffile
import ufl
from conftest import UM, read_summary, run_cli

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case
from dendrite_fem.geometry.measured import read_height_map
from dendrite_fem.geometry.spec import GeometryError, HeightMap, MeshSizes, Roughness, Window
from dendrite_fem.model import Model
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import electrolyte
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.verification import references

AMP, LAM = 0.15 * UM, 30 * UM


def sinusoid_samples(pixel: float, dim: int = 2) -> np.ndarray:
    """A cos(2πx/λ) (× cos(2πy/λ) in 3D) [µm] on a grid of ``pixel`` [m] over 2λ + 4 pixels."""
    n = int(round(2 * LAM / pixel)) + 5
    x = (np.arange(n) - (n - 1) / 2) * pixel
    h = np.cos(2 * math.pi * x / LAM)
    return AMP / UM * (h if dim == 2 else np.outer(h, h))


def modulation(problem) -> float:
    """δ of i = ī (1 + δ cos kx) on Γa, by projection on cos kx."""
    k = 2 * math.pi / LAM
    mesh = problem.phi.function_space.mesh

    def integral(expr):
        return mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * problem.ds_anode)))

    i_h = -problem.charge_transfer_current
    mean = integral(i_h) / integral(dolfinx.fem.Constant(mesh, 1.0))
    cos = ufl.cos(k * ufl.SpatialCoordinate(mesh)[0])
    return integral((i_h - mean) * cos) / (mean * integral(cos * cos))


def test_a_sampled_sinusoid_reproduces_the_closed_form(tmp_path):
    """A shallow sinusoid (A k = 0.031) sampled every λ/32 and written to a CSV profile: with linear
    kinetics its current modulation matches δ = A k / (1 + k ℓ_W) (docs/verification.md) within
    1 % from the primary to the kinetic regime, and the built-in sinusoid to 1e-5: the spline
    between samples is the sinusoid to (Δx/λ)⁴."""
    np.savetxt(tmp_path / "profile.csv", sinusoid_samples(LAM / 32), delimiter=",")
    measured = read_height_map(tmp_path / "profile.csv", LAM / 32, "um")
    sizes = MeshSizes(0.4 * UM, 0.4 * UM, 4 * UM)
    for sigma in (1e-4, 1e-2, 1.0):
        se = electrolyte(name=f"sigma={sigma:g}", conductivity=sigma)
        deltas = []
        for rough in (measured, Roughness(AMP, LAM)):
            window = Window(2, 2 * LAM, 2 * LAM, roughness=rough, sizes=sizes)
            deltas.append(
                modulation(Model(window, Kinetics(13.0), Galvanostatic(0.13), degree=2).solve(se).problem)
            )
        exact = references.sinusoid_modulation(
            AMP, LAM, references.wagner_length(sigma, 13.0, 0.5, 0.5, 298.15)
        )
        assert deltas[0] == pytest.approx(exact, rel=1e-2)
        assert deltas[0] == pytest.approx(deltas[1], rel=1e-5)


def test_a_height_map_in_3d_from_npy_and_tiff(tmp_path):
    """The same egg-box surface from a .npy array and a float32 TIFF image (rows along y) gives one
    interface: heights to the TIFF's single precision, and the peak the window's highest sample."""
    h = sinusoid_samples(LAM / 16, dim=3)
    np.save(tmp_path / "map.npy", h)
    tifffile.imwrite(tmp_path / "map.tif", h.astype(np.float32))
    a = read_height_map(tmp_path / "map.npy", f"{LAM / 16 / UM} um", "um")
    b = read_height_map(tmp_path / "map.tif", LAM / 16, "um")
    assert a.dim == b.dim == 3 and a.extent == pytest.approx((2 * LAM + 4 * LAM / 16,) * 2)
    x = np.linspace(-LAM, LAM, 41)
    assert np.max(np.abs(a.height(x, x[::-1]) - b.height(x, x[::-1]))) < 1e-7 * AMP
    window = Window(3, 2 * LAM, 10 * UM, depth=LAM, roughness=a)
    (name, peak), *_ = window.feature_points()
    assert name == "peak" and peak == pytest.approx([0.0, 0.0, float(a.height(0.0, 0.0))], abs=1e-12)


def test_what_a_height_map_refuses(tmp_path):
    """Every bad map is refused before meshing with the file and the reason."""
    (tmp_path / "text.csv").write_text("0.1, 0.2\nhigh, low\n")
    (tmp_path / "holes.csv").write_text("\n".join(["0.1", "nan", "0.2", "0.1", "0.3"]))
    (tmp_path / "map.bmp").write_bytes(b"BM")
    cases = [
        (tmp_path / "missing.csv", "no such file"),
        (tmp_path / "text.csv", "not a table of numbers"),
        (tmp_path / "holes.csv", "not finite"),
        (tmp_path / "map.bmp", "unknown format"),
    ]
    for path, reason in cases:
        with pytest.raises(GeometryError, match=reason):
            read_height_map(path, 1 * UM, "um")
    with pytest.raises(GeometryError, match="at least 4 samples"):
        HeightMap(np.zeros(3), 1 * UM)
    line = HeightMap(AMP * np.cos(np.linspace(0, 4 * math.pi, 65)), LAM / 32)
    with pytest.raises(GeometryError, match="less than the window"):
        Window(2, 3 * LAM, 2 * LAM, roughness=line)
    with pytest.raises(GeometryError, match="quarter"):
        Window(2, 2 * LAM, 0.5 * UM, roughness=line)
    with pytest.raises(GeometryError, match="line profile"):
        Window(3, LAM, LAM, roughness=line)
    steep = HeightMap(np.array([0.0, 2.0, 0.0, 2.0, 0.0]) * UM, 1 * UM)
    with pytest.raises(GeometryError, match="steeper than 45"):
        Window(2, 4 * UM, 20 * UM, roughness=steep)


CASE = """
[case]
name = "measured"

[geometry]
dimension = 2
width = "60 um"
thickness = "60 um"

[geometry.height_map]
path = "profile.csv"
pixel_size = "0.9375 um"
height_unit = "um"

[mesh]
element_degree = 2

[operation]
current_density = "0.51 mA/cm2"

[[electrolytes]]
material = "NAS"

[[electrolytes]]
material = "NPS"

[output]
figures = false
"""


def test_a_case_file_with_a_height_map(write_case, tmp_path):
    """The path is relative to the case file; the case hash follows the data's content, so a
    changed file is never taken for the result of the old one; bad fields name themselves."""
    case = write_case(CASE)
    np.savetxt(tmp_path / "profile.csv", sinusoid_samples(LAM / 32))
    first = load_case(case)[1]
    r = run_cli("run", str(case), "--out", str(tmp_path / "res"), "--quiet")
    assert r.returncode == 0, r.stderr
    summary = read_summary(tmp_path / "res")
    assert summary["electrolytes"]["NPS"]["metrics"]["features"][0]["name"] == "peak"
    np.savetxt(tmp_path / "profile.csv", 2 * sinusoid_samples(LAM / 32))
    assert load_case(case)[1] != first
    n = len(sinusoid_samples(LAM / 32))
    half = f"geometry.height_map.crop=[[0,{n // 2}]]"  # the first half of the samples
    with pytest.raises(CaseError, match="less than the window's geometry.width"):
        load_case(case, [half])
    assert load_case(case, [half, "geometry.width='20 um'"])[1] != first
    for override, field in [
        ("geometry.height_map.pixel_size=0.9375", "geometry.height_map.pixel_size"),
        ("geometry.height_map.height_unit='mA'", "geometry.height_map.height_unit"),
        ("geometry.height_map.path='nowhere.csv'", "geometry.height_map"),
        ("geometry.roughness={amplitude='1 um', wavelength='30 um'}", "remove roughness"),
        ("geometry.height_map.crop=[[0,10],[0,10]]", "crop gives 2 ranges for 1D data"),
        ("geometry.height_map.crop=[[0,100000]]", r"crop range 0 \[0, 100000\) is not within"),
    ]:
        with pytest.raises(CaseError, match=field):
            load_case(case, [override])
