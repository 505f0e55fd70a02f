"""Segmented cross-section images (issue 19, first part): the interface from the pixels, against
the built-in semicircle."""

import math

import numpy as np
import pytest
import skimage.io
import tifffile
from conftest import UM, read_summary, run_cli

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case
from dendrite_fem.geometry.image import read_labels, section_interface
from dendrite_fem.geometry.spec import Defect, GeometryError, MeshSizes, Round, Window
from dendrite_fem.model import Model
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import electrolyte
from dendrite_fem.physics.operation import Galvanostatic

A, W, L = 10 * UM, 200 * UM, 100 * UM
NPS = electrolyte("NPS")
METAL, SE = 1, 2


def rasterised_semicircle(pixel: float, width: float = W, thickness: float = L, base: int = 4) -> np.ndarray:
    """Labels of a semicircle of radius A on flat metal: a pixel is metal where its centre is;
    pixel edges lie on the flat surface y = 0, ``base`` rows of metal below it."""
    cols = int(round(width / pixel)) + 1
    rows = int(round(thickness / pixel)) + base + 1
    x = (np.arange(cols) - (cols - 1) / 2) * pixel
    y = ((rows - 1) - np.arange(rows) - base - 0.5) * pixel
    X, Y = np.meshgrid(x, y)
    return np.where((Y < 0) | (X**2 + Y**2 <= A**2 * (1 + 1e-12)), METAL, SE).astype(np.uint8)


def numbers(model: Model) -> np.ndarray:
    m = model.solve(NPS).metrics
    return np.array([m.max_over_mean, m.features[0]["ratio_to_applied"]])


def test_a_rasterised_semicircle_converges_to_the_built_in_one():
    """max/mean and the tip current of the image of a semicircle at a/10, a/20 and a/40 pixels
    against the built-in semicircle on a fine mesh: the errors fall (observed rates 1.5 and 0.7
    for max/mean, 0.75 and 1.2 for the tip; first order: the smoothing rounds the foot of the
    semicircle over about 2 px) and are below 0.5 % at a/40 (measured 0.10 % and 0.21 %)."""
    window = Window(
        2, W, L, defects=(Defect("protrusion", Round(A)),), sizes=MeshSizes(A / 64, A / 32, L / 15)
    )
    reference = numbers(Model(window, Kinetics(13.0), Galvanostatic(5.1), degree=2))
    errors = {}
    for n in (10, 20, 40):
        section = section_interface(rasterised_semicircle(A / n), A / n, METAL, SE)
        assert section.width == pytest.approx(W) and section.thickness == pytest.approx(L - A / n / 2)
        errors[n] = np.abs(
            numbers(Model(section, Kinetics(13.0), Galvanostatic(5.1), degree=2)) / reference - 1
        )
    assert np.all(errors[20] < errors[10]) and np.all(errors[40] < errors[20])
    assert np.all(errors[40] < 5e-3)
    rates = np.log2(errors[20] / errors[40])
    assert np.all(rates > 0.5)


def test_the_same_labels_from_png_tiff_and_npy(tmp_path):
    """A PNG (also as an RGB export of the grey labels), a TIFF and a .npy of one label image read
    as the same array, and give one interface polyline."""
    labels = rasterised_semicircle(A / 5)
    skimage.io.imsave(tmp_path / "grey.png", labels, check_contrast=False)
    skimage.io.imsave(tmp_path / "rgb.png", np.repeat(labels[..., None], 3, axis=2), check_contrast=False)
    tifffile.imwrite(tmp_path / "labels.tif", labels)
    np.save(tmp_path / "labels.npy", labels)
    for name in ("grey.png", "rgb.png", "labels.tif", "labels.npy"):
        assert np.array_equal(read_labels(tmp_path / name), labels), name
    a = section_interface(read_labels(tmp_path / "grey.png"), "2 um", METAL, SE)
    b = section_interface(labels, 2 * UM, METAL, SE)
    assert a.points == b.points
    tip = np.array(b.points)[np.argmax(np.array(b.points)[:, 1])]
    assert tip == pytest.approx([0.0, A], abs=0.3 * A / 5)


def test_what_an_image_refuses(tmp_path):
    """Labels that are absent, labels that are neither metal nor SE (voids, not yet taken), metal
    islands, an image that is not integer labels, and an unknown format: refused with the reason."""
    labels = rasterised_semicircle(A / 5)
    with pytest.raises(GeometryError, match="no pixel has the metal label 7"):
        section_interface(labels, A / 5, 7, SE)
    with_void = labels.copy()
    with_void[5:8, 5:8] = 3
    with pytest.raises(GeometryError, match=r"labels \[3\] are neither"):
        section_interface(with_void, A / 5, METAL, SE)
    island = labels.copy()
    island[5:15, 20:30] = METAL  # (smaller than about 2σ, an island is smoothed away)
    with pytest.raises(GeometryError, match="island of metal inside the SE"):
        section_interface(island, A / 5, METAL, SE)
    np.save(tmp_path / "float.npy", labels.astype(float))
    with pytest.raises(GeometryError, match="2D array of integers"):
        read_labels(tmp_path / "float.npy")
    (tmp_path / "labels.bmp").write_bytes(b"BM")
    with pytest.raises(GeometryError, match="unknown format"):
        read_labels(tmp_path / "labels.bmp")
    with pytest.raises(GeometryError, match="no such file"):
        read_labels(tmp_path / "missing.png")


def test_voids_at_the_interface_and_inside_the_se_are_pore_walls():
    """A semicircular void where the metal meets the SE (lost contact) and a round void inside
    the SE: their walls are insulating pore walls; the plating current then flows through the
    rest of the anode only (charge balance), the anode shrinks by the contact lost, and the pore
    walls' length is that of the two circles, to the smoothing."""
    px, void = A / 20, 3
    rows, cols = rasterised_semicircle(px).shape
    x = (np.arange(cols) - (cols - 1) / 2) * px
    y = ((rows - 1) - np.arange(rows) - 4 - 0.5) * px
    X, Y = np.meshgrid(x, y)
    labels = np.where(Y < 0, METAL, SE).astype(np.uint8)  # flat metal
    labels[((X + 50 * UM) ** 2 + Y**2 <= A**2) & (Y >= 0)] = void  # the interface void
    labels[(X - 40 * UM) ** 2 + (Y - 40 * UM) ** 2 <= (0.5 * A) ** 2] = void  # inside the SE
    section = section_interface(labels, px, METAL, SE, void=void)
    assert len(section.holes) == 1 and sum(section.pore_segments) > 5
    metrics = Model(section, Kinetics(13.0), Galvanostatic(5.1), degree=2).solve(NPS).metrics
    assert metrics.charge_balance_error < 1e-8
    assert metrics.anode_area == pytest.approx(W - 2 * A, rel=2e-2)
    # the arc of the interface void comes out 10, 4.9, 2.4 % short at a/10, a/20, a/40 (first
    # order: the smoothing rounds its two triple points with the metal over about 2 px), the hole's
    # circumference 9.1, 2.4, 0.65 % short
    assert metrics.pore_area == pytest.approx(math.pi * A + math.pi * A, rel=5e-2)


CASE = """
[case]
name = "from_an_image"

[geometry.image]
path = "section.png"
pixel_size = "1 um"
metal = 1
electrolyte = 2

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


def test_a_case_file_with_an_image(write_case, tmp_path):
    """The image next to the case file gives the window, meshed and solved for both electrolytes;
    the NPS tip current exceeds NAS's, as at the built-in semicircle; the image's content is in the
    case hash; a window size or a 3D dimension next to an image is refused."""
    case = write_case(CASE)
    labels = rasterised_semicircle(1 * UM, width=80 * UM, thickness=40 * UM)
    skimage.io.imsave(tmp_path / "section.png", labels, check_contrast=False)
    first = load_case(case)[1]
    r = run_cli("run", str(case), "--out", str(tmp_path / "res"), "--quiet")
    assert r.returncode == 0, r.stderr
    s = read_summary(tmp_path / "res")
    tips = {k: v["metrics"]["features"][0] for k, v in s["electrolytes"].items()}
    assert tips["NPS"]["name"] == "tip" and tips["NPS"]["ratio_to_mean"] > tips["NAS"]["ratio_to_mean"] > 1
    assert tips["NPS"]["point_m"][1] == pytest.approx(A, rel=0.05)
    assert s["run"]["cells"] > 0 and math.isfinite(s["electrolytes"]["NPS"]["metrics"]["max_over_mean"])
    surface = int(np.flatnonzero(labels[:, 0] == METAL)[0])  # the first metal row at the left edge
    labels[surface - 3 : surface, 8:12] = METAL  # a small bump: another interface, another case
    skimage.io.imsave(tmp_path / "section.png", labels, check_contrast=False)
    assert load_case(case)[1] != first
    labels[surface - 3 : surface, 8:12] = SE
    skimage.io.imsave(tmp_path / "section.png", labels, check_contrast=False)
    assert load_case(case)[1] == first
    for override, reason in [
        ("geometry.width='80 um'", "remove width"),
        ("geometry.dimension=3", "remove dimension = 3"),
        ("geometry.image.metal=5", "no pixel has the metal label 5"),
    ]:
        with pytest.raises(CaseError, match=reason):
            load_case(case, [override])
