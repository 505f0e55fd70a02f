"""Where CG + multigrid overtakes MUMPS: the Newton solve of the protrusion case with each linear
solver on the same meshes, per dimension and degree (``SolverOptions.direct_limits``).

For each (dimension, degree) and a ladder of mesh sizes, one model is meshed and solved for NPS
with the direct and the iterative solver in turn (A B A B, the faster of two each, JIT excluded
by a first untimed solve); prints DOFs, seconds and the ratio direct / iterative.

    .venv/bin/python benchmarks/solver_crossover.py
"""

from __future__ import annotations

import dendrite_fem as df
from dendrite_fem.numerics.solver import PreconditionerCache

LADDERS = {  # (dimension, degree): size factors of (near, interface, far)
    (2, 1): (1.0, 0.5, 0.3, 0.2),
    (2, 2): (4.0, 3.0, 2.0, 1.0, 0.6),
    (3, 1): (2.0, 1.3, 0.9, 0.65),
    (3, 2): (6.0, 4.5, 3.0, 2.0),
}


def window(dim: int, factor: float) -> df.Window:
    if dim == 2:
        sizes = df.MeshSizes(f"{0.6 * factor} um", f"{0.6 * factor} um", f"{6 * factor} um")
        return df.Window(
            2, "400 um", "100 um", defects=(df.Defect("protrusion", df.Round("10 um")),), sizes=sizes
        )
    sizes = df.MeshSizes(f"{1.0 * factor} um", f"{1.5 * factor} um", f"{8 * factor} um")
    return df.Window(3, "100 um", "50 um", defects=(df.Defect("protrusion", df.Round("10 um")),), sizes=sizes)


def seconds(model: df.Model, solver: str) -> tuple[float, float]:
    m = model.replace(solver=df.SolverOptions(linear_solver=solver))
    m.preconditioner = PreconditionerCache()  # each solve builds its own hierarchy
    s = m.solve(df.electrolyte("NPS"))
    return s.report.seconds, s.metrics.max_over_mean


def main() -> None:
    print("dim degree dofs direct_s iterative_s direct/iterative max/mean_diff")
    for (dim, degree), factors in LADDERS.items():
        for f in factors:
            model = df.Model(
                window(dim, f), df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=degree
            )
            seconds(model, "direct"), seconds(model, "iterative")  # JIT and first touch
            direct, iterative = [], []
            for _ in range(2):
                d, md = seconds(model, "direct")
                i, mi = seconds(model, "iterative")
                direct.append(d)
                iterative.append(i)
            print(
                f"{dim} {degree} {model.num_dofs} {min(direct):.3f} {min(iterative):.3f} "
                f"{min(direct) / min(iterative):.2f} {abs(md - mi) / md:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
