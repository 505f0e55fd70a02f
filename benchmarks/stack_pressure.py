"""Stack-pressure study (issue 6): run cases/sweep_stack_pressure.toml and turn its table
into the figure and the markdown table of docs/mechanics.md.

    .venv/bin/python benchmarks/stack_pressure.py            # sweep (skips finished runs) + figure
    .venv/bin/python benchmarks/stack_pressure.py --from-csv results/sweep_stack_pressure-sweep/sweep.csv
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "cases" / "sweep_stack_pressure.toml"
OUT = ROOT / "results" / "sweep_stack_pressure-sweep"
FIGURE = ROOT / "docs" / "figures" / "stack_pressure.png"


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        rows = [r for r in csv.DictReader(f) if r.get("status") == "ok"]
    if not rows:
        sys.exit(f"{path}: no finished runs")
    return rows


def _mpa(text: str) -> float:
    return float(text) / 1e6


def figure(rows: list[dict], path: Path) -> None:
    names = list(dict.fromkeys(r["electrolyte"] for r in rows))
    times = sorted({r["mechanics.deposit_time"] for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    for i, name in enumerate(names):
        for t, style in zip(times, ["--", "-"], strict=False):
            sel = sorted(
                (r for r in rows if r["electrolyte"] == name and r["mechanics.deposit_time"] == t),
                key=lambda r: float(r["stack_pressure_Pa"]),
            )
            p = [_mpa(r["stack_pressure_Pa"]) for r in sel]
            label = f"{name}, deposit {t}"
            kw = {"color": f"C{i}", "marker": "o", "ms": 4}
            axes[0].plot(p, [float(r["max_over_mean"]) for r in sel], style, label=label, **kw)
            if t != "0 s":
                axes[1].plot(p, [_mpa(r["deposit_pressure_Pa"]) for r in sel], style, label=name, **kw)
            axes[2].plot(
                p, [float(r["stress_intensity_over_toughness"]) for r in sel], style, label=label, **kw
            )
    axes[0].set(xlabel="stack pressure [MPa]", ylabel="max / mean plating current", title="current focusing")
    axes[1].set(
        xlabel="stack pressure [MPa]",
        ylabel="deposit overpressure p [MPa]",
        title="pressure built by 60 s of confined plating",
    )
    axes[2].axhline(1.0, color="k", lw=0.8)
    axes[2].set(
        xlabel="stack pressure [MPa]", ylabel="K_I / K_Ic (estimate)", title="crack opening at the defect"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, title="dashed: no deposit; solid: 60 s", title_fontsize=7)
    axes[1].legend(fontsize=7)
    fig.savefig(path, dpi=130, metadata={"Description": "benchmarks/stack_pressure.py"})


def table(rows: list[dict]) -> str:
    lines = [
        "| electrolyte | deposit | stack [MPa] | max/mean | p_deposit [MPa] | ΔP tip [MPa] | σ₁ peak [MPa] | K_I/K_Ic | passes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        rows, key=lambda r: (r["electrolyte"], r["mechanics.deposit_time"], float(r["stack_pressure_Pa"]))
    ):
        lines.append(
            f"| {r['electrolyte']} | {r['mechanics.deposit_time']} | {_mpa(r['stack_pressure_Pa']):g} | "
            f"{float(r['max_over_mean']):.4f} | {_mpa(r['deposit_pressure_Pa']):.1f} | "
            f"{_mpa(r['interface_pressure_at_feature_Pa']):.1f} | {_mpa(r['peak_principal_stress_Pa']):.1f} | "
            f"{float(r['stress_intensity_over_toughness']):.2f} | {r['coupling_passes']} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from-csv", type=Path, help="use an existing sweep.csv instead of running the sweep")
    args = ap.parse_args()
    csv_path = args.from_csv
    if csv_path is None:
        cmd = [sys.executable, "-m", "dendrite_fem.app.cli", "sweep", str(SWEEP), "--out", str(OUT)]
        subprocess.run(cmd, check=True, cwd=ROOT)
        csv_path = OUT / "sweep.csv"
    rows = _rows(csv_path)
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    figure(rows, FIGURE)
    print(table(rows))
    print(f"\nfigure: {FIGURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
