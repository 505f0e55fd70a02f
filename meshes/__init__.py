"""Gmsh geometry builders for SE/anode interfaces with defects and pores.

Geometry lives here and only here: :mod:`meshes.spec` describes a window with
its defects in SI units, :mod:`meshes.builders` turns it into a Gmsh model with
the physical groups of :mod:`meshes.tags`, and :mod:`meshes.distribute` builds
that model on rank 0 and hands a distributed DOLFINx mesh to the solver.
"""

from meshes.spec import (  # noqa: F401
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    GeometryError,
    RandomDefects,
    Roughness,
    Round,
    Window,
)
