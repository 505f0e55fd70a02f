"""Numerics: the Newton solve of the interface problem (PETSc SNES) and the Poisson cost floor."""
