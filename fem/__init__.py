"""DOLFINx solver for Na⁺ conduction and Butler–Volmer deposition at SE/anode interfaces.

One concept per module (equations of physics.md §2):

* :mod:`fem.constants`   – physical constants (SI)
* :mod:`fem.materials`   – electrolyte library with sources, σ(T)
* :mod:`fem.kinetics`    – Butler–Volmer law, its inverse, R_ct, Wagner length
* :mod:`fem.conduction`  – the weak form of ∇·(σ∇φ) = 0 with its boundary conditions
* :mod:`fem.solver`      – Newton (PETSc SNES), linearised initial guess, continuation
* :mod:`fem.interface`   – interface profile and homogeneity metrics
* :mod:`fem.fields`      – derived fields (i, |i|), ParaView output, gathering for plots

:mod:`fem.app` is the orchestration (case files, CLI, figures); it is the only
part that talks to both :mod:`meshes` and the solver.
"""

try:  # the PyPI wheel must order MPI before DOLFINx; conda/Docker builds have no such module
    import dolfinx_solver  # noqa: F401
except ImportError:  # pragma: no cover - exercised on conda/Docker installs only
    pass

__version__ = "0.1.0"
