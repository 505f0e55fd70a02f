"""Run a case: mesh once, solve for every electrolyte, write all outputs atomically."""

from __future__ import annotations

import functools
import hashlib
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import dolfinx
import gmsh
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

import dendrite_fem
import dendrite_fem.geometry
from dendrite_fem.post import fields as fem_fields
from dendrite_fem.app import figures
from dendrite_fem.app.case import Case
from dendrite_fem.app.faults import fault
from dendrite_fem.app.outputs import ResultDirectory, finished_result, write_csv, write_json
from dendrite_fem.physics.conduction import conductivity_field, interface_problem
from dendrite_fem.physics.electromechanics import interface_mechanics, solve_coupled, stress_report
from dendrite_fem.physics.mechanics import ElasticConstants
from dendrite_fem.physics.mixed_conduction import (
    interphase_plating_current, interphase_plating_field, mixed_interphase_problem, solve_mixed_interphase,
)  # fmt: skip
from dendrite_fem.numerics.solver import SolveReport
from dendrite_fem.post.interface import interface_metrics, interface_trace, plating_profile
from dendrite_fem.physics.kinetics import charge_transfer_resistance, wagner_length
from dendrite_fem.numerics.floor import poisson_floor
from dendrite_fem.numerics.solver import ConvergenceError, linear_solver_options, solve_interface
from dendrite_fem.geometry import tags
from dendrite_fem.geometry.distribute import build_mesh

#: units of the numbers in summary.json (SI throughout)
UNITS = {
    "anode_area": "m^(d-1)", "counter_area": "m^(d-1)", "pore_area": "m^(d-1)",
    "total_plating_current": "A (per m of depth in 2D)", "counter_current": "same as total",
    "applied_current": "same as total", "charge_balance_error": "1",
    "mean_plating_current_density": "A/m^2", "max_plating_current_density": "A/m^2",
    "min_plating_current_density": "A/m^2", "max_over_mean": "1", "min_over_mean": "1",
    "coefficient_of_variation": "1", "share_above_twice_mean": "1", "mean_overpotential": "V",
    "counter_potential": "V", "ohmic_drop": "V", "film_drop": "V", "conductivity": "S/m", "wagner_length": "m",
    "wagner_number": "1", "effective_wagner_length": "m", "effective_wagner_number": "1",
    "area_resistance": "ohm m^2", "thickness": "m", "charge_transfer_resistance": "ohm m^2", "defect_size": "m",
    "wall_time": "s",
    "stack_pressure": "Pa", "deposit_pressure": "Pa", "deposit_time": "s", "metal_pressure": "Pa",
    "youngs_modulus": "Pa", "fracture_toughness": "Pa m^0.5", "stress_intensity": "Pa m^0.5",
    "peak_principal_stress": "Pa", "interface_pressure_at_tip": "Pa", "interface_pressure_at_rim": "Pa",
    "contact_pressure_min": "Pa", "contact_pressure_max": "Pa", "lateral_stress_of_stack": "Pa",
    "critical_deposit_pressure": "Pa", "volume": "m^d (per m of depth in 2D)", "size": "m",
}  # fmt: skip


class PhaseTimer:
    """Wall time per phase, the maximum over ranks."""

    def __init__(self, comm: MPI.Comm):
        self.comm = comm
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str):
        t0 = time.perf_counter()
        yield
        self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0

    def reduced(self) -> dict[str, float]:
        # ranks may have different phases (rank 0 alone draws figures): reduce over the union
        names = sorted(set().union(*self.comm.allgather(list(self.seconds))))
        return {k: self.comm.allreduce(self.seconds.get(k, 0.0), op=MPI.MAX) for k in names}


@functools.cache
def source_hash() -> str:
    """SHA-256 over the package's own source (every module of :mod:`dendrite_fem`, its
    geometry included): a resumed or skipped run must come from the very same code, not just
    the same version number."""
    digest = hashlib.sha256()
    for package in (dendrite_fem, dendrite_fem.geometry):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package.__name__}:{path.relative_to(root)}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def result_key(case_hash: str) -> str:
    """The key a finished or partial result is recognised by: the case (file and overrides),
    the version and the package source.  A result with another key is never reused."""
    return f"{case_hash}:{dendrite_fem.__version__}:{source_hash()}"


def software_versions() -> dict[str, str]:
    return {
        "dendrite-fem": dendrite_fem.__version__,
        "dendrite-fem source sha256": source_hash(),
        "dolfinx": dolfinx.__version__,
        "petsc": ".".join(map(str, PETSc.Sys.getVersion())),
        "gmsh": gmsh.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
    }


def run_case(case: Case, out: Path, case_file: str, case_hash: str, comm: MPI.Comm = MPI.COMM_WORLD,
             log=print, force: bool = False, time_floor: bool = False,
             mesh_cache: Path | None = None) -> dict:  # fmt: skip
    """Solve ``case`` and write its results to ``out``; returns the summary (every rank).

    A finished result of the same case and software version is returned as it is
    unless ``force``; an interrupted run of it resumes after its last finished
    electrolyte.  ``time_floor`` also times one linear Poisson solve on the same mesh
    (:func:`dendrite_fem.numerics.floor.poisson_floor`) and records the ratio of the Newton solve to it.
    ``mesh_cache`` is a directory where the Gmsh mesh is kept and reused by runs of the
    same geometry (:func:`dendrite_fem.geometry.distribute.build_mesh`)."""
    key = result_key(case_hash)
    say = log if comm.rank == 0 else (lambda *a, **k: None)
    done = comm.bcast(None if force or comm.rank != 0 else finished_result(out, key), root=0)
    if done is not None:
        if comm.rank == 0:  # said even with --quiet: sweeps and scripts rely on it
            print(f"{out}: already holds this case's result (same case hash and version); --force recomputes it")
        return done

    timer = PhaseTimer(comm)
    window = case.window()
    window.check()  # refuse an impossible geometry before anything is written
    kinetics = case.kinetics_model()
    counter = case.driving()
    options = case.solver_options()
    conductivities = case.conductivities()
    interlayers = case.interlayers()
    load = case.mechanical_load()
    elastic = case.elastic_properties() if load is not None else {}
    degree = case.mesh.element_degree

    with ResultDirectory(out, comm, key, fresh=force) as rd:
        if rd.resumed:
            say(f"resuming: {', '.join(rd.resumed)} finished in an earlier run")
        say(f"meshing {window.dim}D window ({len(window.defects)} defect(s)) on {comm.size} rank(s) ...")
        fault("mesh", comm.rank)
        mesh_data = build_mesh(window, comm, geometry_order=case.mesh.geometry_order or degree, cache=mesh_cache)
        if "mesh_from_cache" in mesh_data.timings:
            say("  mesh read from the mesh cache")
        timer.seconds.update(mesh_data.timings)
        mesh = mesh_data.mesh
        with timer("setup"):
            V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree))
            V1 = V if degree == 1 else dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
            # XDMF writes nodal data at the geometry nodes: use the geometry's degree
            geometry_degree = mesh.geometry.cmap.degree
            V_out = V if geometry_degree == degree else dolfinx.fem.functionspace(mesh, ("Lagrange", geometry_degree))
            trace = interface_trace(V1, mesh_data.facet_tags)
        ndofs = V.dofmap.index_map.size_global
        say(f"  {mesh_data.num_cells} cells, {ndofs} DOFs (P{degree})")
        resume_dir = rd.resume_dir
        if case.output.fields and not (rd.resumed and rd.path("tags.xdmf").exists()):
            with timer("output"):
                fem_fields.write_tags(rd.path("tags.xdmf"), mesh, mesh_data.cell_tags, mesh_data.facet_tags)

        results: dict[str, dict] = {}
        profiles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        pressure_profiles: dict[str, np.ndarray] = {}  #: ΔP [Pa] along the trace, with [mechanics]
        gathered: dict[str, fem_fields.GatheredField | None] = {}
        r_ct = charge_transfer_resistance(kinetics)
        a = window.characteristic_size()
        for name, (sigma_value, source) in conductivities.items():
            if name in rd.finished and comm.bcast((resume_dir / f"{name}.npz").exists(), root=0):
                say(f"{name}: finished in an earlier run, reusing it")
                results[name], profiles[name], gathered[name], dp = _restore(rd, resume_dir, name, comm)
                if dp is not None:
                    pressure_profiles[name] = dp
                continue
            say(f"solving {name} (sigma = {sigma_value * 10:.4g} mS/cm) ...")
            with timer("setup"):
                layer = interlayers[name]
                # a meshed band without this electrolyte's own interlayer is just its SE
                meshed = sigma_value if layer is None or layer["representation"] != "meshed" else layer["conductivity"]
                sigma = conductivity_field(mesh, mesh_data.cell_tags, {tags.ELECTROLYTE: sigma_value, tags.INTERLAYER: meshed})
                if fault(f"solve:{name}", comm.rank) == "nan":
                    sigma.x.array[:] = np.nan
                film = layer["area_resistance"] if layer and layer["representation"] == "resistance" else 0.0
                pressure = None if load is None else dolfinx.fem.Function(V, name="interface_pressure")
                problem = interface_problem(V, sigma, mesh_data.facet_tags, kinetics, counter, film_resistance=film,
                                            pressure=pressure)  # fmt: skip
            mech_record = mechanics = mixed = None
            inside = None
            if layer is not None and layer.get("electronic_conductivity", 0.0) > 0:
                with timer("solve"):
                    report, mixed, inside = _solve_mixed_interphase(problem, layer, mesh_data, kinetics, counter,
                                                                    degree, options)  # fmt: skip
            elif load is None:
                with timer("solve"):
                    report = solve_interface(problem, options)
            else:
                report, mechanics, mech_record, principal = _solve_with_mechanics(
                    problem, elastic[name], load, window, mesh_data, degree, options, timer)
            floor = None
            if time_floor and mixed is None:  # the floor compares with the single-potential Newton
                with timer("poisson_floor"):
                    ksp_opts, _ = linear_solver_options(options, ndofs)
                    floor = poisson_floor(V, sigma, mesh_data.facet_tags,
                                          counter.applied_current_density or 1.0, ksp_opts)  # fmt: skip
            with timer("postprocess"):
                metrics = interface_metrics(problem, window.feature_points(), inside)
                _check_finite(name, metrics)
                phi1 = fem_fields.interpolant(problem.phi, V1)
                p1 = None if mechanics is None else mechanics.pressure
                profiles[name] = plating_profile(trace, phi1, kinetics, problem.overpotential_values, p1)
                if p1 is not None:
                    pressure_profiles[name] = trace.values(p1)
                i_vec, i_mag = fem_fields.current_density(problem)
            if case.output.fields:
                with timer("output"):
                    phi_out = fem_fields.interpolant(problem.phi, V_out)
                    extra = []
                    if mixed is not None:
                        phi_e = dolfinx.fem.Function(V_out, name="electronic_potential")
                        phi_e.interpolate(mixed.solution.sub(1))
                        extra = [phi_e, interphase_plating_field(mixed, mesh_data.cell_tags)]
                    if mechanics is not None:
                        u_out = dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("Lagrange", geometry_degree, (mesh.geometry.dim,))),
                                                     name="displacement")  # fmt: skip
                        u_out.interpolate(mechanics.displacement)
                        extra = [u_out, fem_fields.interpolant(mechanics.pressure, V_out), principal]
                    fem_fields.write_fields(rd.path(f"fields_{name}.xdmf"), [phi_out, i_vec, i_mag, *extra])
            gathered[name] = None
            if case.output.figures or case.output.fields:
                with timer("gather"):
                    gathered[name] = fem_fields.gather_on_root(
                        {"potential": phi1}, {"current_density": i_vec, "current_density_magnitude": i_mag}
                    )
            if case.output.fields and comm.rank == 0:
                with timer("output"):
                    fem_fields.write_vtu(rd.path(f"fields_{name}.vtu"), gathered[name])
            results[name] = _electrolyte_record(sigma_value, source, kinetics, a, metrics, report, floor, layer)
            if mech_record is not None:
                results[name]["mechanics"] = mech_record
            if comm.rank == 0:
                g = gathered[name]
                plot = {} if g is None else {
                    "points": g.points, "cells": g.cells, "potential": g.nodal["potential"],
                    "current_density": g.cellwise["current_density"],
                    "current_density_magnitude": g.cellwise["current_density_magnitude"],
                }  # fmt: skip
                if name in pressure_profiles:
                    plot["pressure"] = pressure_profiles[name]
                np.savez(resume_dir / f"{name}.npz", i_dep=profiles[name][0], eta=profiles[name][1], **plot)
            rd.mark_finished(name, results[name])
            say(f"  {report.newton_iterations} Newton steps, max/mean {metrics['max_over_mean']:.4f}, "
                f"charge balance {metrics['charge_balance_error']:.1e}")  # fmt: skip
            fault(f"finished:{name}", comm.rank)

        applied = counter.applied_current_density
        fault("output", comm.rank)
        if comm.rank == 0:
            with timer("output"):
                _write_profile(rd.path("interface_profile.csv"), trace, profiles, window.dim, pressure_profiles)
            if case.output.figures:
                with timer("figures"):
                    provenance = {"Description": f"dendrite-fem {dendrite_fem.__version__}, case sha256 {case_hash}"}
                    figures.current_maps(rd.path("current_maps.png"), gathered, window, applied, provenance)
                    figures.interface_profile(
                        rd.path("interface_profile.png"), trace.points[:, 0], trace.on_anode,
                        {k: v[0] for k, v in profiles.items()}, applied, window, provenance,
                    )  # fmt: skip
        summary = {
            "case": {"name": case.case.name, "description": case.case.description, "file": case_file,
                     "sha256": case_hash, "input": case.model_dump(mode="json")},  # fmt: skip
            "software": software_versions(),
            "parameters": {
                "dimension": window.dim,
                **counter.summary(),
                "exchange_current_density": kinetics.exchange_current_density,
                "effective_exchange_current_density": kinetics.effective_exchange_current,
                "alpha_a": kinetics.alpha_a,
                "alpha_c": kinetics.alpha_c,
                "temperature": kinetics.temperature,
                "pressure": kinetics.pressure,
                "charge_transfer_resistance": r_ct,
                "defect_size": a,
            },
            "electrolytes": results,
            "run": {
                "ranks": comm.size,
                "cells": mesh_data.num_cells,
                "dofs": ndofs,
                "element_degree": degree,
                "mesh_sizes": vars(window.resolved_sizes()),
                "resumed_from": [k for k in rd.resumed if k in results],
                "resume_key": key,
                "wall_time": timer.reduced(),
            },
            "units": UNITS,
        }
        if comm.rank == 0:
            write_json(rd.path("summary.json"), summary)
    return summary


def _solve_mixed_interphase(problem, layer: dict, mesh_data, kinetics, counter, degree: int, options):
    """Solve with a mixed-conducting interlayer (dendrite_fem.physics.mixed_conduction) and put the ionic
    potential into ``problem`` (the single-potential container the metrics, profile and fields
    read); returns (report, the mixed problem, the current plated inside the layer)."""
    t0 = time.perf_counter()
    mixed = mixed_interphase_problem(mesh_data.mesh, degree, problem.sigma, layer["electronic_conductivity"],
                                     layer["specific_area"], mesh_data.cell_tags, mesh_data.facet_tags,
                                     kinetics, counter)  # fmt: skip
    steps = solve_mixed_interphase(mixed, options.rtol, options.max_iterations)
    problem.phi.interpolate(mixed.solution.sub(0))
    report = SolveReport(newton_iterations=steps, linear_solver="MUMPS LU (mixed phi, phi_e)",
                         seconds=time.perf_counter() - t0)  # fmt: skip
    return report, mixed, interphase_plating_current(mixed)


def _solve_with_mechanics(problem, props: dict, load, window, mesh_data, degree: int, options, timer):
    """Stress-coupled solve (dendrite_fem.physics.electromechanics); returns (the final Newton report, the
    mechanics, the summary record, σ₁ as a DG0 field)."""
    with timer("mechanics"):
        centres = [(np.array([d.x, 0.0, 0.0]) if window.dim == 2 else np.array([d.x, d.y, 0.0]), d.size)
                   for d in window.defects if d.kind == "protrusion"]  # fmt: skip
        mechanics = interface_mechanics(mesh_data.mesh, mesh_data.facet_tags,
                                        ElasticConstants(props["youngs_modulus"], props["poisson_ratio"]),
                                        centres, degree)  # fmt: skip
    with timer("solve"):
        coupled = solve_coupled(problem, mechanics, load, options)
    with timer("mechanics"):
        stresses, principal = stress_report(mechanics, load, coupled.deposit_pressures[-1],
                                            props["fracture_toughness"], window.defects)  # fmt: skip
    record = {
        "elastic_constants": props,
        "load": {"stack_pressure": load.stack_pressure, "deposit_pressure": load.deposit_pressure,
                 "deposit_time": load.deposit_time, "metal_bulk_modulus": load.metal_bulk_modulus},
        "coupling": {"passes": coupled.passes, "converged": coupled.converged,
                     "deposit_pressures": coupled.deposit_pressures, "changes": coupled.changes, "rtol": load.rtol,
                     "newton_iterations": [r.newton_iterations for r in coupled.newton]},
        **stresses,
    }  # fmt: skip
    return coupled.newton[-1], mechanics, record, principal


def _restore(rd: ResultDirectory, resume_dir: Path, name: str, comm: MPI.Comm):
    """An electrolyte finished by an earlier run: its record, profile and plot data."""
    stored = np.load(resume_dir / f"{name}.npz") if comm.rank == 0 else None
    profile = comm.bcast(None if stored is None else (stored["i_dep"], stored["eta"]), root=0)
    pressure = comm.bcast(None if stored is None or "pressure" not in stored else stored["pressure"], root=0)
    gathered = None
    if stored is not None and "points" in stored:
        gathered = fem_fields.GatheredField(
            stored["points"], stored["cells"], {"potential": stored["potential"]},
            {"current_density": stored["current_density"],
             "current_density_magnitude": stored["current_density_magnitude"]},
        )  # fmt: skip
    return rd.finished[name], profile, gathered, pressure


def _electrolyte_record(sigma: float, source: str, kinetics, defect_size: float, metrics: dict, report,
                        floor=None, interlayer: dict | None = None) -> dict:  # fmt: skip
    """What summary.json says of one electrolyte."""
    l_w = wagner_length(sigma, kinetics)
    # an interlayer in series with the kinetics lengthens the Wagner length: σ (R_ct + R_f)
    r_f = interlayer["area_resistance"] if interlayer else 0.0
    solver = {
        "newton_iterations": report.newton_iterations,
        "linear_iterations": report.linear_iterations,
        "continuation_steps": report.continuation_steps,
        "final_residual_norm": report.residual_norms[-1] if report.residual_norms else None,
        "linear_solver": report.linear_solver,
        "seconds": report.seconds,
        "phases": report.phases,
    }
    if floor is not None:
        solver["poisson_floor"] = {"seconds": floor.seconds, "assembly": floor.assembly,
                                   "preconditioner_setup": floor.preconditioner_setup,
                                   "krylov": floor.krylov, "iterations": floor.iterations}  # fmt: skip
        solver["newton_over_poisson_floor"] = report.phases["newton"] / floor.seconds
    return {
        "conductivity": sigma,
        "conductivity_source": source,
        "wagner_length": l_w,
        "wagner_number": l_w / defect_size,
        "interlayer": interlayer,
        "effective_wagner_length": l_w + sigma * r_f,
        "effective_wagner_number": (l_w + sigma * r_f) / defect_size,
        "metrics": metrics,
        "solver": solver,
    }


def _check_finite(name: str, metrics: dict) -> None:
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not np.isfinite(v)]
    if bad:
        raise ConvergenceError(
            f"{name}: the solution gives non-finite {', '.join(bad)}; check the conductivity and "
            "kinetic parameters", []
        )


def _write_profile(path: Path, trace, profiles: dict, dim: int, pressures: dict | None = None) -> None:
    pressures = pressures or {}
    coords = ["x_m", "y_m"] if dim == 2 else ["x_m", "y_m", "z_m"]
    header = ["s_m", *coords, "boundary"]
    for name in profiles:
        header += [f"i_dep_{name}_A_per_m2", f"eta_{name}_V"] + ([f"dP_{name}_Pa"] if name in pressures else [])
    rows = []
    for k in range(len(trace.points)):
        row = [f"{trace.arc_length[k]:.9e}", *(f"{c:.9e}" for c in trace.points[k, :dim]),
               "anode" if trace.on_anode[k] else "pore"]  # fmt: skip
        for name, (i_dep, eta) in profiles.items():
            row += [f"{i_dep[k]:.9e}", "" if np.isnan(eta[k]) else f"{eta[k]:.9e}"]
            if name in pressures:
                row.append(f"{pressures[name][k]:.9e}" if trace.on_anode[k] else "")
        rows.append(row)
    write_csv(path, header, rows)
