"""Stress-coupled kinetics: the SE's elasticity supplies the local ΔP of the Butler–Volmer
law, and plating into a confined defect builds the pressure of the metal in it (issue 6;
seed 003 eq. 4 and its ref. 52, Tu et al., Cell Rep. Phys. Sci. 2020).

Mechanics (dendrite_fem.physics.mechanics, linear, so by superposition)

    u = P_s u_s + Σ_i p_i u_i,        ΔP = P_s ΔP_s + Σ_i p_i ΔP_i      (dendrite_fem.physics.interface_pressure)

u_s: unit stack pressure on the counter side and on every defect wall (the soft metal in a
defect transmits the stack pressure); u_i: unit extra pressure on the walls of protrusion i.
The flat interface rests on the anode (roller), so its ΔP is the contact pressure the SE
computes; on a wall ΔP is the metal's pressure P_s + p_i (prescribed, exact).  The
displacement is at least quadratic whatever the potential's degree.

Confined deposition (``deposit_time`` t > 0): the metal plated into defect i during t,

    ΔV_i = t V_Na / F ∫_wall_i i_dep ds,

fits into the cavity only by widening it elastically and compressing the metal in it:

    Σ_j (C_ij + δ_ij V_i / B_Na) p_j = ΔV_i,    C_ij = −∫_wall_i u_j·n ds,   V_i = ∫_wall_i x_up (−n_up) ds

(C the cavity compliance [m³/Pa, m²/Pa in 2D], V_i the defect's volume, B_Na the metal's bulk
modulus).  ΔV depends on p through the kinetics, so the two are solved in turn (staggered)
until G(p) − p, the change a pass asks for, is below ``rtol`` × (P_s + max p): each pass is
one Newton solve and one small linear system, relaxed by Aitken's method (the map is a
contraction here: more pressure, a little more plating into the defect).  A fixed
``deposit_pressure`` needs one pass; with no load
ΔP ≡ 0 and the pressure factor is exactly 1 (the uncoupled problem).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from dendrite_fem.constants import FARADAY, NA_MOLAR_VOLUME
from dendrite_fem.geometry import tags
from dendrite_fem.numerics.solver import ConvergenceError, SolveReport, SolverOptions, solve_interface
from dendrite_fem.physics.interface_pressure import boundary_average, normal_traction_pressure
from dendrite_fem.physics.mechanics import (
    ANODE_SUPPORT,
    DEFECT_WALL_BASE,
    SIDE_NORMAL_BASE,
    ElasticConstants,
    max_principal_stress,
    mechanical_facet_tags,
    solve_elasticity_loads,
)

#: K_I = F p √(π a) for a crack of depth a opened by a pressure p on its faces: an edge crack
#: in a half-plane (2D, F = 1.122) and a half-penny surface crack at its deepest point
#: (3D, F = 2/π · 1.122 ≈ 0.714); Tada, Paris & Irwin, The Stress Analysis of Cracks Handbook
CRACK_SHAPE_FACTOR = {2: 1.122, 3: 2.0 / math.pi * 1.122}


@dataclass(frozen=True)
class MechanicalLoad:
    """Stack pressure P_s [Pa]; the confined deposit's extra pressure, either fixed
    (``deposit_pressure`` [Pa]) or built by plating for ``deposit_time`` [s]; the metal's
    bulk modulus [Pa]; the staggered iteration's tolerance and limit."""

    stack_pressure: float = 0.0
    deposit_pressure: float = 0.0
    deposit_time: float = 0.0
    metal_bulk_modulus: float = 6.3e9
    rtol: float = 1e-8
    max_iterations: int = 50

    @property
    def coupled(self) -> bool:
        return self.deposit_time > 0.0


@dataclass
class DefectMechanics:
    """What the mechanics says of one protrusion."""

    centre: np.ndarray
    size: float  #: depth a of the defect into the SE [m]
    volume: float  #: V_i [m³; m² in 2D]


@dataclass
class InterfaceMechanics:
    """Unit-load solutions of one electrolyte's elasticity on the case mesh."""

    constants: ElasticConstants
    mech_tags: dolfinx.mesh.MeshTags
    unit_stack: dolfinx.fem.Function
    unit_defect: list[dolfinx.fem.Function]
    pressure_stack: dolfinx.fem.Function  #: ΔP_s (P1)
    pressure_defect: list[dolfinx.fem.Function]  #: ΔP_i (P1)
    compliance: np.ndarray  #: C_ij
    defects: list[DefectMechanics]
    V1: dolfinx.fem.FunctionSpace
    displacement: dolfinx.fem.Function = field(init=False)
    pressure: dolfinx.fem.Function = field(init=False)  #: ΔP (P1), updated by :meth:`set_loads`

    def __post_init__(self):
        self.displacement = dolfinx.fem.Function(self.unit_stack.function_space, name="displacement")
        self.pressure = dolfinx.fem.Function(self.V1, name="interface_pressure")

    def set_loads(self, stack: float, deposit: np.ndarray) -> None:
        """u and ΔP for stack pressure ``stack`` and extra defect pressures ``deposit`` [Pa]."""
        self.displacement.x.array[:] = stack * self.unit_stack.x.array
        self.pressure.x.array[:] = stack * self.pressure_stack.x.array
        for p, u_i, dp_i in zip(deposit, self.unit_defect, self.pressure_defect, strict=True):
            self.displacement.x.array[:] += p * u_i.x.array
            self.pressure.x.array[:] += p * dp_i.x.array


def interface_mechanics(
    mesh: dolfinx.mesh.Mesh,
    facet_tags: dolfinx.mesh.MeshTags,
    constants: ElasticConstants,
    protrusions: list[tuple[np.ndarray, float]],
    degree: int,
) -> InterfaceMechanics:
    """Solve the unit loads (one LU factorisation) for the protrusions given as
    (centre on the interface plane [m], depth a [m])."""
    dim = mesh.topology.dim
    up = dim - 1
    mech_tags = mechanical_facet_tags(mesh, facet_tags, [c for c, _ in protrusions])
    # stresses (the contact pressure) need at least quadratic displacements
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", max(degree, 2), (mesh.geometry.dim,)))
    V1 = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    n = ufl.FacetNormal(mesh)
    walls = [DEFECT_WALL_BASE + i for i in range(len(protrusions))]
    one = dolfinx.fem.Constant(mesh, 1.0)
    stack_load = {tags.COUNTER: -one * n} | {w: -one * n for w in walls}
    loads = [stack_load] + [{w: -one * n} for w in walls]
    rollers = {ANODE_SUPPORT: up} | {SIDE_NORMAL_BASE + k: k for k in range(up)}
    solutions = solve_elasticity_loads(V, mech_tags, constants, loads, rollers)
    # ΔP: the computed contact pressure on the support, the prescribed metal pressure on walls
    wall_loads = [{w: 1.0 for w in walls}] + [{w: float(w == wall) for w in walls} for wall in walls]
    pressures = [
        boundary_average({ANODE_SUPPORT: normal_traction_pressure(u, constants)} | on_walls, V1, mech_tags)
        for u, on_walls in zip(solutions, wall_loads, strict=True)
    ]

    ds = ufl.Measure("ds", domain=mesh, subdomain_data=mech_tags)
    x = ufl.SpatialCoordinate(mesh)

    def integral(expr, tag) -> float:
        return mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ds(tag))), op=MPI.SUM)

    compliance = np.array([[-integral(ufl.dot(u_j, n), w) for u_j in solutions[1:]] for w in walls]).reshape(
        len(walls), len(walls)
    )
    defects = [
        DefectMechanics(np.asarray(c, float), a, integral(-x[up] * n[up], w))
        for (c, a), w in zip(protrusions, walls, strict=True)
    ]
    return InterfaceMechanics(
        constants,
        mech_tags,
        solutions[0],
        solutions[1:],
        pressures[0],
        pressures[1:],
        compliance,
        defects,
        V1,
    )


@dataclass
class CoupledReport:
    """The staggered iteration: passes, deposit pressures [Pa] and their changes per pass,
    and the Newton reports (the last one is the final solve)."""

    passes: int = 0
    deposit_pressures: list[list[float]] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    newton: list[SolveReport] = field(default_factory=list)
    converged: bool = False


def solve_coupled(
    problem,
    mechanics: InterfaceMechanics,
    load: MechanicalLoad,
    options: SolverOptions | None = None,
    preconditioner=None,
) -> CoupledReport:
    """Solve the interface problem (whose ``pressure`` lives on its potential space) with ΔP
    from ``mechanics`` under ``load``; staggered to convergence when the deposit pressure
    follows from the plating.  Raises ConvergenceError when it does not converge.
    ``preconditioner``: a :class:`~dendrite_fem.numerics.solver.PreconditionerCache` that the
    passes share (ΔP changes only the boundary term)."""
    if problem.pressure is None:
        raise ValueError("the interface problem was built without a pressure field")
    mesh = problem.phi.function_space.mesh
    n_def = len(mechanics.defects)
    report = CoupledReport()
    p = np.full(n_def, load.deposit_pressure)
    system = mechanics.compliance + np.diag([d.volume / load.metal_bulk_modulus for d in mechanics.defects])
    ds = ufl.Measure(
        "ds", domain=mesh, subdomain_data=mechanics.mech_tags, metadata=problem.ds_anode.metadata()
    )
    i_dep = -problem.charge_transfer_current
    wall_current = [dolfinx.fem.form(i_dep * ds(DEFECT_WALL_BASE + i)) for i in range(n_def)]
    omega, previous = 1.0, None  # Aitken relaxation of the fixed point p = G(p)
    for k in range(load.max_iterations):
        mechanics.set_loads(load.stack_pressure, p)
        problem.pressure.interpolate(mechanics.pressure)
        report.newton.append(solve_interface(problem, options, preconditioner))
        report.passes = k + 1
        report.deposit_pressures.append([float(v) for v in p])
        if not load.coupled or n_def == 0:
            report.converged = True
            return report
        plated = np.array(
            [mesh.comm.allreduce(dolfinx.fem.assemble_scalar(f), op=MPI.SUM) for f in wall_current]
        )
        volume = load.deposit_time * NA_MOLAR_VOLUME / FARADAY * plated
        residual = np.linalg.solve(system, volume) - p  # G(p) − p
        change = float(np.max(np.abs(residual)))
        report.changes.append(change)
        if previous is not None:
            dr = residual - previous
            if float(dr @ dr) > 0.0:
                omega = -omega * float(previous @ dr) / float(dr @ dr)
        previous = residual
        p = p + omega * residual
        if change <= load.rtol * (load.stack_pressure + float(np.max(np.abs(p)))) + 1e-6:
            # one more solve so that the returned fields belong to the converged pressures
            mechanics.set_loads(load.stack_pressure, p)
            problem.pressure.interpolate(mechanics.pressure)
            report.newton.append(solve_interface(problem, options, preconditioner))
            report.deposit_pressures.append([float(v) for v in p])
            report.converged = True
            return report
    history = [
        f"pass {j + 1}: deposit pressures {[f'{v / 1e6:.6g} MPa' for v in ps]}, change "
        f"{(report.changes[j] / 1e6 if j < len(report.changes) else float('nan')):.3e} MPa"
        for j, ps in enumerate(report.deposit_pressures)
    ]
    raise ConvergenceError(
        f"the electro-mechanical coupling did not converge in {load.max_iterations} passes; lower "
        "mechanics.deposit_time (a smaller deposit) or raise mechanics.max_iterations",
        history,
    )


def stress_report(
    mechanics: InterfaceMechanics,
    load: MechanicalLoad,
    deposit: list[float],
    fracture_toughness: float | None,
    window_defects,
) -> tuple[dict, dolfinx.fem.Function]:
    """Stresses that matter for fracture: per defect the largest principal stress in the SE
    within one defect size of it, ΔP at its tip, and for a protrusion the stress-intensity
    estimate K_I = F (P_s + p − σ_lat) √(π a) of a crack of its depth opened by the metal's
    pressure against the lateral stress σ_lat = ν/(1 − ν) P_s of the stacked SE, with
    K_I / K_Ic.  Also the contact pressure range on the flat anode and how well the FE
    traction on the walls matches the metal's pressure.  Returns the record and σ₁ (DG0)."""
    u = mechanics.displacement
    mesh = u.function_space.mesh
    comm = mesh.comm
    dim = mesh.topology.dim
    up = dim - 1
    nu = mechanics.constants.poisson_ratio
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    s1 = dolfinx.fem.Function(Q, name="max_principal_stress")
    s1.interpolate(
        dolfinx.fem.Expression(max_principal_stress(u, mechanics.constants), Q.element.interpolation_points)
    )
    num_cells = mesh.topology.index_map(dim).size_local
    mid = dolfinx.mesh.compute_midpoints(mesh, dim, np.arange(num_cells, dtype=np.int32))
    p1 = mechanics.pressure
    coords1 = p1.function_space.tabulate_dof_coordinates()[: p1.function_space.dofmap.index_map.size_local]
    sigma_lat = nu / (1.0 - nu) * load.stack_pressure
    out = {"lateral_stress_of_stack": -sigma_lat, "defects": []}
    protrusion_index = 0
    for d in window_defects:
        centre = np.array([d.x, 0.0, 0.0]) if dim == 2 else np.array([d.x, d.y, 0.0])
        a = d.size
        near = np.linalg.norm(mid - centre, axis=1) < 2.0 * a
        peak = comm.allreduce(float(np.max(s1.x.array[:num_cells][near], initial=-np.inf)), op=MPI.MAX)
        tip = centre.copy()
        if d.kind == "protrusion":
            tip[up] = a
        else:
            tip[0] += d.shape.half_width  # the rim
        dist = np.linalg.norm(coords1 - tip, axis=1) if len(coords1) else np.array([np.inf])
        j = int(np.argmin(dist))
        _, tip_pressure = min(
            comm.allgather((float(dist[j]), float(p1.x.array[j]) if len(coords1) else np.nan))
        )
        record = {
            "kind": d.kind,
            "size": a,
            "peak_principal_stress": peak,
            "interface_pressure_at_tip"
            if d.kind == "protrusion"
            else "interface_pressure_at_rim": tip_pressure,
        }
        if d.kind == "protrusion":
            p = deposit[protrusion_index] if protrusion_index < len(deposit) else 0.0
            defect = mechanics.defects[protrusion_index]
            protrusion_index += 1
            f = CRACK_SHAPE_FACTOR[dim]
            opening = load.stack_pressure + p - sigma_lat
            k_i = f * opening * math.sqrt(math.pi * a)
            record |= {
                "deposit_pressure": p,
                "metal_pressure": load.stack_pressure + p,
                "volume": defect.volume,
                "stress_intensity": k_i,
                "crack_shape_factor": f,
            }
            if fracture_toughness:
                record |= {
                    "fracture_toughness": fracture_toughness,
                    "stress_intensity_over_toughness": k_i / fracture_toughness,
                    "critical_deposit_pressure": fracture_toughness / (f * math.sqrt(math.pi * a))
                    + sigma_lat
                    - load.stack_pressure,
                }
        out["defects"].append(record)
    # the flat anode's contact pressure, and the FE traction on the walls against the metal pressure
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=mechanics.mech_tags)

    def integral(expr, tag) -> float:
        return comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * ds(tag))), op=MPI.SUM)

    support = mechanics.mech_tags.find(ANODE_SUPPORT)
    dofs = dolfinx.fem.locate_dofs_topological(p1.function_space, dim - 1, support)
    dofs = dofs[dofs < p1.function_space.dofmap.index_map.size_local]
    vals = p1.x.array[dofs]
    out["contact_pressure_min"] = comm.allreduce(float(np.min(vals, initial=np.inf)), op=MPI.MIN)
    out["contact_pressure_max"] = comm.allreduce(float(np.max(vals, initial=-np.inf)), op=MPI.MAX)
    errors = []
    traction = normal_traction_pressure(u, mechanics.constants)
    for i in range(len(mechanics.defects)):
        tag = DEFECT_WALL_BASE + i
        metal = load.stack_pressure + (deposit[i] if i < len(deposit) else 0.0)
        if metal > 0:
            area = integral(dolfinx.fem.Constant(mesh, 1.0), tag)
            err = integral((traction - dolfinx.fem.Constant(mesh, metal)) ** 2, tag)  # not compiled in
            errors.append(math.sqrt(max(err, 0.0) / area) / metal)
    out["wall_traction_error"] = max(errors) if errors else None
    return out, s1
