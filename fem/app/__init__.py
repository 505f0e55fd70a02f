"""Orchestration: case files, the run pipeline, figures and the command line.

This is the only layer that knows both :mod:`dendrite_fem.geometry` (geometry) and the solver
modules of :mod:`dendrite_fem`; it converts unit-bearing input to SI once, here.
"""
