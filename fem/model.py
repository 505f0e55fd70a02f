"""The Python API: a model meshes its geometry once and solves it for each electrolyte.

    import dendrite_fem as df

    window = df.Window(2, "400 um", "100 um", defects=(df.Defect("protrusion", df.Round("10 um")),))
    model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)
    for name in ("NAS", "NPS"):
        print(name, model.solve(df.electrolyte(name)).metrics.max_over_mean)

:class:`Model` holds the geometry (:class:`~dendrite_fem.geometry.spec.Window`), the kinetics
(:class:`~dendrite_fem.physics.kinetics.Kinetics`, Butler–Volmer with its pressure law), the
operation (:class:`~dendrite_fem.physics.operation.Galvanostatic` or ``Potentiostatic``), the
discretisation and, optionally, the mechanical load of the stress-coupled solve.
:meth:`Model.solve` takes an :class:`~dendrite_fem.physics.materials.Electrolyte` record and
returns a :class:`Solution`: φ as a DOLFINx function, the current density, the metrics as a
:class:`Metrics` dataclass and the interface profile as a table; the plain, the stress-coupled and
the mixed-conducting solves all return it.  This is the one place the recipe mesh → spaces → σ →
problem → solve → metrics is written; ``dendrite-fem run`` is a client of it.  Equations:
``docs/model.md``.
"""

from __future__ import annotations

import copy
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import dolfinx
import numpy as np
from mpi4py import MPI

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import InterfaceMesh, build_mesh
from dendrite_fem.geometry.spec import SizeMap, Window
from dendrite_fem.numerics.solver import (
    ConvergenceError,
    PreconditionerCache,
    SolveReport,
    SolverOptions,
    solve_interface,
)
from dendrite_fem.physics.conduction import InterfaceProblem, conductivity_field, interface_problem
from dendrite_fem.physics.electromechanics import (
    MechanicalLoad,
    interface_mechanics,
    solve_coupled,
    stress_report,
)
from dendrite_fem.physics.kinetics import Kinetics, charge_transfer_resistance, wagner_length
from dendrite_fem.physics.materials import Electrolyte
from dendrite_fem.physics.mechanics import ElasticConstants
from dendrite_fem.physics.mixed_conduction import (
    MixedInterphaseProblem,
    interphase_plating_current,
    mixed_interphase_problem,
    solve_mixed_interphase,
)
from dendrite_fem.physics.operation import Operation
from dendrite_fem.post import fields as post_fields
from dendrite_fem.post.interface import (
    InterfaceSurface,
    InterfaceTrace,
    interface_metrics,
    interface_surface,
    interface_trace,
    plating_profile,
)


@dataclass(frozen=True)
class Metrics:
    """Homogeneity and cell-level numbers of a solution, SI (docs/model.md, "Metrics"):
    over the anode Γa, i_dep = −i_ct the plating current density."""

    anode_area: float  #: |Γa| [m^(d−1)]
    counter_area: float
    pore_area: float
    total_plating_current: float  #: ∫_Γa i_dep [A, per m of depth in 2D]
    counter_current: float  #: the consistent current through Γc
    applied_current: float
    charge_balance_error: float
    mean_plating_current_density: float  #: [A/m²]
    max_over_mean: float
    min_over_mean: float
    max_plating_current_density: float
    min_plating_current_density: float
    coefficient_of_variation: float  #: area-weighted std/mean
    share_above_twice_mean: float
    mean_overpotential: float  #: η̄ [V]
    counter_potential: float  #: the cell voltage against Na [V]
    ohmic_drop: float
    film_drop: float
    features: list[dict] = field(default_factory=list)  #: i_dep at each tip or rim
    interphase_plating_current: float | None = None  #: mixed-conducting interphase only
    share_plated_in_interphase: float | None = None

    @classmethod
    def from_dict(cls, values: dict) -> Metrics:
        return cls(**values)

    def to_dict(self) -> dict:
        """As summary.json has them (the interphase entries only where there is one)."""
        d = asdict(self)
        extra = {k: d.pop(k) for k in ("interphase_plating_current", "share_plated_in_interphase")}
        return {**({} if extra["interphase_plating_current"] is None else extra), **d}


@dataclass
class InterfaceProfile:
    """The plating current along the interface, ordered from its left edge (the trace y = 0 in
    3D): arc length, points, whether on the anode (else a pore wall), i_dep [A/m²], η [V]
    (NaN on pore walls) and, with mechanics, ΔP [Pa]."""

    arc_length: np.ndarray
    points: np.ndarray
    on_anode: np.ndarray
    plating_current: np.ndarray
    overpotential: np.ndarray
    pressure: np.ndarray | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """The profile as named columns (SI), for a table or a DataFrame."""
        out = {
            "s_m": self.arc_length,
            "x_m": self.points[:, 0],
            "y_m": self.points[:, 1],
            "z_m": self.points[:, 2],
            "on_anode": self.on_anode,
            "i_dep_A_per_m2": self.plating_current,
            "eta_V": self.overpotential,
        }
        if self.pressure is not None:
            out["dP_Pa"] = self.pressure
        return out


@dataclass
class Solution:
    """One electrolyte solved on a model's mesh."""

    model: Model
    electrolyte: Electrolyte
    conductivity: float  #: σ [S/m] at the model's temperature
    problem: InterfaceProblem
    report: SolveReport
    metrics: Metrics
    profile: InterfaceProfile
    mechanics: object | None = None  #: dendrite_fem.physics.electromechanics.InterfaceMechanics
    mechanics_record: dict | None = None  #: what summary.json says of the coupling and stresses
    principal_stress: dolfinx.fem.Function | None = None
    mixed: MixedInterphaseProblem | None = None  #: the blocked (φ, φ_e) problem of a mixed conductor

    @property
    def phi(self) -> dolfinx.fem.Function:
        """The SE potential φ [V] (DOLFINx function on the model's space)."""
        return self.problem.phi

    @cached_property
    def current_density(self) -> tuple[dolfinx.fem.Function, dolfinx.fem.Function]:
        """i = −σ∇φ [A/m²] and |i| per cell (DG0 functions)."""
        return post_fields.current_density(self.problem)

    def interface_surface(self) -> InterfaceSurface | None:
        """The anode and pore-wall facets with i_dep and η at their vertices, on rank 0 (None on
        the other ranks; collective)."""
        model, problem = self.model, self.problem
        p1 = None if self.mechanics is None else self.mechanics.pressure
        phi1 = post_fields.interpolant(problem.phi, model.vertex_space)
        return interface_surface(
            phi1, model.mesh.facet_tags, model.kinetics, problem.overpotential_values, p1
        )

    def record(self, floor=None) -> dict:
        """What summary.json says of this electrolyte (``floor``: a Poisson-floor timing)."""
        kinetics, e = self.model.kinetics, self.electrolyte
        l_w = wagner_length(self.conductivity, kinetics)
        layer = e.interlayer
        # an interlayer in series with the kinetics lengthens the Wagner length: σ (R_ct + R_f)
        r_f = layer.area_resistance if layer else 0.0
        a = self.model.window.characteristic_size()
        report = self.report
        solver = {
            "newton_iterations": report.newton_iterations,
            "linear_iterations": report.linear_iterations,
            "continuation_steps": report.continuation_steps,
            "final_residual_norm": report.residual_norms[-1] if report.residual_norms else None,
            "linear_solver": report.linear_solver,
            "preconditioner_reused": report.preconditioner_reused,
            "seconds": report.seconds,
            "phases": report.phases,
        }
        if floor is not None:
            solver["poisson_floor"] = {
                "seconds": floor.seconds,
                "assembly": floor.assembly,
                "preconditioner_setup": floor.preconditioner_setup,
                "krylov": floor.krylov,
                "iterations": floor.iterations,
            }
            solver["newton_over_poisson_floor"] = report.phases["newton"] / floor.seconds
        record = {
            "conductivity": self.conductivity,
            "conductivity_source": e.source,
            "wagner_length": l_w,
            "wagner_number": l_w / a,
            "interlayer": layer.record() if layer else None,
            "effective_wagner_length": l_w + self.conductivity * r_f,
            "effective_wagner_number": (l_w + self.conductivity * r_f) / a,
            "metrics": self.metrics.to_dict(),
            "solver": solver,
        }
        if self.mechanics_record is not None:
            record["mechanics"] = self.mechanics_record
        return record

    def write(self, directory: str | Path) -> Path:
        """Write this solution as ``dendrite-fem run`` writes a result (summary.json, the
        profile, fields and figures) into ``directory``; returns it."""
        from dendrite_fem.app.runner import write_result

        return write_result(Path(directory), self.model, [self])


#: a charge balance worse than this (or 10× the Newton tolerance) is not a solution to report
CHARGE_BALANCE_LIMIT = 1e-6


def _check_solution(metrics: dict, rtol: float, name: str) -> None:
    """A converged Newton solve that is still not a trustworthy plating solution is an error:
    a net stripping current (the metrics assume plating), or a charge balance
    |∫i_dep − I_app| / I_app worse than the solver's tolerance allows."""
    if not metrics["total_plating_current"] > 0:
        raise ConvergenceError(
            f"{name}: the net interface current is {metrics['total_plating_current']:.3g} (stripping, not "
            "plating); the metrics describe plating, so nothing is reported. Check the sign of the "
            "applied current or voltage",
            [],
        )
    limit = max(CHARGE_BALANCE_LIMIT, 10 * rtol)
    if not metrics["charge_balance_error"] <= limit:
        raise ConvergenceError(
            f"{name}: the charge balance is off by {metrics['charge_balance_error']:.2g} (limit {limit:.0e}): "
            "the solution does not carry the applied current. Refine the mesh near the defect, or check "
            "the kinetics (an extreme temperature or exchange current)",
            [],
        )


class Model:
    """A geometry, its kinetics and operation, and how to discretise and solve them; meshes on
    first use (Gmsh on rank 0, distributed over ``comm``) and keeps the mesh for every
    :meth:`solve`.

    ``degree``: Lagrange degree of φ; ``geometry_order``: of the mesh (default: ``degree``);
    ``mechanics``: the load of the stress-coupled solve (None: uncoupled);
    ``mesh_cache``: a folder where the Gmsh mesh is kept for later models of the same geometry;
    ``size_map``: element sizes for the mesher instead of the window's (the adaptive loop's,
    :mod:`dendrite_fem.adaptivity`); ``parallel_refinements`` k: Gmsh meshes with 2^k times the sizes and
    the mesh is refined k times in parallel on the true shapes (:mod:`dendrite_fem.geometry.refine`),
    which takes the serial meshing off rank 0 for large meshes."""

    def __init__(
        self,
        window: Window,
        kinetics: Kinetics,
        operation: Operation,
        *,
        degree: int = 2,
        geometry_order: int | None = None,
        solver: SolverOptions | None = None,
        mechanics: MechanicalLoad | None = None,
        mesh_cache: str | Path | None = None,
        size_map: SizeMap | None = None,
        parallel_refinements: int = 0,
        comm: MPI.Comm = MPI.COMM_WORLD,
    ):
        self.window = window  # checked when it was made
        self.kinetics = kinetics
        self.operation = operation
        self.degree = degree
        self.geometry_order = geometry_order or degree
        self.solver = solver or SolverOptions()
        self.mechanics = mechanics
        self.mesh_cache = None if mesh_cache is None else Path(mesh_cache)
        self.size_map = size_map
        if not (isinstance(parallel_refinements, int) and 0 <= parallel_refinements <= 3):
            raise ValueError(
                f"parallel_refinements must be an integer from 0 to 3, got {parallel_refinements!r}"
            )
        self.parallel_refinements = parallel_refinements
        self.comm = comm
        #: the multigrid hierarchy of the first iterative solve, reused by the later ones on this mesh
        #: whose σ is the same field times a factor (shared with the models of :meth:`replace`)
        self.preconditioner = PreconditionerCache()

    def replace(self, **changes) -> Model:
        """This model with other ``kinetics``, ``operation``, ``solver`` or ``mechanics``, on the
        same mesh and spaces (not meshed again): a study of several kinetics on one geometry."""
        unknown = set(changes) - {"kinetics", "operation", "solver", "mechanics"}
        if unknown:
            raise TypeError(
                f"Model.replace: {', '.join(sorted(unknown))} cannot change on the same mesh; "
                "make a new Model for another geometry or discretisation"
            )
        self.trace  # noqa: B018  (build the mesh, spaces and trace once, for both models)
        other = copy.copy(self)  # shares the cached mesh, spaces and trace
        for name, value in changes.items():
            setattr(other, name, value)
        if other.solver is None:
            other.solver = SolverOptions()
        return other

    @cached_property
    def mesh(self) -> InterfaceMesh:
        """The distributed mesh with its cell and facet tags (built once)."""
        return build_mesh(
            self.window,
            self.comm,
            geometry_order=self.geometry_order,
            cache=self.mesh_cache,
            size_map=self.size_map,
            parallel_refinements=self.parallel_refinements,
        )

    def remeshed(self, size_map: SizeMap) -> Model:
        """This model (kinetics, operation, discretisation, solver, mechanics) on a new mesh of
        the same window with the sizes of ``size_map``."""
        return Model(
            self.window,
            self.kinetics,
            self.operation,
            degree=self.degree,
            geometry_order=self.geometry_order,
            solver=self.solver,
            mechanics=self.mechanics,
            mesh_cache=self.mesh_cache,
            size_map=size_map,
            parallel_refinements=self.parallel_refinements,
            comm=self.comm,
        )

    @cached_property
    def space(self) -> dolfinx.fem.FunctionSpace:
        """The Lagrange space of φ."""
        return dolfinx.fem.functionspace(self.mesh.mesh, ("Lagrange", self.degree))

    @cached_property
    def vertex_space(self) -> dolfinx.fem.FunctionSpace:
        """P1 on the same mesh: the interface profile and the vertex fields."""
        return self.space if self.degree == 1 else dolfinx.fem.functionspace(self.mesh.mesh, ("Lagrange", 1))

    @cached_property
    def trace(self) -> InterfaceTrace:
        """The interface's vertices in order (the trace y = 0 in 3D)."""
        return interface_trace(self.vertex_space, self.mesh.facet_tags)

    @property
    def num_dofs(self) -> int:
        return self.space.dofmap.index_map.size_global

    @property
    def charge_transfer_resistance(self) -> float:
        """R_ct = dη/di at equilibrium [Ω m²]."""
        return charge_transfer_resistance(self.kinetics)

    def problem(self, electrolyte: Electrolyte) -> tuple[InterfaceProblem, float]:
        """The interface problem of ``electrolyte`` on this mesh, and its σ [S/m]: the SE's
        conductivity, a meshed interlayer's in its band, a thin film's resistance on Γa, a
        pressure field on Γa when the model has mechanics."""
        sigma_value = electrolyte.conductivity(self.kinetics.temperature)
        layer = electrolyte.interlayer
        # a meshed band without this electrolyte's own interlayer is just its SE
        banded = layer.conductivity if layer is not None and layer.representation == "meshed" else sigma_value
        sigma = conductivity_field(
            self.mesh.mesh, self.mesh.cell_tags, {tags.ELECTROLYTE: sigma_value, tags.INTERLAYER: banded}
        )
        film = layer.area_resistance if layer is not None and layer.representation == "resistance" else 0.0
        pressure = (
            None if self.mechanics is None else dolfinx.fem.Function(self.space, name="interface_pressure")
        )
        problem = interface_problem(
            self.space,
            sigma,
            self.mesh.facet_tags,
            self.kinetics,
            self.operation,
            film_resistance=film,
            pressure=pressure,
        )
        return problem, sigma_value

    def solve(self, electrolyte: Electrolyte, timer=None) -> Solution:
        """Solve for ``electrolyte``; ``timer(phase)``, if given, is a context manager that
        times the phases "setup", "solve", "mechanics" and "postprocess"."""
        timer = timer or (lambda phase: nullcontext())
        with timer("setup"):
            problem, sigma_value = self.problem(electrolyte)
        return self.solve_problem(problem, electrolyte, sigma_value, timer)

    def solve_problem(
        self,
        problem: InterfaceProblem,
        electrolyte: Electrolyte,
        sigma_value: float,
        timer=None,
        checked: bool = True,
    ) -> Solution:
        """Solve a problem made by :meth:`problem` (which a caller may have altered).  ``checked``:
        refuse a stripping result or a charge balance off the applied current (False for a problem
        with boundary data of its own, as the verification's exact solutions have)."""
        timer = timer or (lambda phase: nullcontext())
        layer = electrolyte.interlayer
        mixed = inside = mechanics = record = principal = None
        if layer is not None and layer.mixed:
            with timer("solve"):
                report, mixed, inside = self._solve_mixed(problem, layer)
        elif self.mechanics is None:
            with timer("solve"):
                report = solve_interface(problem, self.solver, self.preconditioner)
        else:
            report, mechanics, record, principal = self._solve_coupled(problem, electrolyte, timer)
        with timer("postprocess"):
            bands = self.window.feature_bands() if hasattr(self.window, "feature_bands") else None
            metrics = interface_metrics(problem, self.window.feature_points(), inside, bands)
            if checked:
                _check_solution(metrics, self.solver.rtol, electrolyte.key)
            phi1 = post_fields.interpolant(problem.phi, self.vertex_space)
            p1 = None if mechanics is None else mechanics.pressure
            i_dep, eta = plating_profile(self.trace, phi1, self.kinetics, problem.overpotential_values, p1)
            profile = InterfaceProfile(
                self.trace.arc_length,
                self.trace.points,
                self.trace.on_anode,
                i_dep,
                eta,
                None if p1 is None else self.trace.values(p1),
            )
        return Solution(
            self,
            electrolyte,
            sigma_value,
            problem,
            report,
            Metrics.from_dict(metrics),
            profile,
            mechanics,
            record,
            principal,
            mixed,
        )

    def _solve_mixed(self, problem: InterfaceProblem, layer):
        """A mixed-conducting interlayer (dendrite_fem.physics.mixed_conduction): the ionic
        potential goes into ``problem``, which the metrics, profile and fields read; returns
        (report, the mixed problem, the current plated inside the layer)."""
        t0 = time.perf_counter()
        m = self.mesh
        mixed = mixed_interphase_problem(
            m.mesh,
            self.degree,
            problem.sigma,
            layer.electronic_conductivity,
            layer.specific_area,
            m.cell_tags,
            m.facet_tags,
            self.kinetics,
            self.operation,
        )
        steps = solve_mixed_interphase(mixed, self.solver.rtol, self.solver.max_iterations)
        problem.phi.interpolate(mixed.solution.sub(0))
        report = SolveReport(
            newton_iterations=steps,
            linear_solver="MUMPS LU (mixed phi, phi_e)",
            seconds=time.perf_counter() - t0,
        )
        return report, mixed, interphase_plating_current(mixed)

    def _solve_coupled(self, problem: InterfaceProblem, electrolyte: Electrolyte, timer):
        """The stress-coupled solve (dendrite_fem.physics.electromechanics); returns (the final
        Newton report, the mechanics, the summary record, σ₁ as a DG0 field)."""
        props = electrolyte.mechanical
        if props is None:
            raise ValueError(
                f"electrolyte {electrolyte.key}: the stress-coupled solve needs its elastic constants "
                "(Electrolyte.mechanical)"
            )
        load, window = self.mechanics, self.window
        with timer("mechanics"):
            centres = [
                (np.array([d.x, 0.0, 0.0]) if window.dim == 2 else np.array([d.x, d.y, 0.0]), d.size)
                for d in window.defects
                if d.kind == "protrusion"
            ]
            mechanics = interface_mechanics(
                self.mesh.mesh,
                self.mesh.facet_tags,
                ElasticConstants(props.youngs_modulus, props.poisson_ratio),
                centres,
                self.degree,
            )
        with timer("solve"):
            coupled = solve_coupled(problem, mechanics, load, self.solver, self.preconditioner)
        with timer("mechanics"):
            stresses, principal = stress_report(
                mechanics, load, coupled.deposit_pressures[-1], props.fracture_toughness, window.defects
            )
        record = {
            "elastic_constants": {
                "youngs_modulus": props.youngs_modulus,
                "poisson_ratio": props.poisson_ratio,
                "fracture_toughness": props.fracture_toughness,
                "source": props.source,
            },
            "load": {
                "stack_pressure": load.stack_pressure,
                "deposit_pressure": load.deposit_pressure,
                "deposit_time": load.deposit_time,
                "metal_bulk_modulus": load.metal_bulk_modulus,
            },
            "coupling": {
                "passes": coupled.passes,
                "converged": coupled.converged,
                "deposit_pressures": coupled.deposit_pressures,
                "changes": coupled.changes,
                "rtol": load.rtol,
                "newton_iterations": [r.newton_iterations for r in coupled.newton],
            },
            **stresses,
        }
        return coupled.newton[-1], mechanics, record, principal
