"""``dendrite-fem phase-field``: the phase-field electrodeposition model (fem/physics/phase_field.py) on a
rectangle, one run per applied electrode potential, to compare morphologies (issue 7, part 2).

The model is the nondimensional one of Hong & Viswanathan (2018) with its published parameters,
so the inputs are nondimensional too: lengths in units of the published grid spacing, times in
the model's time unit.  Outputs, per potential ``phi_0.450`` etc.:

- ``<name>_fields.xdmf/.h5``: ξ, w and φ as one ParaView time series;
- ``<name>_history.csv``: per step time, tip position, deposit thickness, currents, ion content
  and the two per-step balances (Faraday: f_2 Δ∫ξ = Δt ∮ σ∇φ·n; ions: Δ∫c = Δt ∮ j·n);

and ``phase_field.png`` (morphology snapshots, tip position against time) and ``summary.json``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import dolfinx
import dolfinx.io
import numpy as np
from mpi4py import MPI

import dendrite_fem
from dendrite_fem.app.faults import fault
from dendrite_fem.app.outputs import ResultDirectory, finished_result, write_csv, write_json
from dendrite_fem.app.runner import software_versions, source_hash
from dendrite_fem.config.errors import CaseError
from dendrite_fem.physics.phase_field import (
    HongViswanathan2018,
    PhaseFieldHistory,
    order_parameter,
    phase_field_problem,
    record,
    run_phase_field,
    with_parameters,
)
from dendrite_fem.post.fields import gather_on_root

#: the largest phase-field mesh the study accepts (triangles): 3 fields, so ~3× as many DOFs
MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class PhaseFieldStudy:
    """Nondimensional inputs (lengths in published grid spacings): the domain [0, length] ×
    [0, height] with the electrode at x = 0, the initial flat front at x = ``front``, the mesh
    spacing ``dx``, the end time, the tip position that stops a run, the noise seed."""

    potentials: tuple[float, ...] = (-0.45, -0.25)
    length: float = 50.0
    height: float = 25.0
    dx: float = 0.25
    front: float = 10.0
    t_end: float = 40.0
    stop_tip: float = 40.0
    seed: int = 0
    noise: float | None = None  #: None: the published amplitude
    snapshots: int = 4

    def check(self) -> None:
        """Refuse inputs the model cannot run, naming the option and the fix (exit 2)."""
        eps = HongViswanathan2018().interface_width
        for name in ("length", "height", "dx", "front", "t_end", "stop_tip", "noise", "potentials"):
            values = getattr(self, name)
            for value in values if isinstance(values, tuple) else (values,):
                if value is not None and not math.isfinite(value):
                    raise CaseError(
                        f"--{name.replace('_', '-').removesuffix('s')} {value}: must be a finite number"
                    )
        if not 0 <= self.seed < 2**32:
            raise CaseError(f"--seed {self.seed}: the noise seed is an integer from 0 to 2**32 - 1")
        if self.noise is not None and self.noise > 1.0:
            raise CaseError(
                f"--noise {self.noise}: the amplitude is a fraction of the driving force, at most 1"
            )
        if not self.potentials:
            raise CaseError("--potential: give at least one applied electrode potential (e.g. -0.45)")
        for v in self.potentials:
            if not -1.0 <= v < 0.0:
                raise CaseError(
                    f"--potential {v}: deposition needs a negative electrode potential in [-1, 0) "
                    "(nondimensional, as the published -0.45)"
                )
        if not 0 < self.dx <= eps / 2 + 1e-12:
            raise CaseError(
                f"--dx {self.dx}: the front (width {eps:g}) needs dx <= {eps / 2:g}; with P1 elements "
                "a coarser grid lets the chemical potential overshoot until Newton fails"
            )
        for name in ("length", "height"):
            value = getattr(self, name)
            if value <= 0 or abs(value / self.dx - round(value / self.dx)) > 1e-9:
                raise CaseError(f"--{name} {value}: must be a positive multiple of --dx {self.dx}")
        if not 4 * eps <= self.front < self.stop_tip <= self.length - 4 * eps:
            raise CaseError(
                f"--front {self.front} / --stop-tip {self.stop_tip}: need {4 * eps:g} <= front < stop-tip "
                f"<= length - {4 * eps:g} = {self.length - 4 * eps:g}"
            )
        if self.t_end <= 0:
            raise CaseError(f"--t-end {self.t_end}: must be positive")
        cells = 2 * (self.length / self.dx) * (self.height / self.dx)
        if cells > MAX_CELLS:
            raise CaseError(
                f"--length {self.length} --height {self.height} --dx {self.dx}: {cells:.2g} cells, more "
                f"than the {MAX_CELLS:.0g} this study is meant for; use a smaller domain"
            )
        if self.noise is not None and self.noise < 0:
            raise CaseError(f"--noise {self.noise}: the amplitude must be >= 0")


def run_name(potential: float) -> str:
    return f"phi_{abs(potential):.3f}"


def phase_field_study(
    study: PhaseFieldStudy, out: Path, comm: MPI.Comm = MPI.COMM_WORLD, log=print, force: bool = False
) -> dict:
    """Run every potential of ``study`` into ``out``; returns the summary.  A run interrupted
    after some potentials resumes with the others; a finished result is reused."""
    study.check()
    key = f"phase-field:{sorted(asdict(study).items())}:{dendrite_fem.__version__}:{source_hash()}"
    say = log if comm.rank == 0 else (lambda *a, **k: None)
    done = comm.bcast(None if force or comm.rank != 0 else finished_result(out, key), root=0)
    if done is not None:
        say(f"{out}: already holds this phase-field result; --force recomputes it")
        return done
    params = (
        HongViswanathan2018()
        if study.noise is None
        else with_parameters(HongViswanathan2018(), noise=study.noise)
    )
    results = {}
    with ResultDirectory(out, comm, key, fresh=force, owner="phase-field") as rd:
        for v in study.potentials:
            name = run_name(v)
            if name in rd.finished:
                say(f"{name}: finished in an earlier run, reusing it")
                results[name] = rd.finished[name]
                continue
            results[name] = _run_one(v, name, study, params, rd, comm, say)
            rd.mark_finished(name, results[name])
            fault(f"finished:{name}", comm.rank)
        if comm.rank == 0:  # from the files, so that potentials finished by an earlier run are drawn too
            _figure(rd.path("phase_field.png"), study, results, rd)
        summary = {
            "model": "Hong & Viswanathan, ACS Energy Lett. 3, 1737 (2018): grand-potential phase field, published parameters",
            "parameters": asdict(params),
            "study": asdict(study),
            "potentials": results,
            "software": software_versions(),
            "run": {"ranks": comm.size, "resumed_from": rd.resumed},
            "units": "nondimensional: lengths in published grid spacings, time in model units",
        }
        if comm.rank == 0:
            write_json(rd.path("summary.json"), summary)
    return summary


def _run_one(v, name, study, params, rd, comm, say):
    nx, ny = int(round(study.length / study.dx)), int(round(study.height / study.dx))
    mesh = dolfinx.mesh.create_rectangle(
        comm, [[0.0, 0.0], [study.length, study.height]], [nx, ny], dolfinx.mesh.CellType.quadrilateral
    )
    problem = phase_field_problem(mesh, params, v, study.front, seed=study.seed)
    V1, _ = problem.u.function_space.sub(0).collapse()
    out_fns = {
        k: dolfinx.fem.Function(V1, name=k) for k in ("order_parameter", "chemical_potential", "potential")
    }

    def fill():
        for comp, f in enumerate(out_fns.values()):
            f.interpolate(problem.u.sub(comp))

    snapshots = []
    targets = list(np.linspace(study.front, study.stop_tip, study.snapshots + 1)[1:])
    xdmf = dolfinx.io.XDMFFile(comm, rd.path(f"{name}_fields.xdmf"), "w")
    xdmf.write_mesh(mesh)
    fill()
    for f in out_fns.values():
        xdmf.write_function(f, 0.0)
    snapshots.append((0.0, _gather(problem)))
    state = {"next": 0.0}
    interval = study.t_end / 100

    def monitor(t, step, pr):
        tip = pr_history.tip[-1]
        if t >= state["next"]:
            fill()
            for f in out_fns.values():
                xdmf.write_function(f, t)
            state["next"] = t + interval
        if targets and tip >= targets[0]:
            targets.pop(0)
            snapshots.append((t, _gather(problem)))
        if step % 25 == 0:
            say(f"  {name}: t = {t:.3f}, step {step}, tip at x = {tip:.2f}")

    pr_history = PhaseFieldHistory()
    record(problem, pr_history, 0.0, 0.0, 0)
    say(f"{name}: {problem.u.function_space.dofmap.index_map.size_global * 3} DOFs, electrode at phi = {v}")
    try:
        history = run_phase_field(
            problem,
            study.t_end,
            stop=lambda h: h.tip[-1] >= study.stop_tip,
            monitor=monitor,
            history=pr_history,
        )
    finally:
        xdmf.close()
    a = history.arrays()
    if not snapshots or snapshots[-1][0] != a["time"][-1]:
        snapshots.append((float(a["time"][-1]), _gather(problem)))
    dt = np.diff(a["time"])
    current = a["charge_electrode"] + a["charge_reservoir"]
    faraday = params.f_2 * np.diff(a["deposit"]) - dt * current[1:]
    ions = np.diff(a["content"]) - dt * a["ion_reservoir"][1:]
    faraday_rel = float(np.max(np.abs(faraday)) / np.max(np.abs(dt * current[1:]))) if len(dt) else 0.0
    ions_rel = float(np.max(np.abs(ions)) / np.max(np.abs(dt * a["ion_reservoir"][1:]))) if len(dt) else 0.0
    if comm.rank == 0:
        header = [
            "time",
            "dt",
            "newton",
            "tip",
            "deposit",
            "charge_electrode",
            "charge_reservoir",
            "ion_reservoir",
            "content",
            "faraday_residual",
            "ion_residual",
        ]
        rows = [
            [
                a["time"][k],
                a["dt"][k],
                a["newton"][k],
                a["tip"][k],
                a["deposit"][k],
                a["charge_electrode"][k],
                a["charge_reservoir"][k],
                a["ion_reservoir"][k],
                a["content"][k],
                faraday[k - 1] if k else 0.0,
                ions[k - 1] if k else 0.0,
            ]
            for k in range(len(a["time"]))
        ]
        write_csv(rd.path(f"{name}_history.csv"), header, rows)
    reached = bool(a["tip"][-1] >= study.stop_tip)
    t_reach = None
    if reached:
        k = int(np.argmax(a["tip"] >= study.stop_tip))
        t_reach = float(np.interp(study.stop_tip, a["tip"][k - 1 : k + 1], a["time"][k - 1 : k + 1]))
    tip_advance = float(a["tip"][-1] - a["tip"][0])
    mean_advance = float(a["deposit"][-1] - a["deposit"][0])
    result = {
        "applied_potential": v,
        "steps": len(dt),
        "rejected_steps": history.rejected,
        "newton_iterations": int(a["newton"].sum()),
        "final_time": float(a["time"][-1]),
        "stop_reason": "tip reached stop_tip" if reached else "t_end",
        "time_to_stop_tip": t_reach,
        "tip_advance": tip_advance,
        "mean_advance": mean_advance,
        "tip_over_mean_advance": tip_advance / mean_advance if mean_advance > 0 else None,
        "mean_current": float(np.sum(dt * current[1:]) / max(float(a["time"][-1]), 1e-300)),
        "faraday_balance_max_relative": faraday_rel,
        "ion_balance_max_relative": ions_rel,
    }
    say(
        f"{name}: {result['stop_reason']} at t = {result['final_time']:.3f}; tip advance {tip_advance:.2f}, "
        f"mean advance {mean_advance:.2f} (ratio {result['tip_over_mean_advance'] or 0:.2f}); "
        f"balances {faraday_rel:.1e} / {ions_rel:.1e}"
    )
    if comm.rank == 0:  # the vertex coordinates are those of every snapshot
        np.savez_compressed(
            rd.path(f"{name}_snapshots.npz"),
            times=np.array([s[0] for s in snapshots]),
            **{f"xi_{k}": s[1].nodal["xi"] for k, s in enumerate(snapshots)},
            points=snapshots[0][1].points[:, :2],
        )
    return result


def _gather(problem):
    """ξ at the vertices, gathered on rank 0 (None elsewhere); collective."""
    return gather_on_root({"xi": order_parameter(problem)}, {})


def _figure(path: Path, study: PhaseFieldStudy, results: dict, rd) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    data = {name: np.load(rd.path(f"{name}_snapshots.npz")) for name in names}
    ncol = max(len(d["times"]) for d in data.values())
    fig, axes = plt.subplots(
        len(names),
        ncol + 1,
        figsize=(2.6 * (ncol + 1), 2.0 * len(names) + 0.6),
        constrained_layout=True,
        squeeze=False,
    )
    for r, name in enumerate(names):
        snap = data[name]
        pts = snap["points"]
        for c in range(ncol):
            ax = axes[r, c]
            if c >= len(snap["times"]):
                ax.axis("off")
                continue
            ax.tricontourf(
                pts[:, 0], pts[:, 1], snap[f"xi_{c}"], levels=[-0.5, 0.5, 1.5], colors=["#f2efe6", "#2b5c8a"]
            )
            ax.set(
                aspect="equal",
                xlim=(0, study.length),
                ylim=(0, study.height),
                xticks=[],
                yticks=[],
                title=f"{name}  t = {snap['times'][c]:.2f}",
            )
        hist = np.genfromtxt(rd.path(f"{name}_history.csv"), delimiter=",", names=True)
        line = axes[r, -1].plot(hist["time"], hist["tip"], label="tip (ξ = 1/2)")[0]
        axes[r, -1].plot(
            hist["time"], hist["deposit"], ls="--", color=line.get_color(), label="mean front ∫ξ/L_y"
        )
        axes[r, -1].set(
            xlabel="time",
            ylabel="x",
            title=f"{name}: tip/mean = {results[name]['tip_over_mean_advance']:.2f}",
        )
        axes[r, -1].legend(fontsize=7)
        axes[r, -1].grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
