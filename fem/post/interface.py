"""Interface profile and homogeneity metrics of the plating current (docs/model.md §4).

Integrals are assembled over the anode facets Γa with the problem's own
quadrature; extrema are taken over the degrees of freedom on Γa.  With
i_dep = −i_ct the plating current density [A/m²]:

    mean  ī  = ∫_Γa i_dep ds / |Γa|
    CV       = sqrt(∫_Γa (i_dep − ī)² ds / |Γa|) / ī           (area-weighted)
    share    = |{i_dep > 2 ī}| / |Γa|
    balance  = |∫_Γa i_dep ds − I_c| / I_c,  I_c = ∫_Ω σ ∇φ·∇w dx

where w is 1 at the counter-side DOFs and 0 elsewhere, so I_c is the
variationally consistent current through Γc (for a galvanostatic run it equals
i_app |Γc| at convergence).
"""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from dendrite_fem.geometry import tags
from dendrite_fem.physics.conduction import InterfaceProblem
from dendrite_fem.physics.kinetics import Kinetics, butler_volmer_current


def _integral(expr, measure, comm) -> float:
    return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * measure)), op=MPI.SUM)


def _owned(entities: np.ndarray, imap) -> np.ndarray:
    return entities[entities < imap.size_local]


def _planar_distance(points: np.ndarray, centre: np.ndarray, dim: int) -> np.ndarray:
    """Distance of ``points`` in the interface plane from a band's centre line (2D) or point (3D)."""
    if dim == 2:
        return np.abs(points[:, 0] - centre[0])
    return np.hypot(points[:, 0] - centre[0], points[:, 1] - centre[1])


def interface_metrics(
    problem: InterfaceProblem,
    feature_points: list[tuple[str, np.ndarray]],
    interphase_current: float | None = None,
    feature_bands: list[tuple[np.ndarray, float, float] | None] | None = None,
) -> dict:
    """Homogeneity and cell-level numbers of a solved problem (SI units).  With a
    mixed-conducting interphase, ``interphase_current`` is the current plated inside it
    (dendrite_fem.physics.mixed_conduction): the charge balance counts it, and its share is reported.
    ``feature_bands`` (aligned with ``feature_points``; Window.feature_bands): where the current is
    singular (a contact gap's rim), the feature current is the mean over the band
    a ≤ distance ≤ a + w of Γa, the current through it taken as the weak form balances it
    (−∫Ω σ∇φ·∇w dx / ∫Γa w ds, w = 1 at the band's DOFs), and the DOFs inside the band are left out
    of the maximum, which then also takes the band means: a nodal value that grows without bound
    under refinement is not reported."""
    phi = problem.phi
    V = phi.function_space
    mesh = V.mesh
    comm = mesh.comm
    ds = problem.ds
    one = dolfinx.fem.Constant(mesh, 1.0)
    i_dep = -problem.charge_transfer_current

    ds_a = problem.ds_anode  # the residual's own quadrature: the balance then holds exactly
    area_a = _integral(one, ds_a, comm)
    area_c = _integral(one, ds(tags.COUNTER), comm)
    area_p = _integral(one, ds(tags.PORE), comm)
    total = _integral(i_dep, ds_a, comm)
    mean = total / area_a
    mean_c = dolfinx.fem.Constant(mesh, mean)
    variance = _integral((i_dep - mean_c) ** 2, ds_a, comm) / area_a
    share = _integral(ufl.conditional(ufl.gt(i_dep, 2 * mean_c), 1.0, 0.0), ds_a, comm) / area_a
    eta_mean = _integral(problem.overpotential, ds_a, comm) / area_a
    phi_counter = _integral(phi, ds(tags.COUNTER), comm) / area_c

    # variationally consistent current through the counter side
    fdim = mesh.topology.dim - 1
    w = dolfinx.fem.Function(V)
    w.x.array[dolfinx.fem.locate_dofs_topological(V, fdim, problem.facet_tags.find(tags.COUNTER))] = 1.0
    counter_current = _integral(
        ufl.inner(problem.sigma * ufl.grad(phi), ufl.grad(w)), ufl.dx(domain=mesh), comm
    )

    # extrema over the DOFs on Γa
    facets = problem.facet_tags.find(tags.ANODE)
    dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facets)
    dofs = dofs[dofs < V.dofmap.index_map.size_local]
    local_i = -problem.current_values(dofs)
    all_coords = V.tabulate_dof_coordinates()
    coords = all_coords[dofs]
    bands = feature_bands or [None] * len(feature_points)
    dim = mesh.geometry.dim
    band_means = []
    outside = np.ones(len(dofs), dtype=bool)
    anode_all = dolfinx.fem.locate_dofs_topological(V, fdim, facets)
    for band in bands:
        if band is None:
            band_means.append(None)
            continue
        centre, inner, width = band
        # the current through the band as the weak form balances it (as I_c above): the flux of
        # the discrete solution, w = 1 at the band's Γa DOFs; the law at quadrature points
        # would carry the oscillation of stiff kinetics into the mean
        r_all = _planar_distance(all_coords[anode_all], centre, dim)
        w_band = dolfinx.fem.Function(V)
        w_band.x.array[anode_all[(r_all >= inner * (1 - 1e-9)) & (r_all <= inner + width)]] = 1.0
        through = -_integral(
            ufl.inner(problem.sigma * ufl.grad(phi), ufl.grad(w_band)), ufl.dx(domain=mesh), comm
        )
        band_means.append(through / _integral(w_band, ds_a, comm))
        r = _planar_distance(coords, centre, dim)
        outside &= ~((r >= inner * (1 - 1e-9)) & (r <= inner + width))
    nodal_max = float(local_i[outside].max()) if outside.any() else -np.inf
    i_max = max([comm.allreduce(nodal_max, op=MPI.MAX), *(m for m in band_means if m is not None)])
    i_min = comm.allreduce(float(local_i.min()) if local_i.size else np.inf, op=MPI.MIN)

    # current density entering at the counter side: i_app, or the potentiostatic mean
    i_counter = problem.operation.applied_current_density
    features = []
    for (name, point), band, band_mean in zip(feature_points, bands, band_means, strict=True):
        d = np.linalg.norm(coords - point, axis=1) if dofs.size else np.array([np.inf])
        j = int(np.argmin(d))
        candidates = comm.allgather((float(d[j]), float(local_i[j]) if dofs.size else np.nan))
        dist, value = min(candidates)
        feature = {"name": name, "point_m": [float(c) for c in point], "distance_to_dof_m": dist}
        if band is not None:
            value = band_mean
            feature["band"] = {"inner_radius_m": float(band[1]), "width_m": float(band[2])}
        feature |= {
            "plating_current_A_per_m2": value,
            "ratio_to_mean": value / mean,
            "ratio_to_applied": value / (i_counter if i_counter else counter_current / area_c),
        }
        features.append(feature)

    applied = counter_current if i_counter is None else i_counter * area_c
    inside = interphase_current or 0.0
    extra = (
        {}
        if interphase_current is None
        else {"interphase_plating_current": inside, "share_plated_in_interphase": inside / (total + inside)}
    )
    return {
        **extra,
        "anode_area": area_a,
        "counter_area": area_c,
        "pore_area": area_p,
        "total_plating_current": total,
        "counter_current": counter_current,
        "applied_current": applied,
        "charge_balance_error": abs(total + inside - applied) / abs(applied),
        "mean_plating_current_density": mean,
        "max_over_mean": i_max / mean,
        "min_over_mean": i_min / mean,
        "max_plating_current_density": i_max,
        "min_plating_current_density": i_min,
        "coefficient_of_variation": float(np.sqrt(max(variance, 0.0))) / mean,
        "share_above_twice_mean": share,
        "mean_overpotential": eta_mean,
        "counter_potential": phi_counter,
        # SE (and meshed interlayer) drop; a thin film's own drop is in mean_overpotential's
        # difference from −φ and is reported apart
        "ohmic_drop": phi_counter - _integral(phi, ds_a, comm) / area_a,
        "film_drop": _integral(phi + problem.overpotential, ds_a, comm) / area_a,  # φ − φ_metal side
        "features": features,
    }


@dataclass
class InterfaceTrace:
    """The interface line (2D: Γa ∪ Γv; 3D: its intersection with the plane y = 0)
    as an ordered list of mesh vertices, known on every rank.

    ``points`` [m], ``arc_length`` [m] and ``on_anode`` (False on pore walls) are
    ordered from the left edge to the right; each rank keeps which of its P1 DOFs
    give which position, so :meth:`values` gathers a P1 function along the line.
    """

    points: np.ndarray
    arc_length: np.ndarray
    on_anode: np.ndarray
    _positions: np.ndarray
    _dofs: np.ndarray
    _comm: MPI.Comm

    def values(self, u1: dolfinx.fem.Function) -> np.ndarray:
        """Nodal values of a P1 function along the trace (same array on every rank)."""
        out = np.full(len(self.points), np.nan)
        local = (self._positions, u1.x.array[self._dofs])
        for pos, val in self._comm.allgather(local):
            out[pos] = val
        return out


def _vertex_to_dof(V1: dolfinx.fem.FunctionSpace) -> np.ndarray:
    """Map mesh vertex → P1 DOF (cell vertices and P1 cell DOFs share the reference order)."""
    mesh = V1.mesh
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim, 0)
    c2v = mesh.topology.connectivity(tdim, 0)
    num_vertices = mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts
    v2d = np.empty(num_vertices, dtype=np.int32)
    v2d[c2v.array] = V1.dofmap.list.ravel()
    return v2d


def interface_trace(V1: dolfinx.fem.FunctionSpace, facet_tags: dolfinx.mesh.MeshTags) -> InterfaceTrace:
    """Build the ordered interface line from the anode and pore facets."""
    mesh = V1.mesh
    comm = mesh.comm
    tdim = mesh.topology.dim
    mesh.topology.create_entities(1)
    mesh.topology.create_connectivity(1, 0)
    e2v = mesh.topology.connectivity(1, 0)
    x = mesh.geometry.x
    mesh.topology.create_connectivity(0, tdim)
    vertex_nodes = dolfinx.mesh.entities_to_geometry(
        mesh,
        0,
        np.arange(
            mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts, dtype=np.int32
        ),
    ).ravel()
    segs, kinds = [], []
    for tag, is_anode in ((tags.ANODE, True), (tags.PORE, False)):
        facets = facet_tags.find(tag)
        if tdim == 2:
            edges = facets
        else:
            mesh.topology.create_connectivity(tdim - 1, 1)
            f2e = mesh.topology.connectivity(tdim - 1, 1)
            edges = np.unique(f2e.array.reshape(-1, 3)[facets])  # a triangle has three edges
            if len(edges):
                ev = e2v.array.reshape(-1, 2)[edges]
                on_plane = np.all(np.abs(x[vertex_nodes[ev], 1]) < 1e-9 * np.ptp(x[:, 0]), axis=1)
                edges = edges[on_plane]
        edges = _owned(np.asarray(edges, dtype=np.int32), mesh.topology.index_map(1))
        segs.append(e2v.array.reshape(-1, 2)[edges])
        kinds.append(np.full(len(edges), is_anode))
    seg_v = np.concatenate(segs)
    seg_anode = np.concatenate(kinds)
    v2d = _vertex_to_dof(V1)
    local_pts = x[vertex_nodes[seg_v.ravel()]].reshape(-1, 2, 3)

    gathered = comm.gather((local_pts, seg_anode), root=0)
    ordered = None
    if comm.rank == 0:
        ordered = _order_chain(
            np.concatenate([g[0] for g in gathered]), np.concatenate([g[1] for g in gathered])
        )
    points, s, on_anode = comm.bcast(ordered, root=0)

    index = {tuple(p): k for k, p in enumerate(points)}
    uniq = np.unique(seg_v.ravel())
    pos = np.array([index[tuple(x[vertex_nodes[v]])] for v in uniq], dtype=np.int64)
    return InterfaceTrace(points, s, on_anode, pos, v2d[uniq], comm)


def _order_chain(seg_pts: np.ndarray, seg_anode: np.ndarray):
    """Walk the segments into lines ordered by x; a vertex is 'on the anode' if any
    anode segment touches it."""
    keys: dict[tuple, int] = {}
    coords, anode = [], []
    adjacency: dict[int, set[int]] = {}
    for (a, b), is_anode in zip(seg_pts, seg_anode, strict=True):
        ids = []
        for p in (a, b):
            key = tuple(p)
            if key not in keys:
                keys[key] = len(coords)
                coords.append(p)
                anode.append(False)
            ids.append(keys[key])
            anode[keys[key]] |= bool(is_anode)
        adjacency.setdefault(ids[0], set()).add(ids[1])
        adjacency.setdefault(ids[1], set()).add(ids[0])
    coords_a = np.array(coords)
    unvisited = set(range(len(coords)))
    order: list[int] = []
    while unvisited:
        ends = [n for n in unvisited if len(adjacency[n] & unvisited) <= 1]
        start = min(ends or unvisited, key=lambda n: coords_a[n, 0])
        node = start
        while node is not None:
            order.append(node)
            unvisited.discard(node)
            nxt = [n for n in adjacency[node] if n in unvisited]
            node = min(nxt, key=lambda n: coords_a[n, 0]) if nxt else None
    pts = coords_a[order]
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    # a jump between separate pieces does not add arc length
    connected = np.array([order[k + 1] in adjacency[order[k]] for k in range(len(order) - 1)], bool)
    steps = np.where(connected, steps, 0.0)
    s = np.concatenate([[0.0], np.cumsum(steps)])
    return pts, s, np.array(anode)[order]


def plating_profile(
    trace: InterfaceTrace,
    phi1: dolfinx.fem.Function,
    kinetics: Kinetics,
    overpotential=None,
    pressure1: dolfinx.fem.Function | None = None,
):
    """(i_dep [A/m²], η [V]) along the trace; i_dep = 0 and η = NaN on pore walls.
    ``overpotential`` maps φ to η (InterfaceProblem.overpotential_values; default −φ);
    ``pressure1`` is the local ΔP [Pa] as a P1 function (None: the uniform ΔP of ``kinetics``)."""
    pressure = None if pressure1 is None else trace.values(pressure1)
    return _plating(trace.values(phi1), trace.on_anode, kinetics, overpotential, pressure)


def _plating(phi, on_anode, kinetics: Kinetics, overpotential=None, pressure=None):
    """(i_dep [A/m²], η [V]) from nodal φ: i_dep = −i_ct(η) with i0 scaled by the pressure
    factor exp(c ΔP) where ``pressure`` (ΔP [Pa]) is given; 0 and NaN off the anode."""
    eta = -phi if overpotential is None else overpotential(phi)
    i0 = kinetics.effective_exchange_current
    if pressure is not None:
        i0 = i0 * np.exp(kinetics.pressure_coefficient * pressure)
    i_ct = butler_volmer_current(eta, i0, kinetics.alpha_a * kinetics.f, kinetics.alpha_c * kinetics.f)
    return np.where(on_anode, -i_ct, 0.0), np.where(on_anode, eta, np.nan)


@dataclass
class InterfaceSurface:
    """The anode and pore-wall facets (3D: triangles; 2D: segments) with the plating current at
    their vertices, gathered on rank 0: what ParaView colours the interface by."""

    points: np.ndarray  #: (n, 3) [m]
    facets: np.ndarray  #: (m, d) vertex indices
    tag: np.ndarray  #: (m,) tags.ANODE or tags.PORE
    plating_current: np.ndarray  #: (n,) i_dep [A/m²] (0 at vertices on pore walls only)
    overpotential: np.ndarray  #: (n,) η [V] (NaN at vertices on pore walls only)


def interface_surface(
    phi1: dolfinx.fem.Function,
    facet_tags: dolfinx.mesh.MeshTags,
    kinetics: Kinetics,
    overpotential=None,
    pressure1: dolfinx.fem.Function | None = None,
) -> InterfaceSurface | None:
    """i_dep and η at the vertices of Γa ∪ Γv, as :func:`plating_profile` computes them along
    the trace, collected from every rank's owned facets on rank 0 (None elsewhere).  A vertex
    counts as anode if an anode facet touches it."""
    V1 = phi1.function_space
    mesh = V1.mesh
    fdim = mesh.topology.dim - 1
    mesh.topology.create_connectivity(fdim, 0)
    f2v = mesh.topology.connectivity(fdim, 0).array.reshape(-1, fdim + 1)
    n_vertices = mesh.topology.index_map(0).size_local + mesh.topology.index_map(0).num_ghosts
    vertex_nodes = dolfinx.mesh.entities_to_geometry(mesh, 0, np.arange(n_vertices, dtype=np.int32)).ravel()
    v2d = _vertex_to_dof(V1)
    parts = []
    for tag in (tags.ANODE, tags.PORE):
        facets = _owned(facet_tags.find(tag), mesh.topology.index_map(fdim))
        verts = f2v[facets]
        phi = phi1.x.array[v2d[verts]]
        p = None if pressure1 is None else pressure1.x.array[v2d[verts]]
        parts.append((mesh.geometry.x[vertex_nodes[verts]], phi, p, np.full(len(facets), tag)))
    gathered = mesh.comm.gather(parts, root=0)
    if mesh.comm.rank != 0:
        return None
    flat = [part for rank in gathered for part in rank]
    xyz = np.concatenate([f[0] for f in flat]).reshape(-1, 3)
    phi = np.concatenate([f[1] for f in flat]).ravel()
    tag = np.concatenate([f[3] for f in flat])
    on_anode_vertex = np.repeat(tag == tags.ANODE, fdim + 1)
    points, first, inverse = np.unique(xyz, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    anode = np.zeros(len(points), dtype=bool)
    np.logical_or.at(anode, inverse, on_anode_vertex)
    pressure = None if pressure1 is None else np.concatenate([f[2] for f in flat]).ravel()[first]
    i_dep, eta = _plating(phi[first], anode, kinetics, overpotential, pressure)
    return InterfaceSurface(points, inverse.reshape(-1, fdim + 1), tag, i_dep, eta)
