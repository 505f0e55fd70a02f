"""Adaptive refinement until the reported numbers have converged (docs/model.md §3, "Error
control").

The loop, for a model and its electrolytes:

1. solve every electrolyte on the current mesh;
2. if this is not the first mesh, compare the tracked numbers of each electrolyte — max/mean,
   the coefficient of variation, and the current at every feature (tip, rim, peak) over the
   mean — with those of the previous mesh: when every relative change is at most
   ``target_error`` (for the CV, relative to at least 1 %: :data:`CV_SCALE`), stop and report
   them with those changes as their estimated errors;
3. otherwise estimate the error per cell (:func:`~dendrite_fem.numerics.error_estimate.residual_estimate`),
   mark the cells that carry the largest part of it (Dörfler marking: the fewest cells whose
   η_K² add up to ``fraction`` of Σ η_K², the estimates of the electrolytes normalised and the
   larger taken per cell), ask for half their size and the same size elsewhere, and mesh the
   window again with Gmsh from that size map (:class:`~dendrite_fem.geometry.spec.SizeMap`).

Remeshing from the geometry keeps curved walls on the true shapes at every level, which
refining the cells of the previous mesh would not.  The estimated error of a number is its
change from the previous mesh: if the error falls at least by half from one mesh to the next,
the error of the final value is at most that change.  The loop judges convergence on the
numbers themselves, not on the estimator's absolute value (its constants are unknown); a number
that keeps changing (a singular rim current that grows under refinement) stops the loop after
``max_refinements`` meshes with an error that names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dendrite_fem.geometry.spec import SizeMap
from dendrite_fem.model import Metrics, Model, Solution
from dendrite_fem.numerics.error_estimate import ErrorEstimate, residual_estimate
from dendrite_fem.numerics.solver import ConvergenceError
from dendrite_fem.physics.materials import Electrolyte


class AdaptivityError(ConvergenceError):
    """The tracked numbers did not converge to the target within the allowed meshes (the
    command line's exit code 3, as for a Newton solve that did not converge)."""


def tracked_numbers(metrics: Metrics) -> dict[str, float]:
    """The numbers the loop converges: max/mean, CV, and each feature's current over the mean
    (keys ``tip_over_mean``, ``rim_over_mean``…; ``tip_over_mean_2``… when a name repeats)."""
    out = {
        "max_over_mean": metrics.max_over_mean,
        "coefficient_of_variation": metrics.coefficient_of_variation,
    }
    for feature in metrics.features:
        key = f"{feature['name']}_over_mean"
        k, unique = 2, key
        while unique in out:
            unique, k = f"{key}_{k}", k + 1
        out[unique] = feature["ratio_to_mean"]
    return out


#: the smallest CV a change is measured against: a nearly uniform current (a flat interface,
#: CV at round-off) has no relative accuracy to converge, and below 1 % a change of
#: target × 1 % in the CV is what matters
CV_SCALE = 1e-2


def relative_change(name: str, new: float, old: float) -> float:
    """|new − old| relative to |new| (for the CV: to max(|new|, :data:`CV_SCALE`))."""
    scale = max(abs(new), CV_SCALE) if name == "coefficient_of_variation" else abs(new)
    return abs(new - old) / max(scale, 1e-300)


@dataclass
class Adaptation:
    """The result of :func:`solve_adaptive`: the final model and solutions, one record per mesh
    (DOFs, cells, the estimator's total per electrolyte, the tracked numbers, seconds) and, per
    electrolyte and number, the estimated relative error of the final value."""

    model: Model
    solutions: list[Solution]
    levels: list[dict] = field(default_factory=list)
    estimated_error: dict[str, dict[str, float]] = field(default_factory=dict)
    target_error: float = 0.0

    def record(self, key: str) -> dict:
        """What summary.json says of the adaptation for the electrolyte ``key``."""
        return {
            "target_error": self.target_error,
            "estimated_error": self.estimated_error[key],
            "converged": True,
            "levels": [
                {
                    "dofs": level["dofs"],
                    "cells": level["cells"],
                    "estimator": level["estimator"][key],
                    "numbers": level["numbers"][key],
                    "seconds": level["seconds"],
                }
                for level in self.levels
            ],
        }


def _mean_edges(x: np.ndarray) -> np.ndarray:
    """Mean edge length of simplices with vertex coordinates ``x`` (n, d + 1, 3)."""
    k = x.shape[1]
    pairs = [(a, b) for a in range(k) for b in range(a + 1, k)]
    return np.mean([np.linalg.norm(x[:, a] - x[:, b], axis=1) for a, b in pairs], axis=0)


def refined_size_map(
    model: Model, estimates: Sequence[ErrorEstimate], fraction: float = 0.5
) -> SizeMap | None:
    """The size map of the next mesh (on rank 0; None on the others): half the mean edge length
    on the Dörfler-marked cells, the same elsewhere, the smallest per vertex.  The marking is
    done on rank 0 over all cells in their input order, so it does not depend on the partition."""
    mesh = model.mesh.mesh
    comm = mesh.comm
    tdim = mesh.topology.dim
    n = mesh.topology.index_map(tdim).size_local
    nodes = mesh.geometry.dofmaps[0][:n, : tdim + 1]  # the first d + 1 nodes of a cell: its vertices
    combined = np.max([e.indicators / max(e.total, 1e-300) for e in estimates], axis=0)
    gathered = comm.gather(
        (
            mesh.geometry.x[nodes],
            np.asarray(mesh.geometry.input_global_indices)[nodes],
            np.asarray(mesh.topology.original_cell_index)[:n],
            combined,
        ),
        root=0,
    )
    if comm.rank != 0:
        return None
    x, vertex, original, eta = (np.concatenate(parts) for parts in zip(*gathered, strict=True))
    order = np.argsort(original, kind="stable")
    x, vertex, eta = x[order], vertex[order], eta[order]
    by_size = np.argsort(-(eta**2), kind="stable")
    cumulative = np.cumsum(eta[by_size] ** 2)
    marked = by_size[: int(np.searchsorted(cumulative, fraction * cumulative[-1])) + 1]
    size = _mean_edges(x)
    size[marked] *= 0.5
    ids, inverse = np.unique(vertex, return_inverse=True)
    at_vertex = np.full(len(ids), np.inf)
    np.minimum.at(at_vertex, inverse.ravel(), np.repeat(size, vertex.shape[1]))
    return SizeMap(x, at_vertex[inverse].reshape(vertex.shape))


def solve_adaptive(
    model: Model,
    electrolytes: Sequence[Electrolyte],
    target_error: float,
    max_refinements: int = 6,
    fraction: float = 0.5,
    say: Callable[[str], None] | None = None,
) -> Adaptation:
    """Solve ``electrolytes`` on ``model``'s window on meshes refined where the error estimate
    is largest, until every tracked number (:func:`tracked_numbers`) of every electrolyte changes
    by at most ``target_error`` (relative) from one mesh to the next.  Raises AdaptivityError
    after ``max_refinements`` new meshes without that."""
    if not 0.0 < target_error < 1.0:
        raise ValueError(f"target_error must be in (0, 1), got {target_error!r}")
    if max_refinements < 1:
        raise ValueError(f"max_refinements must be at least 1, got {max_refinements!r}")
    if model.mechanics is not None:
        raise ValueError("adaptive refinement of the stress-coupled solve is not supported")
    say = say or (lambda _text: None)
    keys = [e.key for e in electrolytes]
    adaptation = Adaptation(model, [], target_error=target_error)
    previous = None
    current = model
    for level in range(max_refinements + 1):
        t0 = time.perf_counter()
        solutions = [current.solve(e) for e in electrolytes]
        numbers = {k: tracked_numbers(s.metrics) for k, s in zip(keys, solutions, strict=True)}
        estimates = [residual_estimate(s.problem) for s in solutions]
        record = {
            "dofs": current.num_dofs,
            "cells": current.mesh.mesh.topology.index_map(current.mesh.mesh.topology.dim).size_global,
            "estimator": {k: e.total for k, e in zip(keys, estimates, strict=True)},
            "numbers": numbers,
        }
        changes = None
        if previous is not None:
            changes = {
                k: {m: relative_change(m, v, previous[k][m]) for m, v in numbers[k].items()} for k in keys
            }
        worst = None if changes is None else max(max(c.values()) for c in changes.values())
        say(
            f"mesh {level}: {record['dofs']:,} DOFs"
            + ("" if worst is None else f", largest change of a tracked number {worst:.2e}")
        )
        if worst is not None and worst <= target_error:
            record["seconds"] = time.perf_counter() - t0
            adaptation.levels.append(record)
            adaptation.model, adaptation.solutions, adaptation.estimated_error = current, solutions, changes
            return adaptation
        if level == max_refinements:
            record["seconds"] = time.perf_counter() - t0
            adaptation.levels.append(record)
            break
        size_map = refined_size_map(current, estimates, fraction)
        record["seconds"] = time.perf_counter() - t0
        adaptation.levels.append(record)
        previous = numbers
        current = current.remeshed(size_map)
    open_numbers = sorted(
        {f"{k}: {m} (changed by {c:.2e})" for k in keys for m, c in changes[k].items() if c > target_error}
    )
    raise AdaptivityError(
        f"the reported numbers did not converge to {target_error:g} in {max_refinements} refinements "
        f"(last mesh {adaptation.levels[-1]['dofs']:,} DOFs): {'; '.join(open_numbers)}. A number that "
        "grows under refinement has no converged value (the current at a contact-gap rim is singular); "
        "otherwise allow more refinements (mesh.max_refinements) or a larger mesh.target_error",
        [
            f"mesh {i}: {level['dofs']:,} DOFs, "
            + ", ".join(f"{k} max/mean {level['numbers'][k]['max_over_mean']:.6g}" for k in keys)
            for i, level in enumerate(adaptation.levels)
        ],
    )
