"""Run a case: mesh once, solve for every electrolyte, write all outputs atomically."""

from __future__ import annotations

import errno
import functools
import hashlib
import platform
import shutil
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
from dendrite_fem.app.faults import fault
from dendrite_fem.app.outputs import ResultDirectory, finished_result, write_csv, write_json
from dendrite_fem.config.resolve import CaseSetup
from dendrite_fem.model import Model, Solution
from dendrite_fem.numerics.floor import poisson_floor
from dendrite_fem.numerics.solver import ConvergenceError, linear_solver_options
from dendrite_fem.physics.mixed_conduction import interphase_plating_field
from dendrite_fem.post import fields as fem_fields
from dendrite_fem.units import TO_MS_PER_CM

#: units of the numbers in summary.json (SI throughout)
UNITS = {
    "anode_area": "m^(d-1)",
    "counter_area": "m^(d-1)",
    "pore_area": "m^(d-1)",
    "total_plating_current": "A (per m of depth in 2D)",
    "counter_current": "same as total",
    "applied_current": "same as total",
    "charge_balance_error": "1",
    "mean_plating_current_density": "A/m^2",
    "max_plating_current_density": "A/m^2",
    "min_plating_current_density": "A/m^2",
    "max_over_mean": "1",
    "min_over_mean": "1",
    "coefficient_of_variation": "1",
    "share_above_twice_mean": "1",
    "mean_overpotential": "V",
    "counter_potential": "V",
    "ohmic_drop": "V",
    "film_drop": "V",
    "conductivity": "S/m",
    "wagner_length": "m",
    "wagner_number": "1",
    "effective_wagner_length": "m",
    "effective_wagner_number": "1",
    "area_resistance": "ohm m^2",
    "thickness": "m",
    "charge_transfer_resistance": "ohm m^2",
    "defect_size": "m",
    "wall_time": "s",
    "stack_pressure": "Pa",
    "deposit_pressure": "Pa",
    "deposit_time": "s",
    "metal_pressure": "Pa",
    "youngs_modulus": "Pa",
    "fracture_toughness": "Pa m^0.5",
    "stress_intensity": "Pa m^0.5",
    "peak_principal_stress": "Pa",
    "interface_pressure_at_tip": "Pa",
    "interface_pressure_at_rim": "Pa",
    "contact_pressure_min": "Pa",
    "contact_pressure_max": "Pa",
    "lateral_stress_of_stack": "Pa",
    "critical_deposit_pressure": "Pa",
    "volume": "m^d (per m of depth in 2D)",
    "size": "m",
}


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


#: bytes of output per mesh cell and field set (tags, or one electrolyte's fields), with margin
BYTES_PER_CELL = 300


def _check_free_space(rd, cells: int, electrolytes: int, fields: bool, comm: MPI.Comm) -> None:
    """Refuse to start writing into a file system that cannot hold the result: HDF5 aborts the
    process on a full disk, so it must not get that far (collective)."""
    need = 2e6 + (cells * BYTES_PER_CELL * (1 + electrolytes) if fields else 1e5 * electrolytes)
    free = comm.bcast(shutil.disk_usage(rd.path("")).free if comm.rank == 0 else None, root=0)
    if free < need:
        raise OSError(
            errno.ENOSPC,
            "No space left on device",
            f"{rd.final}: {free / 1e6:.3g} MB free, the result needs about {need / 1e6:.3g} MB",
        )


def run_case(
    case: CaseSetup,
    out: Path,
    case_file: str,
    case_hash: str,
    comm: MPI.Comm = MPI.COMM_WORLD,
    log=print,
    force: bool = False,
    time_floor: bool = False,
    mesh_cache: Path | None = None,
) -> dict:
    """Solve ``case`` and write its results to ``out``; returns the summary (every rank).

    A finished result of the same case and software version is returned as it is
    unless ``force``; an interrupted run of it resumes after its last finished
    electrolyte.  ``time_floor`` also times one linear Poisson solve on the same mesh
    (:func:`dendrite_fem.numerics.floor.poisson_floor`) and records the ratio of the Newton
    solve to it.  ``mesh_cache`` is a directory where the Gmsh mesh is kept and reused by runs
    of the same geometry (:func:`dendrite_fem.geometry.distribute.build_mesh`)."""
    key = result_key(case_hash)
    say = log if comm.rank == 0 else (lambda *a, **k: None)
    done = comm.bcast(None if force or comm.rank != 0 else finished_result(out, key), root=0)
    if done is not None:
        if comm.rank == 0:  # said even with --quiet: sweeps and scripts rely on it
            print(
                f"{out}: already holds this case's result (same case hash and version); --force recomputes it"
            )
        return done

    timer = PhaseTimer(comm)
    degree = case.degree
    model = case.model(comm, mesh_cache)
    window = model.window
    electrolytes = case.electrolytes

    with ResultDirectory(out, comm, key, fresh=force, owner=f"run:{case.name}") as rd:
        if rd.resumed:
            say(f"resuming: {', '.join(rd.resumed)} finished in an earlier run")
        say(f"meshing {window.dim}D window ({len(window.defects)} defect(s)) on {comm.size} rank(s) ...")
        fault("mesh", comm.rank)
        adaptation = None
        if case.spec.mesh.target_error is not None:
            from dendrite_fem.adaptivity import solve_adaptive

            say(f"  refining until the tracked numbers change by at most {case.spec.mesh.target_error:g}")
            with timer("adaptation"):
                adaptation = solve_adaptive(
                    model,
                    electrolytes,
                    case.spec.mesh.target_error,
                    case.spec.mesh.max_refinements,
                    say=lambda text: say(f"  {text}"),
                )
            model = adaptation.model
        mesh_data = model.mesh
        if "mesh_from_cache" in mesh_data.timings:
            say("  mesh read from the mesh cache")
        timer.seconds.update(mesh_data.timings)
        with timer("setup"):
            model.trace  # noqa: B018  (built once, timed here)
        say(f"  {mesh_data.num_cells} cells, {model.num_dofs} DOFs (P{degree})")
        resume_dir = rd.resume_dir
        _check_free_space(rd, mesh_data.num_cells, len(electrolytes), case.spec.output.fields, comm)
        if case.spec.output.fields and not (rd.resumed and rd.path("tags.xdmf").exists()):
            with timer("output"):
                fem_fields.write_tags(
                    rd.path("tags.xdmf"), mesh_data.mesh, mesh_data.cell_tags, mesh_data.facet_tags
                )

        results: dict[str, dict] = {}
        profiles: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        pressure_profiles: dict[str, np.ndarray] = {}  #: ΔP [Pa] along the trace, with [mechanics]
        gathered: dict[str, fem_fields.GatheredField | None] = {}
        for e in electrolytes:
            name = e.key
            if name in rd.finished and comm.bcast((resume_dir / f"{name}.npz").exists(), root=0):
                say(f"{name}: finished in an earlier run, reusing it")
                results[name], profiles[name], gathered[name], dp = _restore(rd, resume_dir, name, comm)
                if dp is not None:
                    pressure_profiles[name] = dp
                continue
            sigma_value = e.conductivity(model.kinetics.temperature)
            if adaptation is not None:  # the adaptive loop solved it on this, its final, mesh
                say(f"{name} (sigma = {sigma_value * TO_MS_PER_CM:.4g} mS/cm): solved on the final mesh")
                solution = next(s for s in adaptation.solutions if s.electrolyte.key == name)
                problem = solution.problem
            else:
                say(f"solving {name} (sigma = {sigma_value * TO_MS_PER_CM:.4g} mS/cm) ...")
                with timer("setup"):
                    problem, _ = model.problem(e)
                    if fault(f"solve:{name}", comm.rank) == "nan":
                        problem.sigma.x.array[:] = np.nan
                solution = model.solve_problem(problem, e, sigma_value, timer)
            floor = None
            if time_floor and solution.mixed is None:  # the floor compares with the single-potential Newton
                with timer("poisson_floor"):
                    ksp_opts, _ = linear_solver_options(model.solver, model.space)
                    floor = poisson_floor(
                        model.space,
                        problem.sigma,
                        mesh_data.facet_tags,
                        model.operation.applied_current_density or 1.0,
                        ksp_opts,
                    )
            with timer("postprocess"):
                _check_finite(name, solution.metrics.to_dict())
                if case.spec.output.fields or case.spec.output.figures:
                    solution.current_density  # noqa: B018  (timed here, written below)
            profiles[name] = (solution.profile.plating_current, solution.profile.overpotential)
            if solution.profile.pressure is not None:
                pressure_profiles[name] = solution.profile.pressure
            gathered[name] = _write_solution_fields(
                rd.path,
                solution,
                case.spec.output.fields,
                case.spec.output.figures or case.spec.output.fields,
                timer,
            )
            results[name] = solution.record(floor)
            if adaptation is not None:
                results[name]["error_control"] = adaptation.record(name)
            if comm.rank == 0:
                g = gathered[name]
                plot = (
                    {}
                    if g is None
                    else {
                        "points": g.points,
                        "cells": g.cells,
                        "potential": g.nodal["potential"],
                        "current_density": g.cellwise["current_density"],
                        "current_density_magnitude": g.cellwise["current_density_magnitude"],
                    }
                )
                if name in pressure_profiles:
                    plot["pressure"] = pressure_profiles[name]
                np.savez(resume_dir / f"{name}.npz", i_dep=profiles[name][0], eta=profiles[name][1], **plot)
            rd.mark_finished(name, results[name])
            m = solution.metrics
            say(
                f"  {solution.report.newton_iterations} Newton steps, max/mean {m.max_over_mean:.4f}, "
                f"charge balance {m.charge_balance_error:.1e}"
            )
            fault(f"finished:{name}", comm.rank)

        fault("output", comm.rank)
        if comm.rank == 0:
            _write_profile_and_figures(
                rd.path,
                model,
                profiles,
                pressure_profiles,
                gathered,
                case.spec.output.figures,
                f"dendrite-fem {dendrite_fem.__version__}, case sha256 {case_hash}",
                timer,
            )
        case_record = {
            "name": case.name,
            "description": case.spec.case.description,
            "file": case_file,
            "sha256": case_hash,
            "input": case.spec.model_dump(mode="json"),
        }
        summary = _summary(model, case_record, results, [k for k in rd.resumed if k in results], key, timer)
        if comm.rank == 0:
            write_json(rd.path("summary.json"), summary)
    return summary


def write_result(
    out: Path, model: Model, solutions: list[Solution], fields: bool = True, figures_too: bool = True
) -> Path:
    """Write ``solutions`` of ``model`` into ``out`` as ``dendrite-fem run`` lays out a result
    (all files at once, replacing an earlier result); for :meth:`dendrite_fem.model.Solution.write`."""
    comm = model.comm
    timer = PhaseTimer(comm)
    with ResultDirectory(out, comm, "python-api", fresh=True, owner="python-api") as rd:
        m = model.mesh
        if fields:
            fem_fields.write_tags(rd.path("tags.xdmf"), m.mesh, m.cell_tags, m.facet_tags)
        profiles, pressures, gathered = {}, {}, {}
        for s in solutions:
            name = s.electrolyte.key
            profiles[name] = (s.profile.plating_current, s.profile.overpotential)
            if s.profile.pressure is not None:
                pressures[name] = s.profile.pressure
            gathered[name] = _write_solution_fields(rd.path, s, fields, fields or figures_too, timer)
        if comm.rank == 0:
            _write_profile_and_figures(
                rd.path,
                model,
                profiles,
                pressures,
                gathered,
                figures_too,
                f"dendrite-fem {dendrite_fem.__version__} (Python API)",
                timer,
            )
        case_record = {"name": out.name, "description": "", "file": None, "sha256": None, "input": None}
        summary = _summary(
            model, case_record, {s.electrolyte.key: s.record() for s in solutions}, [], "python-api", timer
        )
        if comm.rank == 0:
            write_json(rd.path("summary.json"), summary)
    return out


def _write_solution_fields(
    path, solution: Solution, fields: bool, gather: bool, timer
) -> fem_fields.GatheredField | None:
    """The fields of one solution (XDMF in parallel, the .vtu on rank 0) and, for the figures,
    the gathered vertex and cell data (None when neither is wanted)."""
    model, problem = solution.model, solution.problem
    mesh = model.mesh.mesh
    name = solution.electrolyte.key
    if not (fields or gather):
        return None
    i_vec, i_mag = solution.current_density
    phi1 = fem_fields.interpolant(problem.phi, model.vertex_space)
    if fields:
        with timer("output"):
            # XDMF writes nodal data at the geometry nodes: use the geometry's degree
            geometry_degree = mesh.geometry.cmap.degree
            V_out = (
                model.space
                if geometry_degree == model.degree
                else dolfinx.fem.functionspace(mesh, ("Lagrange", geometry_degree))
            )
            phi_out = fem_fields.interpolant(problem.phi, V_out)
            extra = []
            if solution.mixed is not None:
                phi_e = dolfinx.fem.Function(V_out, name="electronic_potential")
                phi_e.interpolate(solution.mixed.solution.sub(1))
                extra = [phi_e, interphase_plating_field(solution.mixed, model.mesh.cell_tags)]
            if solution.mechanics is not None:
                u_out = dolfinx.fem.Function(
                    dolfinx.fem.functionspace(mesh, ("Lagrange", geometry_degree, (mesh.geometry.dim,))),
                    name="displacement",
                )
                u_out.interpolate(solution.mechanics.displacement)
                extra = [
                    u_out,
                    fem_fields.interpolant(solution.mechanics.pressure, V_out),
                    solution.principal_stress,
                ]
            fem_fields.write_fields(path(f"fields_{name}.xdmf"), [phi_out, i_vec, i_mag, *extra])
    gathered = None
    if gather:
        with timer("gather"):
            gathered = fem_fields.gather_on_root(
                {"potential": phi1}, {"current_density": i_vec, "current_density_magnitude": i_mag}
            )
    if fields:
        with timer("output"):
            surface = solution.interface_surface()  # collective
            if mesh.comm.rank == 0:
                fem_fields.write_vtu(path(f"fields_{name}.vtu"), gathered)
                fem_fields.write_interface_vtu(path(f"interface_{name}.vtu"), surface)
    return gathered


def _write_profile_and_figures(
    path, model: Model, profiles: dict, pressures: dict, gathered: dict, draw: bool, description: str, timer
) -> None:
    """interface_profile.csv and, if ``draw``, the two figures (rank 0)."""
    window, trace = model.window, model.trace
    applied = model.operation.applied_current_density
    with timer("output"):
        _write_profile(path("interface_profile.csv"), trace, profiles, window.dim, pressures)
    if draw:
        from dendrite_fem.app import figures  # matplotlib: 0.3 s of start-up, only when drawing

        with timer("figures"):
            provenance = {"Description": description}
            figures.current_maps(path("current_maps.png"), gathered, window, applied, provenance)
            figures.interface_profile(
                path("interface_profile.png"),
                trace.points[:, 0],
                trace.on_anode,
                {k: v[0] for k, v in profiles.items()},
                applied,
                window,
                provenance,
                arc_length=trace.arc_length,
            )
            surfaces = _interface_surfaces(path, profiles)
            if surfaces:
                figures.interface_map(path("interface_map.png"), surfaces, window, applied, provenance)


def _interface_surfaces(path, profiles: dict) -> dict:
    """name → (points, facets, tag, i_dep) from the ``interface_<name>.vtu`` files (written with
    the fields; read back so that a resumed run draws the electrolytes it did not solve again)."""
    import pyvista as pv

    out = {}
    for name in profiles:
        file = path(f"interface_{name}.vtu")
        if not file.exists():
            return {}
        grid = pv.read(file)
        k = 3 if grid.celltypes[0] == pv.CellType.TRIANGLE else 2
        facets = grid.cells.reshape(-1, k + 1)[:, 1:]
        out[name] = (
            np.asarray(grid.points),
            facets,
            np.asarray(grid.cell_data["tag"]),
            np.asarray(grid.point_data["plating_current"]),
        )
    return out


def _summary(model: Model, case_record: dict, results: dict, resumed: list[str], key: str, timer) -> dict:
    """summary.json (every rank holds it; rank 0 writes it)."""
    k, window, comm = model.kinetics, model.window, model.comm
    mesh_data = model.mesh
    return {
        "case": case_record,
        "software": software_versions(),
        "parameters": {
            "dimension": window.dim,
            **model.operation.summary(),
            "exchange_current_density": k.exchange_current_density,
            "effective_exchange_current_density": k.effective_exchange_current,
            "alpha_a": k.alpha_a,
            "alpha_c": k.alpha_c,
            "temperature": k.temperature,
            "pressure": k.pressure,
            "charge_transfer_resistance": model.charge_transfer_resistance,
            "defect_size": window.characteristic_size(),
        },
        "electrolytes": results,
        "run": {
            "ranks": comm.size,
            "cells": mesh_data.num_cells,
            "dofs": model.num_dofs,
            "element_degree": model.degree,
            "mesh_sizes": vars(window.resolved_sizes()),
            "parallel_refinements": model.parallel_refinements,
            "resumed_from": resumed,
            "resume_key": key,
            "wall_time": timer.reduced(),
        },
        "units": UNITS,
    }


def _restore(rd: ResultDirectory, resume_dir: Path, name: str, comm: MPI.Comm):
    """An electrolyte finished by an earlier run: its record, profile and plot data."""
    stored = np.load(resume_dir / f"{name}.npz") if comm.rank == 0 else None
    profile = comm.bcast(None if stored is None else (stored["i_dep"], stored["eta"]), root=0)
    pressure = comm.bcast(None if stored is None or "pressure" not in stored else stored["pressure"], root=0)
    gathered = None
    if stored is not None and "points" in stored:
        gathered = fem_fields.GatheredField(
            stored["points"],
            stored["cells"],
            {"potential": stored["potential"]},
            {
                "current_density": stored["current_density"],
                "current_density_magnitude": stored["current_density_magnitude"],
            },
        )
    return rd.finished[name], profile, gathered, pressure


def _check_finite(name: str, metrics: dict) -> None:
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not np.isfinite(v)]
    if bad:
        raise ConvergenceError(
            f"{name}: the solution gives non-finite {', '.join(bad)}; check the conductivity and "
            "kinetic parameters",
            [],
        )


def _write_profile(path: Path, trace, profiles: dict, dim: int, pressures: dict | None = None) -> None:
    pressures = pressures or {}
    coords = ["x_m", "y_m"] if dim == 2 else ["x_m", "y_m", "z_m"]
    header = ["s_m", *coords, "boundary"]
    for name in profiles:
        header += [f"i_dep_{name}_A_per_m2", f"eta_{name}_V"] + (
            [f"dP_{name}_Pa"] if name in pressures else []
        )
    rows = []
    for k in range(len(trace.points)):
        row = [
            f"{trace.arc_length[k]:.9e}",
            *(f"{c:.9e}" for c in trace.points[k, :dim]),
            "anode" if trace.on_anode[k] else "pore",
        ]
        for name, (i_dep, eta) in profiles.items():
            row += [f"{i_dep[k]:.9e}", "" if np.isnan(eta[k]) else f"{eta[k]:.9e}"]
            if name in pressures:
                row.append(f"{pressures[name][k]:.9e}" if trace.on_anode[k] else "")
        rows.append(row)
    write_csv(path, header, rows)
