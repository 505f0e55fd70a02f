"""Build a window's Gmsh model on rank 0 and distribute it as a DOLFINx mesh."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:  # the PyPI wheel must order MPI before DOLFINx; conda/Docker builds have no such module
    import dolfinx_solver  # noqa: F401
except ImportError:  # pragma: no cover - exercised on conda/Docker installs only
    pass
import dolfinx
import dolfinx.io.gmsh
import gmsh
from mpi4py import MPI

from dendrite_fem.geometry.builders import MODEL_UNIT, build_model
from dendrite_fem.geometry.growing import GrowingInterface, build_growing_model
from dendrite_fem.geometry.refine import TrueGeometry, refine_on_geometry
from dendrite_fem.geometry.spec import GeometryError, SizeMap, Window
from dendrite_fem.geometry.volume import VoxelVolume, build_volume_model


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


def _check_curved_cells(mesh: dolfinx.mesh.Mesh) -> None:
    """Refuse curved cells whose Jacobian changes sign (tangled by curving the boundary):
    det J is sampled at the vertices and the centroid of every cell."""
    import basix
    import ufl

    tdim = mesh.topology.dim
    cell = basix.CellType.triangle if tdim == 2 else basix.CellType.tetrahedron
    ref = basix.geometry(cell)
    points = np.vstack([ref, ref.mean(axis=0)])
    expr = dolfinx.fem.Expression(ufl.JacobianDeterminant(mesh), points)
    cells = np.arange(mesh.topology.index_map(tdim).size_local, dtype=np.int32)
    det = expr.eval(mesh, cells).reshape(len(cells), -1)
    bad = int(np.sum(np.min(det * np.sign(det[:, -1:]), axis=1) <= 0))
    bad = mesh.comm.allreduce(bad)
    if bad:
        raise GeometryError(
            f"{bad} curved cells are tangled (their Jacobian changes sign); use "
            "straight-sided cells (geometry order 1) or a finer size near curved walls"
        )


def _source_digest() -> str:
    """SHA-256 of the mesh builders' own source: a cached mesh is reused only if the code
    that made it is unchanged."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def mesh_key(
    window: Window, geometry_order: int, size_map: SizeMap | None = None, coarsening: float = 1.0
) -> str:
    """Cache key of a window's Gmsh mesh: the window (SI, with its sizes), the geometry
    order, the size map's numbers, the coarsening, the Gmsh version and the builders' source."""
    sizes = "" if size_map is None else size_map.digest()
    text = f"{window!r}|{geometry_order}|{sizes}|{coarsening!r}|{gmsh.__version__}|{_source_digest()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _checksum_file(cached: Path) -> Path:
    return cached.with_suffix(".sha256")


def _seal(written: Path, cached: Path) -> None:
    """Record the SHA-256 of a cache file (before it is moved into place)."""
    digest = hashlib.sha256(written.read_bytes()).hexdigest()
    tmp = _checksum_file(written)
    tmp.write_text(digest + "\n")
    os.replace(tmp, _checksum_file(cached))


def _verified(cached: Path) -> bool:
    """Whether a cached mesh is the file that was written (its SHA-256 matches); a damaged or
    unsealed one is removed, to be built again."""
    try:
        ok = _checksum_file(cached).read_text().strip() == hashlib.sha256(cached.read_bytes()).hexdigest()
    except OSError:
        ok = False
    if not ok:
        warnings.warn(
            f"mesh cache: {cached} is damaged or has no checksum; building the mesh again", stacklevel=3
        )
        for f in (cached, _checksum_file(cached)):
            f.unlink(missing_ok=True)
    return ok


def _group_sizes() -> dict[str, int]:
    counts = {}
    for pdim, ptag in gmsh.model.getPhysicalGroups():
        n = 0
        for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag):
            _, elem_tags, _ = gmsh.model.mesh.getElements(pdim, ent)
            n += sum(len(e) for e in elem_tags)
        counts[gmsh.model.getPhysicalName(pdim, ptag)] = n
    return counts


def build_mesh(
    window: Window,
    comm: MPI.Comm = MPI.COMM_WORLD,
    geometry_order: int = 1,
    verbose: bool = False,
    cache: Path | None = None,
    size_map: SizeMap | None = None,
    parallel_refinements: int = 0,
) -> InterfaceMesh:
    """Mesh ``window`` with Gmsh on rank 0 and distribute it over ``comm``; ``size_map`` (read
    on rank 0, the mesher; the other ranks may pass None) replaces the window's mesh sizes.

    With ``parallel_refinements`` k > 0 Gmsh meshes with every size 2^k times larger (straight cells),
    and the distributed mesh is refined k times on all ranks, with the new nodes of curved
    walls put on the walls (:mod:`dendrite_fem.geometry.refine`): about the sizes of the
    direct mesh, with 1/8^k (3D) of the serial meshing and distribution.

    A geometry error on rank 0 is raised on every rank, so no rank is left
    waiting in the distribution step.  With a ``cache`` directory the Gmsh mesh is
    written there (``<key>.msh``, :func:`mesh_key`) and read back by later runs of the
    same geometry, which then skip the meshing on rank 0.
    """
    if parallel_refinements and isinstance(window, GrowingInterface | VoxelVolume):
        raise GeometryError(
            "a growing or measured interface is meshed by Gmsh directly; it takes no parallel refinements"
        )
    walls = TrueGeometry(window) if parallel_refinements else None  # refuses what it cannot follow
    coarsening = 2.0**parallel_refinements
    gmsh_order = 1 if parallel_refinements else geometry_order
    t0 = time.perf_counter()
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
        error, counts, reused = None, {}, False
        if comm.rank == 0:
            try:
                cached = (
                    None
                    if cache is None
                    else Path(cache) / f"{mesh_key(window, gmsh_order, size_map, coarsening)}.msh"
                )
                if cached is not None and cached.exists() and _verified(cached):
                    gmsh.open(str(cached))
                    counts, reused = _group_sizes(), True
                else:
                    if isinstance(window, GrowingInterface):
                        build_growing_model(window, MODEL_UNIT)
                    elif isinstance(window, VoxelVolume):
                        build_volume_model(window, MODEL_UNIT)
                    else:
                        build_model(window, gmsh_order, size_map, coarsening)
                    counts = _group_sizes()
                    if cached is not None:
                        cached.parent.mkdir(parents=True, exist_ok=True)
                        # unique per process and node: array tasks on several nodes share the cache
                        partial = cached.with_suffix(f".{socket.gethostname()}.{os.getpid()}.partial.msh")
                        gmsh.option.setNumber("Mesh.Binary", 1)  # exact doubles, and fast to read
                        gmsh.write(str(partial))
                        _seal(partial, cached)
                        os.replace(partial, cached)  # atomic: concurrent runs never read half a file
                missing = [g for g in ("electrolyte", "anode", "counter") if not counts.get(g)]
                if missing:
                    error = (
                        f"the mesh has no {', '.join(missing)} elements (groups: {counts}); "
                        "the geometry leaves no room for them: enlarge the window or shrink the defects"
                    )
            except Exception as exc:  # noqa: BLE001 - reported on every rank below
                error = f"Gmsh could not build the geometry: {exc}"
        error, counts, reused = comm.bcast((error, counts, reused), root=0)
        if error is not None:
            raise GeometryError(error)
        t1 = time.perf_counter()
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, 0, gdim=window.dim)
        mesh, cell_tags, facet_tags = data.mesh, data.cell_tags, data.facet_tags
        t2 = time.perf_counter()
        if parallel_refinements:
            mesh, cell_tags, facet_tags = refine_on_geometry(
                mesh, cell_tags, facet_tags, walls, parallel_refinements, geometry_order
            )
    finally:
        gmsh.finalize()
    mesh.geometry.x[:] *= MODEL_UNIT
    if geometry_order > 1:
        _check_curved_cells(mesh)
    if window.roughness is not None:
        _apply_roughness(mesh, window)
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    t3 = time.perf_counter()
    timings = [comm.allreduce(t, op=MPI.MAX) for t in (t1 - t0, t2 - t1, t3 - t2)]
    if not parallel_refinements:  # the checks and connectivity count as distribution, as before
        timings = [timings[0], timings[1] + timings[2], 0.0]
    phases = {
        "meshing" if not reused else "mesh_from_cache": float(timings[0]),
        "distribution": float(timings[1]),
    }
    if parallel_refinements:
        phases["refinement"] = float(timings[2])
    return InterfaceMesh(
        mesh=mesh,
        cell_tags=cell_tags,
        facet_tags=facet_tags,
        window=window,
        group_sizes=counts,
        timings=phases,
    )
