"""Gmsh geometry builders for SE/anode interfaces with defects and pores.

Geometry lives here and only here: :mod:`dendrite_fem.geometry.spec` describes a window with
its defects in SI units, :mod:`dendrite_fem.geometry.builders` turns it into a Gmsh model with
the physical groups of :mod:`dendrite_fem.geometry.tags`, and :mod:`dendrite_fem.geometry.distribute` builds
that model on rank 0 and hands a distributed DOLFINx mesh to the solver.
"""

from dendrite_fem.geometry.spec import (  # noqa: F401
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    GeometryError,
    HeightMap,
    RandomDefects,
    Roughness,
    Round,
    Window,
)
