"""dendrite-fem: where Na⁺ current concentrates at defects and pores of the solid-electrolyte /
sodium-anode interface, with DOLFINx.

The package by concept (the equations are numbered in ``docs/model.md``):

* :mod:`dendrite_fem.geometry`  – windows, defects and their Gmsh meshes (the folder ``meshes/``)
* :mod:`dendrite_fem.physics`   – materials, kinetics, conduction, mechanics, growth, phase field
* :mod:`dendrite_fem.numerics`  – Newton (PETSc SNES) and the Poisson cost floor
* :mod:`dendrite_fem.post`      – interface metrics and profile, derived fields and their output
* :mod:`dendrite_fem.app`       – case files, the run pipeline, sweeps, reports, the command line
* :mod:`dendrite_fem.verification` – closed forms, manufactured solutions, the ``verify`` suite

Importing the package loads the MPI library of the ``dolfinx-solver-real`` wheel first, which
DOLFINx from that wheel needs: ``import dendrite_fem`` before ``import dolfinx`` (the wheel's own
``import dolfinx_solver`` does the same; conda and the official images need neither).
"""

from importlib.metadata import PackageNotFoundError, version

try:  # the PyPI wheel must load its MPI before DOLFINx does; conda/Docker builds have no such module
    import dolfinx_solver  # noqa: F401
except ImportError:  # pragma: no cover - exercised on conda/official-image installs only
    pass

try:
    __version__ = version("dendrite-fem")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
