"""``dendrite-fem grow``: sharp-interface growth of the deposit from a case's initial defect.

For each electrolyte of the case, in turn: mesh the current interface (dendrite_fem.geometry.growing), solve
the steady interface problem, move the markers at the Faraday rate (dendrite_fem.physics.growth), re-space
them, and checkpoint; stop when the tip has advanced ``growth.target_growth``, at
``growth.max_time`` or ``max_steps``, or when the deposit reaches the counter side (a short).

Outputs in OUT (written like a run: hidden until finished, resumable after an interruption
from the last step's checkpoint):

- ``<name>/growth.csv``: per step time, dt, tip position and advance, tip current and
  velocity, mean front advance, max/mean, metal area, charge passed and the mass-balance error;
- ``<name>/series.pvd`` + ``<name>/steps/step_NNNN.vtu``: the fields of every step, one
  ParaView time series (open the .pvd);
- ``<name>/interfaces.npz``: the marker polylines of every step and their times;
- ``growth.png``: interface shapes over time, tip advance and tip current against time;
- ``summary.json``: per electrolyte the stop reason, time to the target growth, steps, the
  worst mass-balance error, and the case and software like a run.
"""

from __future__ import annotations

import math
import time
import zipfile
from pathlib import Path

import numpy as np
from mpi4py import MPI

import dendrite_fem
from dendrite_fem.app.faults import fault
from dendrite_fem.app.outputs import ResultDirectory, finished_result, write_csv, write_json
from dendrite_fem.app.runner import software_versions, source_hash
from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.resolve import CaseSetup
from dendrite_fem.constants import FARADAY, NA_MOLAR_VOLUME
from dendrite_fem.geometry.growing import GRADING, GrowingInterface, ShortedCell
from dendrite_fem.geometry.spec import Ellipse, MeshSizes, Round
from dendrite_fem.model import Model
from dendrite_fem.physics.growth import (
    advance,
    faraday_velocity,
    metal_area,
    remove_loops,
    respace,
    time_step,
)
from dendrite_fem.post import fields as fem_fields
from dendrite_fem.units import TO_MA_PER_CM2, TO_MS_PER_CM, TO_OHM_CM2, TO_UM

COLUMNS = [
    "step",
    "time_s",
    "dt_s",
    "tip_x_m",
    "tip_y_m",
    "tip_advance_m",
    "tip_current_A_per_m2",
    "tip_velocity_m_per_s",
    "front_advance_m",
    "max_over_mean",
    "metal_area_m2",
    "charge_C_per_m",
    "mass_balance_error",
    "respace_area_m2",
    "markers",
    "cells",
    "newton_iterations",
    "loops_removed",
]


def check_growth_case(setup: CaseSetup) -> None:
    """What the growth model supports; a CaseError naming the field otherwise."""
    case = setup.spec
    g = case.geometry
    if case.growth is None:
        raise CaseError("the case has no [growth] table; add one, e.g. [growth] target_growth = '10 um'")
    if g.dimension != 2:
        raise CaseError("geometry.dimension: growth runs in 2D")
    if g.roughness is not None or g.random_defects is not None or g.height_map is not None:
        raise CaseError(
            "geometry: growth starts from explicit protrusions (no roughness, height_map or random_defects)"
        )
    for i, (d, defect) in enumerate(zip(g.defects, setup.window.defects, strict=True)):
        if d.kind != "protrusion" or not isinstance(defect.shape, (Round, Ellipse)):
            raise CaseError(
                f"geometry.defects[{i}]: growth starts from round or elliptical protrusions "
                f"(got a {d.kind} of shape {d.shape!r})"
            )
    if case.interlayer is not None and case.interlayer.representation != "resistance":
        raise CaseError(
            "interlayer.representation: a growing interface carries its interlayer as a thin film; "
            "use representation = 'resistance'"
        )
    if case.mechanics is not None:
        raise CaseError("[mechanics] is not coupled to the growth model")
    if any(e.interlayer is not None and e.interlayer.mixed for e in setup.electrolytes):
        raise CaseError("a mixed-conducting interlayer is not supported by the growth model")


def marker_spacing(sizes: MeshSizes, tip: np.ndarray):
    """Target marker spacing [m] at points p: ``near`` at the tip, growing at GRADING up to
    ``interface`` (the mesh's own sizes there, so the markers are the mesh's edges)."""

    def spacing(p: np.ndarray) -> np.ndarray:
        d = np.linalg.norm(np.atleast_2d(p) - tip, axis=1)
        return np.minimum(sizes.interface, sizes.near + GRADING * d)

    return spacing


def initial_markers(window, sizes: MeshSizes) -> np.ndarray:
    """The interface of a window as a polyline: flat, with each protrusion's
    outline (sampled finely by angle, then re-spaced)."""
    w = window.width
    pieces = []
    for d in sorted(window.defects, key=lambda d: d.x):
        s = d.shape
        rx, ry = (s.radius, s.radius) if isinstance(s, Round) else (s.half_width, s.height)
        theta = np.linspace(math.pi, 0.0, 2001)
        pieces.append(np.column_stack([d.x + rx * np.cos(theta), ry * np.sin(theta)]))
    xs = [np.array([[-w / 2, 0.0]])]
    for arc in pieces:
        xs.append(arc)
    xs.append(np.array([[w / 2, 0.0]]))
    dense = np.vstack(xs)
    # flat stretches between the pieces: fill them at the far spacing before re-spacing
    tip = dense[int(np.argmax(dense[:, 1]))]
    spacing = marker_spacing(sizes, tip)
    markers, _ = respace(dense, spacing)
    return markers


def _tip(points: np.ndarray) -> np.ndarray:
    return points[int(np.argmax(points[:, 1]))]


def grow_case(
    case: CaseSetup,
    out: Path,
    case_file: str,
    case_hash: str,
    comm: MPI.Comm = MPI.COMM_WORLD,
    log=print,
    force: bool = False,
) -> dict:
    """Grow the deposit for every electrolyte of ``case``; returns the summary."""
    check_growth_case(case)
    key = f"grow:{case_hash}:{dendrite_fem.__version__}:{source_hash()}"
    say = log if comm.rank == 0 else (lambda *a, **k: None)
    done = comm.bcast(None if force or comm.rank != 0 else finished_result(out, key), root=0)
    if done is not None:
        if comm.rank == 0:
            print(
                f"{out}: already holds this growth result (same case hash and version); --force recomputes it"
            )
        return done
    gp = case.spec.growth
    window = case.window
    sizes = window.resolved_sizes()
    kinetics, counter, options = case.kinetics, case.operation, case.solver
    if counter.applied_current_density is None:
        raise CaseError("operation.mode: growth runs galvanostatically (the plating current sets the rate)")
    degree = case.degree
    results = {}
    with ResultDirectory(
        out, comm, key, fresh=force, keep_partial_on_error=True, owner=f"grow:{case.name}"
    ) as rd:
        for e in case.electrolytes:
            name = e.key
            if name in rd.finished:
                say(f"{name}: finished in an earlier run, reusing it")
                results[name] = rd.finished[name]
                continue
            sigma_value, layer = e.conductivity(kinetics.temperature), e.interlayer
            film = layer.area_resistance if layer else 0.0
            results[name] = _grow_one(
                e, sigma_value, film, case, rd, comm, say, sizes, kinetics, counter, options, degree, gp
            )
            results[name] |= {
                "conductivity": sigma_value,
                "conductivity_source": e.source,
                "interlayer": layer.record() if layer else None,
            }
            rd.mark_finished(name, results[name])
        if comm.rank == 0:
            _figure(rd, list(results), gp.target_growth, window)
        summary = {
            "case": {
                "name": case.name,
                "description": case.spec.case.description,
                "file": case_file,
                "sha256": case_hash,
                "input": case.spec.model_dump(mode="json"),
            },
            "software": software_versions(),
            "parameters": {
                "applied_current_density": counter.value,
                "exchange_current_density": kinetics.exchange_current_density,
                "faraday_velocity_at_applied_current": float(faraday_velocity(counter.value)),
                "target_growth": gp.target_growth,
                "mesh_sizes": vars(sizes),
            },
            "electrolytes": results,
            "run": {"ranks": comm.size, "resumed_from": rd.resumed},
            "units": {
                "time": "s",
                "length": "m",
                "current density": "A/m^2",
                "velocity": "m/s",
                "area": "m^2 per m",
            },
        }
        if comm.rank == 0:
            write_json(rd.path("summary.json"), summary)
    return summary


def _grow_one(
    electrolyte, sigma_value, film, case, rd, comm, say, sizes, kinetics, counter, options, degree, gp
) -> dict:
    """The growth loop of one electrolyte; resumes from its checkpoint.  Each step is a
    :class:`~dendrite_fem.model.Model` of the current interface, solved for the electrolyte."""
    name = electrolyte.key
    folder = rd.path(name)
    checkpoint = rd.resume_dir / f"{name}_checkpoint.npz"
    state = None
    if comm.rank == 0:
        folder.mkdir(exist_ok=True)
        (folder / "steps").mkdir(exist_ok=True)
        if checkpoint.exists():
            try:  # an npz is a zip: its CRCs catch a damaged file
                state = _read_checkpoint(checkpoint)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                print(
                    f"{name}: the checkpoint {checkpoint} is damaged ({exc}); growing from t = 0", flush=True
                )
                state = None
    state = comm.bcast(state, root=0)
    if state is None:
        markers = initial_markers(case.window, sizes)
        state = {
            "markers": markers,
            "time": 0.0,
            "step": 0,
            "rows": [],
            "shapes": [],
            "shape_steps": [],
            "initial_tip": _tip(markers),
        }
    else:
        say(f"{name}: resuming growth at step {state['step']} (t = {state['time'] / 3600:.4g} h)")
    markers, t, step, rows = state["markers"], state["time"], state["step"], state["rows"]
    reason = None
    say(
        f"growing {name} (sigma = {sigma_value * TO_MS_PER_CM:.4g} mS/cm"
        f"{f', R_f = {film * TO_OHM_CM2:.3g} ohm cm2' if film else ''}) ..."
    )
    t_start = time.perf_counter()
    while True:
        try:  # the interface checks itself
            geometry = GrowingInterface(
                case.window.width, case.window.thickness, tuple(map(tuple, markers)), sizes
            )
        except ShortedCell:
            reason = "short"
            break
        model = Model(geometry, kinetics, counter, degree=degree, geometry_order=1, solver=options, comm=comm)
        solution = model.solve(electrolyte)
        problem, report, mesh_data = solution.problem, solution.report, model.mesh
        metrics = solution.metrics.to_dict()
        trace, i_trace = model.trace, solution.profile.plating_current
        phi1 = fem_fields.interpolant(problem.phi, model.vertex_space)
        # the mesh's interface vertices are the markers (one edge per segment): match them
        d = np.linalg.norm(trace.points[None, :, :2] - markers[:, None, :], axis=2)
        nearest = np.argmin(d, axis=1)
        if (
            len(trace.points) != len(markers)
            or np.max(d[np.arange(len(markers)), nearest]) > 1e-9 * case.window.width
        ):
            raise RuntimeError("the mesh's interface vertices do not match the markers")
        i_dep = i_trace[nearest]
        velocity = faraday_velocity(i_dep)
        tip_k = int(np.argmax(markers[:, 1]))
        tip = markers[tip_k]
        advance_tip = float(tip[1] - state["initial_tip"][1])
        front = float(np.mean(markers[[0, -1], 1]))  # the flat interface starts at y = 0
        i_vec, i_mag = solution.current_density
        gathered = fem_fields.gather_on_root(
            {"potential": phi1}, {"current_density": i_vec, "current_density_magnitude": i_mag}
        )
        if comm.rank == 0:
            fem_fields.write_vtu(folder / "steps" / f"step_{step:04d}.vtu", gathered)
        row = [
            step,
            t,
            np.nan,
            tip[0],
            tip[1],
            advance_tip,
            i_dep[tip_k],
            velocity[tip_k],
            front,
            metrics["max_over_mean"],
            metal_area(markers),
            counter.value * case.window.width * t,
            np.nan,
            0.0,
            len(markers),
            mesh_data.num_cells,
            report.newton_iterations,
            0,
        ]
        state["shapes"].append(markers.copy())
        state["shape_steps"].append(step)
        if advance_tip >= gp.target_growth:
            reason = "target_growth"
            rows.append(row)
            break
        if t >= gp.max_time * (1 - 1e-12):
            reason = "max_time"
            rows.append(row)
            break
        if step >= gp.max_steps:
            reason = "max_steps"
            rows.append(row)
            break
        spacing = marker_spacing(sizes, tip)
        dt = min(time_step(markers, velocity, spacing, gp.step_fraction, gp.max_time_step), gp.max_time - t)
        moved, loops = remove_loops(advance(markers, velocity, dt))
        charge = float(metrics["total_plating_current"]) * dt  # C per m of depth
        deposited = metal_area(moved) - metal_area(markers)
        expected = charge * NA_MOLAR_VOLUME / FARADAY
        row[2] = dt
        row[12] = deposited / expected - 1.0
        new_markers, respace_area = respace(moved, marker_spacing(sizes, _tip(moved)))
        row[13] = respace_area
        row[17] = loops
        rows.append(row)
        markers, t, step = new_markers, t + dt, step + 1
        state.update(markers=markers, time=t, step=step, rows=rows)
        if comm.rank == 0:
            _save_checkpoint(checkpoint, state)
            if step % 10 == 0:
                say(
                    f"  step {step}: t = {t / 3600:.4g} h, tip advance {advance_tip * TO_UM:.3f} um, "
                    f"tip {i_dep[tip_k] * TO_MA_PER_CM2:.4g} mA/cm2, {len(markers)} markers"
                )
        comm.Barrier()
        fault(f"step:{name}:{step}", comm.rank)
    if comm.rank == 0:
        write_csv(
            folder / "growth.csv",
            COLUMNS,
            [[f"{v:.12g}" if isinstance(v, float) else v for v in r] for r in rows],
        )
        np.savez(
            folder / "interfaces.npz",
            steps=np.array(state["shape_steps"]),
            times=np.array([rows[k][1] for k in range(len(rows))]),
            **{f"step_{s:04d}": p for s, p in zip(state["shape_steps"], state["shapes"], strict=True)},
        )
        _write_pvd(folder / "series.pvd", [(r[1], f"steps/step_{int(r[0]):04d}.vtu") for r in rows])
    comm.Barrier()
    arr = np.array(rows, dtype=float)
    target_time = _crossing_time(arr, gp.target_growth)
    errors = arr[:, 12][np.isfinite(arr[:, 12])]
    record = {
        "stop_reason": reason,
        "steps": int(arr[-1, 0]),
        "final_time": float(arr[-1, 1]),
        "time_to_target_growth": target_time,
        "tip_advance": float(arr[-1, 5]),
        "front_advance": float(arr[-1, 8]),
        "initial_tip_current": float(arr[0, 6]),
        "final_tip_current": float(arr[-1, 6]),
        "max_mass_balance_error": float(np.max(np.abs(errors))) if errors.size else 0.0,
        "total_respace_area": float(np.sum(arr[:, 13])),
        "metal_area_gain": float(arr[-1, 10] - arr[0, 10]),
        "deposited_area_from_charge": float(arr[-1, 11] * NA_MOLAR_VOLUME / FARADAY),
        "wall_time": time.perf_counter() - t_start,
    }
    say(
        f"  {name}: {reason} after {record['steps']} steps, t = {record['final_time'] / 3600:.4g} h, "
        f"tip advance {record['tip_advance'] * TO_UM:.3f} um"
        + (f", {gp.target_growth * TO_UM:g} um reached at {target_time / 3600:.4g} h" if target_time else "")
    )
    return record


def _crossing_time(arr: np.ndarray, target: float) -> float | None:
    """Time at which the tip advance reaches ``target``, linear between steps."""
    adv, times = arr[:, 5], arr[:, 1]
    above = np.flatnonzero(adv >= target)
    if not above.size:
        return None
    k = int(above[0])
    if k == 0:
        return 0.0
    return float(times[k - 1] + (target - adv[k - 1]) / (adv[k] - adv[k - 1]) * (times[k] - times[k - 1]))


def _read_checkpoint(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        cuts = np.cumsum(data["shape_lengths"])[:-1]
        return {
            "markers": data["markers"],
            "time": float(data["time"]),
            "step": int(data["step"]),
            "rows": [list(r) for r in data["rows"]],
            "shapes": np.split(data["shapes"], cuts),
            "shape_steps": [int(k) for k in data["shape_steps"]],
            "initial_tip": data["initial_tip"],
        }


def _save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a kill during the write leaves the previous checkpoint."""
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(
        tmp,
        markers=state["markers"],
        time=state["time"],
        step=state["step"],
        rows=np.array(state["rows"], dtype=float),
        initial_tip=state["initial_tip"],
        shapes=np.vstack(state["shapes"]),
        shape_lengths=np.array([len(p) for p in state["shapes"]]),
        shape_steps=np.array(state["shape_steps"]),
    )
    tmp.replace(path)


def _write_pvd(path: Path, entries: list[tuple[float, str]]) -> None:
    lines = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{t:.9g}" part="0" file="{f}"/>' for t, f in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)


def _figure(rd: ResultDirectory, names: list[str], target: float, window) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(names) + 2, figsize=(3.6 * (len(names) + 2), 4.0), constrained_layout=True
    )
    for k, name in enumerate(names):
        data = np.load(rd.path(name) / "interfaces.npz")
        steps = list(data["steps"])
        times = data["times"]
        pick = np.unique(np.linspace(0, len(steps) - 1, min(8, len(steps))).astype(int))
        cmap = plt.get_cmap("viridis")
        for j in pick:
            p = data[f"step_{steps[j]:04d}"]
            axes[k].plot(
                p[:, 0] * TO_UM,
                p[:, 1] * TO_UM,
                color=cmap(j / max(len(steps) - 1, 1)),
                label=f"{times[j] / 3600:.2f} h",
            )
        last = data[f"step_{steps[-1]:04d}"] * TO_UM
        top = float(np.max(last[:, 1]))
        tip_x = float(last[int(np.argmax(last[:, 1])), 0])
        half = max(1.5 * top, 10.0)
        axes[k].set(
            xlim=(tip_x - half, tip_x + half),
            ylim=(0, top * 1.15 + 1),
            aspect="equal",
            title=name,
            xlabel="x [µm]",
            ylabel="y [µm]",
        )
        axes[k].legend(fontsize=6, loc="upper right")
        rows = np.genfromtxt(rd.path(name) / "growth.csv", delimiter=",", names=True)
        line = axes[-2].plot(rows["time_s"] / 3600, rows["tip_advance_m"] * TO_UM, label=f"{name}: tip")[0]
        axes[-2].plot(
            rows["time_s"] / 3600,
            (rows["tip_advance_m"] - rows["front_advance_m"]) * TO_UM,
            ls=":",
            color=line.get_color(),
            label=f"{name}: tip − flat front",
        )
        axes[-1].plot(rows["time_s"] / 3600, rows["tip_current_A_per_m2"] * TO_MA_PER_CM2, label=name)
    axes[-2].axhline(target * TO_UM, color="k", lw=0.8, ls="--")
    axes[-2].set(xlabel="time [h]", ylabel="advance [µm]", title="tip position")
    axes[-1].set(xlabel="time [h]", ylabel="tip plating current [mA/cm²]", title="tip current")
    for ax in axes[-2:]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(rd.path("growth.png"), dpi=120)
    plt.close(fig)
