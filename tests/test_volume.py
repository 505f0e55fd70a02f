"""Segmented voxel volumes (issue 19, 3D part): the interface from marching cubes, against the flat
cell's closed form, the charge balance and the serial run."""

import shutil

import numpy as np
import pytest
import pyvista as pv
import tifffile
from conftest import ROOT, UM, read_summary, run_on_one_and_two_ranks

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case
from dendrite_fem.geometry import tags
from dendrite_fem.geometry.image import read_labels
from dendrite_fem.geometry.spec import GeometryError
from dendrite_fem.geometry.synthetic import ELECTROLYTE, METAL, VOID, interface_volume
from dendrite_fem.geometry.volume import VoxelVolume
from dendrite_fem.model import Model
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import electrolyte
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.verification.references import cell_voltage_1d

VOXEL = 0.5 * UM
I_APP = 5.1  # A/m², 0.51 mA/cm²
KINETICS = Kinetics("1.3 mA/cm2")
SAMPLE = ROOT / "cases" / "data" / "volume.tif"


def flat_volume(nz: int = 16, ny: int = 10, nx: int = 12, metal_slices: int = 5) -> np.ndarray:
    labels = np.full((nz, ny, nx), ELECTROLYTE, dtype=np.uint8)
    labels[:metal_slices] = METAL
    return labels


def test_a_flat_volume_is_the_one_dimensional_cell():
    """Metal below a flat plane of voxel faces: the marching-cubes interface is that plane, the
    current uniform, and the cell voltage the 1D closed form V = i L/σ − η(i) (P1 is exact for
    the linear potential; the tolerances are the Newton's)."""
    v = VoxelVolume(flat_volume(), "0.5 um", METAL, ELECTROLYTE)
    assert v.thickness == pytest.approx(10.5 * VOXEL, rel=1e-12)  # slice 4.5 (the plane) to slice 15
    nps = electrolyte("NPS")
    m = Model(v, KINETICS, Galvanostatic(I_APP)).solve(nps).metrics
    assert m.anode_area == pytest.approx(11 * 9 * VOXEL**2, rel=1e-12)
    assert m.counter_area == pytest.approx(m.anode_area, rel=1e-12) and m.pore_area == 0
    assert m.max_over_mean == pytest.approx(1, abs=1e-8) and m.min_over_mean == pytest.approx(1, abs=1e-8)
    sigma = nps.conductivity(KINETICS.temperature)
    k = KINETICS
    expected = cell_voltage_1d(
        I_APP, [(v.thickness, sigma)], k.effective_exchange_current, k.alpha_a, k.alpha_c, k.temperature
    )
    assert m.counter_potential == pytest.approx(expected, rel=1e-8)


@pytest.fixture(scope="module")
def rough():
    """The synthetic volume of the shipped case (64³ would be 15 s here; 40 × 40 × 40 holds the
    same features: a rough surface, voids cut by the side planes and inside)."""
    return VoxelVolume(
        interface_volume((40, 40, 40), seed=3, void_radius=4), "0.5 um", METAL, ELECTROLYTE, VOID
    )


def test_a_rough_volume_with_voids_carries_the_current(rough):
    """The rough surface and its voids: every tag present, the counter side the full box top, the
    charge balanced; the current focuses more in the poorer conductor (NPS) than in NAS."""
    model = Model(rough, KINETICS, Galvanostatic(I_APP))
    facets = model.mesh.facet_tags
    for tag in (tags.ANODE, tags.PORE, tags.SIDE, tags.COUNTER):
        assert model.comm.allreduce(len(facets.find(tag))) > 0, tag
    metrics = {name: model.solve(electrolyte(name)).metrics for name in ("NAS", "NPS")}
    for m in metrics.values():
        assert m.counter_area == pytest.approx(rough.width * rough.depth, rel=1e-12)
        assert m.charge_balance_error < 1e-9
        assert m.pore_area > 0.02 * m.counter_area
        # contact lost under the voids: the mean plating current exceeds the applied one
        assert m.mean_plating_current_density * m.anode_area == pytest.approx(
            I_APP * m.counter_area, rel=1e-9
        )
    assert metrics["NPS"].coefficient_of_variation > 3 * metrics["NAS"].coefficient_of_variation > 0


def test_what_a_volume_refuses(tmp_path):
    labels = flat_volume()
    cases = [
        (labels[0], "3D array of integers"),
        (labels.astype(float), "3D array of integers"),
        (labels[:, :3], "too small"),
        (np.where(labels == METAL, 7, labels), "no voxel has the metal label 1"),
        (np.where(labels == METAL, 9, labels), "no voxel has the metal label 1"),
    ]
    for bad, reason in cases:
        with pytest.raises(GeometryError, match=reason):
            VoxelVolume(bad, VOXEL, METAL, ELECTROLYTE)
    other = labels.copy()
    other[6:8, 3:5, 3:5] = 4
    with pytest.raises(GeometryError, match=r"labels \[4\] are neither"):
        VoxelVolume(other, VOXEL, METAL, ELECTROLYTE)
    with pytest.raises(GeometryError, match="bottom 3 slices must hold no SE"):
        VoxelVolume(labels[::-1], VOXEL, METAL, ELECTROLYTE)
    reaching = labels.copy()
    reaching[-2, 4, 4] = METAL
    with pytest.raises(GeometryError, match="top 3 slices must be SE only"):
        VoxelVolume(reaching, VOXEL, METAL, ELECTROLYTE)
    island = labels.copy()
    island[8:12, 3:7, 3:7] = METAL
    with pytest.raises(GeometryError, match="island of metal inside the SE"):
        VoxelVolume(island, VOXEL, METAL, ELECTROLYTE)
    island[8:12, 3:7, 3:7] = ELECTROLYTE
    island[9, 4, 4] = METAL  # one voxel: below min_island, it becomes SE
    assert VoxelVolume(island, VOXEL, METAL, ELECTROLYTE).thickness == pytest.approx(10.5 * VOXEL)
    with pytest.raises(ValueError, match="unit"):
        VoxelVolume(labels, "0.5", METAL, ELECTROLYTE)
    np.save(tmp_path / "two.npy", labels[0])
    with pytest.raises(GeometryError, match="3D array of integers"):
        read_labels(tmp_path / "two.npy", ndim=3)
    (tmp_path / "stack.png").write_bytes(b"")
    with pytest.raises(GeometryError, match="give a .tif, .tiff or .npy"):
        read_labels(tmp_path / "stack.png", ndim=3)


CASE = """
[case]
name = "volume"

[geometry]
dimension = 3

[geometry.volume]
path = "volume.tif"
voxel_size = "0.5 um"
metal = 1
electrolyte = 2
void = 3

[operation]
current_density = "0.51 mA/cm2"

[[electrolytes]]
material = "NAS"

[[electrolytes]]
material = "NPS"

[output]
figures = false
"""


def test_a_case_file_with_a_volume(write_case, tmp_path):
    """The shipped sample next to a case file: solved on 1 and 2 ranks to the same metrics; the
    interface file carries the plating current, whose integral over the anode triangles is the
    applied current (to the quadrature of a P1 interpolant); the volume's content is in the case
    hash; bad tables are refused naming the field."""
    shutil.copy(SAMPLE, tmp_path / "volume.tif")
    case = write_case(CASE)
    one, two = (read_summary(out) for out in run_on_one_and_two_ranks("run", case, tmp_path))
    for name in ("NAS", "NPS"):
        a, b = one["electrolytes"][name]["metrics"], two["electrolytes"][name]["metrics"]
        for key in ("max_over_mean", "min_over_mean", "coefficient_of_variation", "counter_potential"):
            assert b[key] == pytest.approx(a[key], rel=1e-6), (name, key)
    grid = pv.read(tmp_path / "np2" / "interface_NPS.vtu")
    anode = grid.extract_cells(np.flatnonzero(grid.cell_data["tag"] == tags.ANODE)).compute_cell_sizes()
    tri = anode.cells.reshape(-1, 4)[:, 1:]
    i_cell = anode.point_data["plating_current"][tri].mean(axis=1)
    total = float(np.sum(i_cell * anode.cell_data["Area"]))
    m = two["electrolytes"]["NPS"]["metrics"]
    assert total == pytest.approx(I_APP * m["counter_area"], rel=5e-3)
    first = load_case(case)[1]
    labels = tifffile.imread(tmp_path / "volume.tif")
    labels[30:33, 10:13, 10:13] = VOID  # a void in the SE: another volume, another case
    tifffile.imwrite(tmp_path / "volume.tif", labels)
    assert load_case(case)[1] != first
    cropped = load_case(case, ["geometry.volume.crop=[[0,64],[8,40],[0,48]]"])[0].window
    assert cropped.labels.shape == (64, 32, 48) and cropped.depth == pytest.approx(31 * VOXEL)
    for override, reason in [
        ("geometry.volume.voxel_size=0.5", "unit"),
        ("geometry.volume.path='missing.tif'", "no such file"),
        ("geometry.volume.metal=5", "no voxel has the metal label 5"),
        ("geometry.dimension=2", "set dimension = 3"),
        ("geometry.width='80 um'", "remove width"),
        ("mesh.max_cells=1000", "more than mesh.max_cells"),
        ("geometry.volume.crop=[[0,40],[0,40]]", "give 3 ranges"),
        ("geometry.volume.crop=[[0,40],[0,40],[30,20]]", "start 30 must be below stop 20"),
        (
            "geometry.volume.crop=[[0,80],[0,40],[0,40]]",
            r"crop range 0 \[0, 80\) is not within the data's 64",
        ),
    ]:
        with pytest.raises(CaseError, match=reason):
            load_case(case, [override])


def test_the_synthetic_volume_is_seeded():
    a, b = interface_volume((32, 24, 24), seed=5), interface_volume((32, 24, 24), seed=5)
    assert np.array_equal(a, b) and not np.array_equal(a, interface_volume((32, 24, 24), seed=6))
    assert set(np.unique(a)) == {METAL, ELECTROLYTE, VOID}
    assert np.all(a[:2] != ELECTROLYTE) and np.all(a[-2:] == ELECTROLYTE)
