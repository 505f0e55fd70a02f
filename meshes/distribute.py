"""Build a window's Gmsh model on rank 0 and distribute it as a DOLFINx mesh."""

from __future__ import annotations

import time
from dataclasses import dataclass

try:  # the PyPI wheel must order MPI before DOLFINx; conda/Docker builds have no such module
    import dolfinx_solver  # noqa: F401
except ImportError:  # pragma: no cover - exercised on conda/Docker installs only
    pass
import dolfinx
import dolfinx.io.gmsh
import gmsh
from mpi4py import MPI

from meshes.builders import MODEL_UNIT, build_model
from meshes.spec import GeometryError, Window


@dataclass
class InterfaceMesh:
    """A distributed mesh with its tags and the geometry it came from."""

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTags
    facet_tags: dolfinx.mesh.MeshTags
    window: Window
    group_sizes: dict[str, int]  #: number of Gmsh elements per physical group
    timings: dict[str, float]  #: seconds: "meshing" (Gmsh, rank 0), "distribution"

    @property
    def num_cells(self) -> int:
        imap = self.mesh.topology.index_map(self.mesh.topology.dim)
        return imap.size_global


def _apply_roughness(mesh: dolfinx.mesh.Mesh, window: Window) -> None:
    """Map the flat window onto the rough one: u' = u + h(x) (1 − u/L), u the
    coordinate normal to the interface.  The top stays flat, the bottom follows h."""
    r = window.roughness
    assert r is not None
    x = mesh.geometry.x
    up = window.dim - 1
    h = r.height(x[:, 0]) if window.dim == 2 else r.height(x[:, 0], x[:, 1])
    x[:, up] += h * (1.0 - x[:, up] / window.thickness)


def build_mesh(
    window: Window, comm: MPI.Comm = MPI.COMM_WORLD, geometry_order: int = 1, verbose: bool = False
) -> InterfaceMesh:
    """Mesh ``window`` with Gmsh on rank 0 and distribute it over ``comm``.

    A geometry error on rank 0 is raised on every rank, so no rank is left
    waiting in the distribution step.
    """
    window.check()  # collective and cheap: every rank refuses a bad geometry itself
    t0 = time.perf_counter()
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
        error, counts = None, {}
        if comm.rank == 0:
            try:
                counts = build_model(window, geometry_order)
                if "electrolyte" not in counts or "anode" not in counts or "counter" not in counts:
                    error = f"the mesh lacks a required group (found {sorted(counts)})"
            except Exception as exc:  # noqa: BLE001 - reported on every rank below
                error = f"Gmsh could not build the geometry: {exc}"
        error, counts = comm.bcast((error, counts), root=0)
        if error is not None:
            raise GeometryError(error)
        t1 = time.perf_counter()
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, 0, gdim=window.dim)
    finally:
        gmsh.finalize()
    data.mesh.geometry.x[:] *= MODEL_UNIT
    if window.roughness is not None:
        _apply_roughness(data.mesh, window)
    mesh = data.mesh
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    t2 = time.perf_counter()
    timings = [comm.allreduce(t, op=MPI.MAX) for t in (t1 - t0, t2 - t1)]
    return InterfaceMesh(
        mesh=mesh,
        cell_tags=data.cell_tags,
        facet_tags=data.facet_tags,
        window=window,
        group_sizes=counts,
        timings={"meshing": float(timings[0]), "distribution": float(timings[1])},
    )
