"""The import package: one name, dendrite_fem, that leaves DOLFINx's own names alone."""

import subprocess
import sys

SCRIPT = """
import importlib, importlib.util, pkgutil
import dendrite_fem
from dolfinx import fem, mesh
names = [m.name for m in pkgutil.walk_packages(dendrite_fem.__path__, "dendrite_fem.")]
names += [m.name for m in pkgutil.walk_packages(importlib.import_module("dendrite_fem.geometry").__path__,
                                                "dendrite_fem.geometry.")]
for name in names:
    if not name.endswith("paraview_show"):  # a pvpython script, not a module of the package
        importlib.import_module(name)
assert hasattr(fem, "functionspace") and hasattr(mesh, "create_rectangle"), "DOLFINx's fem/mesh were rebound"
assert importlib.util.find_spec("fem") is None, "a top-level 'fem' is installed"
assert importlib.util.find_spec("meshes") is None, "a top-level 'meshes' is installed"
from importlib.metadata import version
assert dendrite_fem.__version__ == version("dendrite-fem")
print(len(names), "modules")
"""


def test_dendrite_fem_is_the_only_import_name_and_keeps_dolfinx_names(tmp_path):
    # from a folder outside the source tree, as a user's script or notebook runs
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[0]) > 30
