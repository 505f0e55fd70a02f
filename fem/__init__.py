"""dendrite-fem: where Na⁺ current concentrates at defects and pores of the solid-electrolyte /
sodium-anode interface, with DOLFINx.

A model, its parameters and a solver compose in a few lines (``docs/api.md``)::

    import dendrite_fem as df

    window = df.Window(2, "400 um", "100 um", defects=[df.Defect("protrusion", df.Round("10 um"))])
    model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)
    for name in ("NAS", "NPS"):
        print(name, model.solve(df.electrolyte(name)).metrics.max_over_mean)

The package by concept (the equations are numbered in ``docs/model.md``):

* :mod:`dendrite_fem.geometry`  – windows, defects and their Gmsh meshes (the folder ``meshes/``)
* :mod:`dendrite_fem.physics`   – materials, kinetics, conduction, mechanics, growth, phase field
* :mod:`dendrite_fem.numerics`  – Newton (PETSc SNES), multigrid, the error estimate, the Poisson cost floor
* :mod:`dendrite_fem.adaptivity` – refinement until the reported numbers converge
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

#: the public API: name → module (imported on first use, so that the command line starts
#: without loading what a command does not need)
_API = {
    "Window": "dendrite_fem.geometry.spec",
    "Defect": "dendrite_fem.geometry.spec",
    "Round": "dendrite_fem.geometry.spec",
    "Ellipse": "dendrite_fem.geometry.spec",
    "Cone": "dendrite_fem.geometry.spec",
    "FlatVoid": "dendrite_fem.geometry.spec",
    "Gap": "dendrite_fem.geometry.spec",
    "Roughness": "dendrite_fem.geometry.spec",
    "HeightMap": "dendrite_fem.geometry.spec",
    "read_height_map": "dendrite_fem.geometry.measured",
    "RandomDefects": "dendrite_fem.geometry.spec",
    "MeshSizes": "dendrite_fem.geometry.spec",
    "GeometryError": "dendrite_fem.geometry.spec",
    "Kinetics": "dendrite_fem.physics.kinetics",
    "Galvanostatic": "dendrite_fem.physics.operation",
    "Potentiostatic": "dendrite_fem.physics.operation",
    "Electrolyte": "dendrite_fem.physics.materials",
    "Layer": "dendrite_fem.physics.materials",
    "MechanicalProperties": "dendrite_fem.physics.materials",
    "electrolyte": "dendrite_fem.physics.materials",
    "get_mechanical": "dendrite_fem.physics.materials",
    "LIBRARY": "dendrite_fem.physics.materials",
    "MechanicalLoad": "dendrite_fem.physics.electromechanics",
    "SolverOptions": "dendrite_fem.numerics.solver",
    "ConvergenceError": "dendrite_fem.numerics.solver",
    "Model": "dendrite_fem.model",
    "Solution": "dendrite_fem.model",
    "Metrics": "dendrite_fem.model",
    "InterfaceProfile": "dendrite_fem.model",
    "load_case": "dendrite_fem.config.load",
    "CaseSetup": "dendrite_fem.config.resolve",
    "CaseError": "dendrite_fem.config.errors",
    "read_result": "dendrite_fem.app.outputs",
    "solve_adaptive": "dendrite_fem.adaptivity",
    "AdaptivityError": "dendrite_fem.adaptivity",
    "SizeMap": "dendrite_fem.geometry.spec",
}
__all__ = ["__version__", *_API]


#: subpackages and modules reachable as attributes (df.units.TO_UM) before anything imported them
_MODULES = (
    "units",
    "constants",
    "model",
    "geometry",
    "physics",
    "numerics",
    "post",
    "config",
    "app",
    "verification",
)


def __getattr__(name: str):
    import importlib

    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f"dendrite_fem.{name}")
    raise AttributeError(f"module 'dendrite_fem' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
