"""Sphinx configuration of the API reference (built by tests/test_docs.py with -W)."""

import dendrite_fem

project = "dendrite-fem"
version = release = dendrite_fem.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"  # the signatures carry DOLFINx/UFL types Sphinx cannot resolve
autodoc_member_order = "bysource"
html_theme = "alabaster"
exclude_patterns = ["_build"]
nitpicky = False


def _verbatim(app, what, name, obj, options, lines):
    """The docstrings are plain text with the equations in Unicode (|i|, Γa, ∇·(σ∇φ) = 0), not
    reStructuredText: show them as they are written, in a literal block."""
    if any(line.strip() for line in lines):
        lines[:] = ["::", "", *("    " + line for line in lines), ""]


def setup(app):
    app.connect("autodoc-process-docstring", _verbatim)
