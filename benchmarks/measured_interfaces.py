"""Convergence of a rasterised semicircle to the built-in one (issue 19), for docs/verification.md.

The image of a semicircular protrusion of radius a on flat metal (a pixel is metal where its
centre is; pixel edges on the flat surface) at a/5 … a/80, through
``dendrite_fem.geometry.image.section_interface`` (smoothing 2 px), against the built-in
semicircle on a fine P2 mesh (near a/64): NPS at 0.51 mA/cm² in a 200 × 100 µm window::

    .venv/bin/python benchmarks/measured_interfaces.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

import dendrite_fem as df
from dendrite_fem.geometry.image import section_interface

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_image import METAL, SE, A, L, W, rasterised_semicircle  # noqa: E402


def numbers(model) -> np.ndarray:
    m = model.solve(df.electrolyte("NPS")).metrics
    return np.array([m.max_over_mean, m.features[0]["ratio_to_applied"]])


def main() -> int:
    kinetics, operation = df.Kinetics(13.0), df.Galvanostatic(5.1)
    window = df.Window(
        2, W, L, defects=[df.Defect("protrusion", df.Round(A))], sizes=df.MeshSizes(A / 64, A / 32, L / 15)
    )
    reference = numbers(df.Model(window, kinetics, operation, degree=2))
    rows, last = [], None
    for n in (5, 10, 20, 40, 80):
        section = section_interface(rasterised_semicircle(A / n), A / n, METAL, SE)
        err = np.abs(numbers(df.Model(section, kinetics, operation, degree=2)) / reference - 1)
        rate = (
            ["–", "–"]
            if last is None
            else [f"{math.log2(p / q):.2f}" for p, q in zip(last, err, strict=True)]
        )
        rows.append(
            f"| a/{n} | {len(section.points)} | {err[0]:.2e} | {rate[0]} | {err[1]:.2e} | {rate[1]} |"
        )
        last = err
    print(f"reference: max/mean {reference[0]:.6f}, tip / applied {reference[1]:.6f}\n")
    print("| pixel | interface points | max/mean error | rate | tip error | rate |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
