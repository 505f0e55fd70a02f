"""Geometry builders: the tags the solver expects, the right areas, refinement where asked."""

import math

import dolfinx
import numpy as np
import pytest
import ufl
from conftest import UM
from mpi4py import MPI

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import build_mesh
from dendrite_fem.geometry.spec import (
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    GeometryError,
    MeshSizes,
    Roughness,
    Round,
    Window,
)

W, L = 100 * UM, 50 * UM
COARSE3 = MeshSizes(1.5 * UM, 3 * UM, 12 * UM)


def measure(m, tag):
    ds = ufl.Measure("ds", domain=m.mesh, subdomain_data=m.facet_tags)
    one = dolfinx.fem.Constant(m.mesh, 1.0)
    return MPI.COMM_WORLD.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ds(tag))))


def volume(m):
    one = dolfinx.fem.Constant(m.mesh, 1.0)
    return MPI.COMM_WORLD.allreduce(
        dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.dx(domain=m.mesh)))
    )


# geometry, expected anode length/area, expected pore length/area, expected SE volume
R = 8 * UM
CASES_2D = {
    "flat": (Window(2, W, L), W, 0.0, W * L),
    "semicircle": (
        Window(2, W, L, defects=(Defect("protrusion", Round(R)),)),
        W - 2 * R + math.pi * R,
        0.0,
        W * L - math.pi * R**2 / 2,
    ),
    "pore": (
        Window(2, W, L, defects=(Defect("pore", Round(R)),)),
        W - 2 * R,
        math.pi * R,
        W * L - math.pi * R**2 / 2,
    ),
    "ellipse": (
        Window(2, W, L, defects=(Defect("protrusion", Ellipse(4 * UM, 12 * UM)),)),
        None,
        0.0,
        W * L - math.pi * 4 * 12 * UM**2 / 2,
    ),
    "flat_void": (
        Window(2, W, L, defects=(Defect("pore", FlatVoid(10 * UM, 1 * UM)),)),
        W - 20 * UM,
        None,
        W * L - math.pi * 10 * 1 * UM**2 / 2,
    ),
}


@pytest.mark.parametrize("name", list(CASES_2D))
def test_2d_tags_and_measures(name):
    window, anode, pore, vol = CASES_2D[name]
    m = build_mesh(window)
    assert set(np.unique(m.cell_tags.values)) == {tags.ELECTROLYTE}
    assert measure(m, tags.COUNTER) == pytest.approx(W, rel=1e-12)
    assert measure(m, tags.SIDE) == pytest.approx(2 * L, rel=1e-12)
    if anode is not None:
        assert measure(m, tags.ANODE) == pytest.approx(anode, rel=2e-3)  # polygonal arcs: O(h²)
    if pore is not None:
        assert measure(m, tags.PORE) == pytest.approx(pore, rel=2e-3)
    assert volume(m) == pytest.approx(vol, rel=2e-3)


def test_cone_tip_is_rounded_and_refined():
    cone = Cone(12 * UM, math.radians(15), 1 * UM)
    m = build_mesh(Window(2, W, L, defects=(Defect("protrusion", cone),)))
    x = m.mesh.geometry.x
    edges = dolfinx.mesh.entities_to_geometry(m.mesh, 1, m.facet_tags.find(tags.ANODE))
    assert x[edges.ravel(), 1].max() == pytest.approx(12 * UM, rel=1e-3)  # tip height
    lengths = np.linalg.norm(x[edges[:, 0]] - x[edges[:, 1]], axis=1)
    centres = 0.5 * (x[edges[:, 0]] + x[edges[:, 1]])
    # element size at the tip resolves the tip radius (default: r_tip / 16)
    at_tip = np.linalg.norm(centres - [0, 12 * UM, 0], axis=1) < 0.5 * UM
    assert at_tip.any() and lengths[at_tip].max() < 0.2 * UM  # r_tip / 5
    far = np.abs(centres[:, 0]) > 40 * UM
    assert lengths[far].min() > 4 * lengths[at_tip].max()  # interface size far from the tip


def test_roughness_maps_the_interface():
    r = Roughness(3 * UM, 25 * UM)
    m = build_mesh(Window(2, W, L, roughness=r))
    x = m.mesh.geometry.x
    nodes = dolfinx.mesh.entities_to_geometry(m.mesh, 1, m.facet_tags.find(tags.ANODE)).ravel()
    assert np.allclose(x[nodes, 1], r.height(x[nodes, 0]), atol=1e-15)
    assert x[nodes, 1].max() == pytest.approx(3 * UM, rel=1e-3)
    top = dolfinx.mesh.entities_to_geometry(m.mesh, 1, m.facet_tags.find(tags.COUNTER)).ravel()
    assert np.allclose(x[top, 1], L)


@pytest.mark.parametrize(
    "defect, pore_area",
    [
        (Defect("protrusion", Round(8 * UM)), 0.0),
        (Defect("pore", Round(8 * UM)), 2 * math.pi * (8 * UM) ** 2),
        (Defect("protrusion", Cone(12 * UM, math.radians(20), 2 * UM)), 0.0),
        (Defect("pore", FlatVoid(10 * UM, 2 * UM)), None),
    ],
    ids=["hemisphere", "pore", "cone", "flat_void"],
)
def test_3d_tags_and_section_plane(defect, pore_area):
    m = build_mesh(Window(3, 50 * UM, 40 * UM, defects=(defect,), sizes=COARSE3))
    assert measure(m, tags.COUNTER) == pytest.approx((50 * UM) ** 2, rel=1e-12)
    assert measure(m, tags.SIDE) == pytest.approx(4 * 50 * UM * 40 * UM, rel=1e-12)
    if pore_area is not None:
        assert measure(m, tags.PORE) == pytest.approx(pore_area, rel=0.02)
    # the plane y = 0 is conforming: mesh vertices lie on it along the interface
    x = m.mesh.geometry.x
    nodes = dolfinx.mesh.entities_to_geometry(m.mesh, 2, m.facet_tags.find(tags.ANODE)).ravel()
    assert np.sum(np.abs(x[nodes, 1]) < 1e-15) > 10


def test_geometry_errors_name_the_field_in_domain_terms():
    """A Window refuses itself on construction, naming its own fields (Window.defects[1]);
    a front end rewords them (the case-file resolver: geometry.defects[1])."""
    with pytest.raises(GeometryError, match=r"Window.defects\[0\] and Window.defects\[1\] overlap") as err:
        Window(2, W, L, defects=(Defect("pore", Round(8 * UM)), Defect("pore", Round(8 * UM), 10 * UM)))
    assert err.value.worded(lambda p: p.replace("Window.", "geometry.")).startswith(
        "geometry.defects[0] and geometry.defects[1] overlap"
    )
    with pytest.raises(GeometryError, match=r"Window.defects\[0\]: a pore cannot have shape cone"):
        Window(2, W, L, defects=(Defect("pore", Cone(10 * UM, 0.3, 1 * UM)),))
    with pytest.raises(GeometryError, match=r"Window.defects\[0\].tip_radius"):
        Window(2, W, L, defects=(Defect("protrusion", Cone(2 * UM, 0.3, 3 * UM)),))
    with pytest.raises(GeometryError, match="Window.width .* whole number of roughness wavelengths"):
        Window(2, W, L, roughness=Roughness(1 * UM, 30 * UM))
    with pytest.raises(GeometryError, match="either defects or roughness"):
        Window(2, W, L, defects=(Defect("pore", Round(8 * UM)),), roughness=Roughness(1 * UM, 25 * UM))


def test_mesh_cache_reuses_the_same_mesh_and_keys_on_the_geometry(tmp_path):
    import numpy as np

    from dendrite_fem.geometry.distribute import build_mesh, mesh_key
    from dendrite_fem.geometry.spec import Defect, MeshSizes, Round, Window

    um = 1e-6
    window = Window(
        2,
        100 * um,
        50 * um,
        defects=(Defect("pore", Round(8 * um)),),
        sizes=MeshSizes(1 * um, 2 * um, 8 * um),
    )
    first = build_mesh(window, cache=tmp_path, geometry_order=2)
    again = build_mesh(window, cache=tmp_path, geometry_order=2)
    assert "meshing" in first.timings and "mesh_from_cache" in again.timings
    assert len(list(tmp_path.glob("*.msh"))) == 1
    assert again.num_cells == first.num_cells and again.group_sizes == first.group_sizes
    assert np.array_equal(again.mesh.geometry.x, first.mesh.geometry.x)  # binary .msh: exact doubles
    assert np.array_equal(again.facet_tags.values, first.facet_tags.values)
    other = Window(
        2,
        100 * um,
        50 * um,
        defects=(Defect("pore", Round(8 * um)),),
        sizes=MeshSizes(1 * um, 2 * um, 6 * um),
    )
    assert mesh_key(other, 2) != mesh_key(window, 2) != mesh_key(window, 1)


def test_a_damaged_mesh_cache_is_rebuilt_not_used(tmp_path):
    """Issue 16: a cached mesh carries its SHA-256; a file changed on disk is rebuilt."""
    import numpy as np

    from dendrite_fem.geometry.distribute import build_mesh

    window = Window(
        2, W, L, defects=(Defect("pore", Round(8 * UM)),), sizes=MeshSizes(1 * UM, 2 * UM, 8 * UM)
    )
    first = build_mesh(window, cache=tmp_path)
    (cached,) = tmp_path.glob("*.msh")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the node block
    cached.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="damaged"):
        again = build_mesh(window, cache=tmp_path)
    assert "meshing" in again.timings  # built again, not read
    assert np.array_equal(again.mesh.geometry.x, first.mesh.geometry.x)
    assert "mesh_from_cache" in build_mesh(window, cache=tmp_path).timings  # the new file is sealed
