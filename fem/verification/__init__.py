"""Verification: closed-form references, manufactured solutions and the `verify` suite.

* :mod:`dendrite_fem.verification.references` – closed forms (1-D cell, primary and secondary
  current distributions), each with its derivation in ``docs/verification.md``
* :mod:`dendrite_fem.verification.mms`        – manufactured solutions of the full nonlinear problem
* :mod:`dendrite_fem.verification.suite`      – the cases, their errors, the table and the plots
"""
