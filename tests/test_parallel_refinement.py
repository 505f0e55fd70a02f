"""Parallel refinement (issue 17): a coarser Gmsh mesh refined by DOLFINx on all ranks, with the
new wall nodes on the true shapes (dendrite_fem.geometry.refine)."""

import math
import warnings

import dolfinx
import numpy as np
import pytest
import ufl
from conftest import ROOT, RUN_TO_RUN_RTOL, UM, read_summary, run_on_one_and_two_ranks

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case
from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import build_mesh
from dendrite_fem.geometry.spec import Cone, Defect, Ellipse, GeometryError, MeshSizes, Round, Window
from dendrite_fem.model import Model
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import electrolyte
from dendrite_fem.physics.operation import Galvanostatic

NPS = electrolyte("NPS")


def protrusion(scale: float = 1.0) -> Window:
    """A 10 µm semicircular protrusion in a 200 × 100 µm window, mesh sizes × ``scale``."""
    return Window(
        2,
        200 * UM,
        100 * UM,
        defects=(Defect("protrusion", Round(10 * UM)),),
        sizes=MeshSizes(2 * UM * scale, 4 * UM * scale, 20 * UM * scale),
    )


def wall_nodes(mesh, facet_tags, tag: int) -> np.ndarray:
    """Coordinates of every geometry node (vertices and edge nodes) of the facets ``tag``."""
    nodes = np.unique(dolfinx.mesh.entities_to_geometry(mesh, mesh.topology.dim - 1, facet_tags.find(tag)))
    return mesh.geometry.x[nodes]


def measure(mesh) -> float:
    return mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ufl.dx(domain=mesh))))


def test_new_wall_nodes_lie_on_the_true_shapes():
    """Every node of the refined curved walls is on its circle, ellipse, sphere or cone tip to
    round-off, also in the 3D section plane y = 0 of a pore off that plane; the window's area
    (2D) is that of the true shapes as closely as with the directly meshed curved mesh, far
    closer than straight chords would leave it."""
    a = 10 * UM
    ellipse = Defect("pore", Ellipse(8 * UM, 4 * UM), x=40 * UM)
    window = Window(
        2,
        200 * UM,
        100 * UM,
        defects=(Defect("protrusion", Round(a)), ellipse),
        sizes=MeshSizes(2 * UM, 4 * UM, 20 * UM),
    )
    exact = 200 * UM * 100 * UM - math.pi * a**2 / 2 - math.pi * 8 * UM * 4 * UM / 2
    areas = {}
    for k in (0, 1):
        m = build_mesh(window, geometry_order=2, parallel_refinements=k)
        x = wall_nodes(m.mesh, m.facet_tags, tags.ANODE)
        up = x[:, 1] > 1e-3 * UM
        assert np.max(np.abs(np.hypot(x[up, 0], x[up, 1]) - a)) < 1e-12 * a
        x = wall_nodes(m.mesh, m.facet_tags, tags.PORE)
        assert np.max(np.abs(np.hypot((x[:, 0] - 40 * UM) / 8, x[:, 1] / 4) - UM)) < 1e-12 * UM
        areas[k] = abs(measure(m.mesh) - exact) / exact
    # straight chords of length h along the circle would miss about π h²/12 of area (h = 2 µm
    # at the walls); the curved cells of both meshes are far closer, the refined as the direct
    chords = math.pi * (2 * UM) ** 2 / 12 / exact
    assert max(areas.values()) < chords / 20 and areas[1] < 3 * areas[0]

    cone = Defect("protrusion", Cone(12 * UM, 0.4, 4 * UM))
    pore = Defect("pore", Round(6 * UM), x=25 * UM, y=4 * UM)  # cut by the section plane y = 0
    window = Window(3, 80 * UM, 50 * UM, defects=(cone, pore), sizes=MeshSizes(0.75 * UM, 1.5 * UM, 12 * UM))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no wall node left on a chord
        m = build_mesh(window, geometry_order=2, parallel_refinements=1)
    x = wall_nodes(m.mesh, m.facet_tags, tags.PORE)
    assert np.max(np.abs(np.linalg.norm(x - [25 * UM, 4 * UM, 0], axis=1) - 6 * UM)) < 1e-12 * UM
    x = wall_nodes(m.mesh, m.facet_tags, tags.ANODE)
    tip = x[x[:, 2] > cone.shape.tangent_height + 1e-3 * UM]
    assert len(tip) > 10
    centre = [0, 0, cone.shape.height - cone.shape.tip_radius]
    assert np.max(np.abs(np.linalg.norm(tip - centre, axis=1) - 4 * UM)) < 1e-12 * UM
    flank = x[(x[:, 2] > 1e-3 * UM) & (x[:, 2] < cone.shape.tangent_height - 1e-3 * UM)]
    slope = (cone.shape.tangent_radius - cone.shape.half_width) / cone.shape.tangent_height
    assert (
        np.max(np.abs(np.hypot(flank[:, 0], flank[:, 1]) - (cone.shape.half_width + slope * flank[:, 2])))
        < 1e-12 * UM
    )
    plane = np.abs(wall_nodes(m.mesh, m.facet_tags, tags.PORE)[:, 1]) < 1e-3 * UM
    assert plane.sum() > 5  # the pore's trace in the section plane kept its nodes at y = 0 …
    trace = wall_nodes(m.mesh, m.facet_tags, tags.PORE)[plane]
    assert np.max(np.abs(trace[:, 1])) < 1e-12 * UM  # … to round-off


def test_a_refined_mesh_converges_like_the_direct_mesh():
    """max/mean and the tip current on refined meshes (Gmsh at 2x the sizes, split once) and on
    direct meshes of the same nominal sizes, against a direct mesh 8x finer: both errors fall
    under refinement, and the refined mesh's is within a few times the direct one's (measured:
    direct 1.3e-4 → 8.2e-6, refined 7.9e-5 → 8.6e-6 at sizes 2x → 1x)."""

    def numbers(scale: float, k: int) -> np.ndarray:
        m = Model(protrusion(scale), Kinetics(13.0), Galvanostatic(5.1), degree=2, parallel_refinements=k)
        metrics = m.solve(NPS).metrics
        return np.array([metrics.max_over_mean, metrics.features[0]["ratio_to_applied"]])

    reference = numbers(1 / 8, 0)
    errors = {(s, k): np.max(np.abs(numbers(s, k) / reference - 1)) for s in (2, 1) for k in (0, 1)}
    for k in (0, 1):
        assert errors[(1, k)] < errors[(2, k)] / 2
    for s in (2, 1):
        assert errors[(s, 1)] < 4 * errors[(s, 0)] + 1e-7
    assert errors[(1, 1)] < 3e-5


def test_what_parallel_refinement_refuses():
    """A Gmsh mesh too coarse for its cells to stay valid on the walls, and the curved coating of
    an interlayer (its inner surface is no boundary): clear errors, before any solve."""
    coarse = Window(
        3,
        30 * UM,
        40 * UM,
        defects=(Defect("protrusion", Round(5 * UM)),),
        sizes=MeshSizes(5 * UM, 5 * UM, 15 * UM),
    )
    with pytest.raises(GeometryError, match="fewer refinements"):
        build_mesh(coarse, geometry_order=2, parallel_refinements=2)
    coated = Window(
        2, 80 * UM, 40 * UM, defects=(Defect("protrusion", Round(5 * UM)),), interlayer_thickness=1 * UM
    )
    with pytest.raises(GeometryError, match="interlayer"):
        build_mesh(coated, parallel_refinements=1)
    with pytest.raises(ValueError, match="parallel_refinements"):
        Model(coated, Kinetics(13.0), Galvanostatic(5.1), parallel_refinements=4)


CASE = """
[case]
name = "refined_3d"

[geometry]
dimension = 3
width = "30 um"
thickness = "40 um"

[[geometry.defects]]
kind = "protrusion"
shape = "round"
radius = "5 um"

[mesh]
element_degree = 2
parallel_refinements = 1

[operation]
current_density = "0.51 mA/cm2"

[[electrolytes]]
material = "NAS"

[[electrolytes]]
material = "NPS"

[output]
figures = false
fields = false
"""


def test_one_and_two_ranks_refine_to_the_same_mesh(write_case, tmp_path):
    """DOLFINx refines each cell where it lies, so 1 and 2 ranks build the same cells and the same
    wall nodes: the metrics agree to the solver tolerance, not only to the discretisation error."""
    one, two = (read_summary(d) for d in run_on_one_and_two_ranks("run", write_case(CASE), tmp_path))
    assert one["run"]["cells"] == two["run"]["cells"] and one["run"]["dofs"] == two["run"]["dofs"]
    assert "refinement" in one["run"]["wall_time"]
    for name in ("NAS", "NPS"):
        a, b = (s["electrolytes"][name]["metrics"] for s in (one, two))
        for key in ("max_over_mean", "min_over_mean", "coefficient_of_variation"):
            assert b[key] == pytest.approx(a[key], rel=RUN_TO_RUN_RTOL)


def test_parallel_refinement_in_case_files_is_refused_where_it_cannot_apply():
    """[growth] meshes its moving interface with Gmsh at every step, and more than three levels
    would be 512x the cells in 3D: both refused with the field and the fix."""
    growth = ROOT / "cases/nas_vs_nps_growth.toml"
    with pytest.raises(CaseError, match=r"parallel_refinements does not apply to \[growth\]"):
        load_case(growth, ["mesh.parallel_refinements=1"])
    with pytest.raises(CaseError, match="mesh.parallel_refinements"):
        load_case(ROOT / "cases/nas_vs_nps_protrusion.toml", ["mesh.parallel_refinements=4"])
    setup, _ = load_case(ROOT / "cases/nas_vs_nps_protrusion.toml", ["mesh.parallel_refinements=2"])
    assert setup.model().parallel_refinements == 2
