"""Orchestration: case files, the run pipeline, figures and the command line.

This is the only layer that knows both :mod:`meshes` (geometry) and the solver
modules of :mod:`fem`; it converts unit-bearing input to SI once, here.
"""
