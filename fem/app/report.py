"""`dendrite-fem report`: a Markdown report of a sweep (sweep.csv) or of one run.

The report holds the figures, the homogeneity metrics against the Wagner number,
tables, and a short reading of the numbers written from the data (rankings,
trends and their rank correlations), so that it says only what the numbers show.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from dendrite_fem.config.errors import CaseError  # noqa: E402
from dendrite_fem.units import TO_MA_PER_CM2, TO_MS_PER_CM, TO_MV, TO_UM


def write_report(results: Path, out: Path | None = None) -> Path:
    out = out or results / "report"
    if out.exists() and not out.is_dir():
        raise CaseError(f"--out {out}: is a file; give a directory for the report")
    if not ((results / "sweep.csv").exists() or (results / "summary.json").exists()):
        raise CaseError(
            f"{results}: neither a sweep directory (sweep.csv) nor a run directory (summary.json)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        if (results / "sweep.csv").exists():
            text = _sweep_report(results, out)
        else:
            text = _run_report(results, out)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise CaseError(
            f"{results}: not a readable result of dendrite-fem ({type(exc).__name__}: {exc}); "
            "report a directory that 'dendrite-fem run' or 'sweep' wrote"
        ) from None
    path = out / "report.md"
    tmp = out / ".report.md.tmp"
    tmp.write_text(text)
    tmp.replace(path)
    return path


# --- one run ---------------------------------------------------------------------------


def _run_report(run: Path, out: Path) -> str:
    s = json.loads((run / "summary.json").read_text())
    for png in ("current_maps.png", "interface_profile.png"):
        if (run / png).exists():
            shutil.copy(run / png, out / png)
    names = list(s["electrolytes"])
    lines = [
        f"# {s['case']['name']}",
        "",
        s["case"]["description"],
        "",
        "| electrolyte | σ [mS/cm] | Wa | max/mean | min/mean | CV | tip or rim / applied | V_cell [mV] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in names:
        r = s["electrolytes"][n]
        m = r["metrics"]
        f = m["features"][0]["ratio_to_applied"] if m["features"] else float("nan")
        lines.append(
            f"| {n} | {r['conductivity'] * TO_MS_PER_CM:.3g} | {r['wagner_number']:.3g} | {m['max_over_mean']:.4f} | "
            f"{m['min_over_mean']:.4f} | {m['coefficient_of_variation']:.4f} | {f:.4f} | "
            f"{m['counter_potential'] * TO_MV:.2f} |"
        )
    ranked = sorted(names, key=lambda n: s["electrolytes"][n]["metrics"]["max_over_mean"])
    wa = [s["electrolytes"][n]["wagner_number"] for n in names]
    mm = [s["electrolytes"][n]["metrics"]["max_over_mean"] for n in names]
    lines += [
        "",
        "## Reading",
        "",
        f"* Most homogeneous: **{ranked[0]}** (max/mean "
        f"{s['electrolytes'][ranked[0]]['metrics']['max_over_mean']:.4f}); least: **{ranked[-1]}** "
        f"({s['electrolytes'][ranked[-1]]['metrics']['max_over_mean']:.4f}).",
    ]
    if len(names) > 2:
        rho = spearmanr(wa, mm).statistic
        lines.append(
            f"* Across the electrolytes, max/mean falls as the Wagner number rises (Spearman ρ = {rho:.2f})."
        )
    lines += ["", "![maps](current_maps.png)", "", "![profile](interface_profile.png)", ""]
    return "\n".join(lines)


# --- a sweep ---------------------------------------------------------------------------


def _read_rows(path: Path) -> list[dict]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in list(r.items()):
            try:
                r[k] = float(v)
            except (TypeError, ValueError):
                pass
    return rows


def _sweep_report(sweep: Path, out: Path) -> str:
    rows = [r for r in _read_rows(sweep / "sweep.csv") if r.get("status") == "ok"]
    failed = sorted({r["run"] for r in _read_rows(sweep / "sweep.csv") if r.get("status") != "ok"})
    if not rows:
        raise CaseError(f"{sweep}: the sweep has no finished run to report")
    meta = json.loads((sweep / "sweep.json").read_text())
    electrolytes = list(dict.fromkeys(r["electrolyte"] for r in rows))
    sizes = sorted({r["defect_size_m"] for r in rows})
    currents = sorted({r["applied_current_density_A_per_m2"] for r in rows})

    def series(name, current, key):
        pts = sorted(
            (r["defect_size_m"], r[key])
            for r in rows
            if r["electrolyte"] == name and r["applied_current_density_A_per_m2"] == current
        )
        return np.array(pts).T if pts else (np.array([]), np.array([]))

    # headline: max/mean against defect size, one panel per current density
    fig, axes = plt.subplots(
        1,
        len(currents),
        figsize=(4.3 * len(currents), 4.0),
        sharey=True,
        constrained_layout=True,
        squeeze=False,
    )
    for ax, c in zip(axes[0], currents, strict=True):
        for name in electrolytes:
            a, mm = series(name, c, "max_over_mean")
            ax.plot(a * TO_UM, mm, "o-", ms=3.5, label=name)
        ax.set_xscale("log")
        ax.set_xticks([a * TO_UM for a in sizes])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("defect size a [µm]")
        ax.set_title(f"{c * TO_MA_PER_CM2:.3g} mA/cm²")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("max / mean plating current")
    axes[0][-1].legend(title="electrolyte", fontsize=8)
    fig.savefig(out / "headline.png", dpi=140)
    plt.close(fig)

    # the same metric against the Wagner number: geometry and electrolyte in one variable
    fig, ax = plt.subplots(figsize=(6.2, 4.2), constrained_layout=True)
    for name in electrolytes:
        pts = np.array([(r["wagner_number"], r["max_over_mean"]) for r in rows if r["electrolyte"] == name])
        ax.loglog(pts[:, 0], pts[:, 1] - 1.0, "o", ms=3.5, label=name)
    ax.set_xlabel("Wagner number Wa = σ R_ct / a")
    ax.set_ylabel("max/mean − 1")
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="electrolyte", fontsize=8)
    fig.savefig(out / "wagner.png", dpi=140)
    plt.close(fig)

    # reference point: the seed's symmetric-cell current if swept, and the median size
    c_ref = min(currents, key=lambda c: abs(c - 5.1))
    a_ref = sizes[len(sizes) // 2]
    at_ref = {
        r["electrolyte"]: r
        for r in rows
        if r["applied_current_density_A_per_m2"] == c_ref and r["defect_size_m"] == a_ref
    }
    ranked = sorted(at_ref, key=lambda n: at_ref[n]["max_over_mean"])

    lines = [
        f"# Sweep report: {Path(meta['sweep_file']).name}",
        "",
        f"{len(meta['runs'])} runs ({len(rows)} electrolyte results{'; failed: ' + ', '.join(failed) if failed else ''}), "
        f"{len(electrolytes)} electrolytes, defect sizes {', '.join(f'{a * TO_UM:g}' for a in sizes)} µm, "
        f"applied current densities {', '.join(f'{c * TO_MA_PER_CM2:g}' for c in currents)} mA/cm². "
        f"Sweep file SHA-256 `{meta['sha256'][:16]}…`. Made by `dendrite-fem report`.",
        "",
        "## Headline: current focusing against defect size",
        "",
        "![headline](headline.png)",
        "",
        "## Homogeneity against the Wagner number",
        "",
        "![wagner](wagner.png)",
        "",
        f"## Metrics at {c_ref * TO_MA_PER_CM2:g} mA/cm² and a = {a_ref * TO_UM:g} µm",
        "",
        "| electrolyte | σ [mS/cm] | Wa | max/mean | min/mean | CV | tip / applied | V_cell [mV] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in ranked:
        r = at_ref[n]
        lines.append(
            f"| {n} | {r['conductivity_S_per_m'] * TO_MS_PER_CM:.3g} | {r['wagner_number']:.3g} | {r['max_over_mean']:.4f} | "
            f"{r['min_over_mean']:.4f} | {r['coefficient_of_variation']:.4f} | {r['feature_over_applied']:.4f} | "
            f"{r['counter_potential'] * TO_MV:.2f} |"
        )
    lines += [
        "",
        f"max/mean by electrolyte and defect size at {c_ref * TO_MA_PER_CM2:g} mA/cm²:",
        "",
        "| electrolyte | " + " | ".join(f"{a * TO_UM:g} µm" for a in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for n in electrolytes:
        a, mm = series(n, c_ref, "max_over_mean")
        lookup = dict(zip(a, mm, strict=True))
        lines.append(
            f"| {n} | " + " | ".join(f"{lookup[s]:.4f}" if s in lookup else "—" for s in sizes) + " |"
        )

    lines += ["", "## Reading (written from the numbers)", ""] + _reading(
        rows, electrolytes, sizes, currents, c_ref, a_ref, ranked, at_ref
    )

    rep = _representative_run(sweep, rows, c_ref, a_ref)
    if rep is not None:
        for png in ("current_maps.png", "interface_profile.png"):
            if (rep / png).exists():
                shutil.copy(rep / png, out / png)
        lines += [
            "",
            f"## Fields at the reference point ({rep.name})",
            "",
            "![maps](current_maps.png)",
            "",
            "![profile](interface_profile.png)",
        ]
    return "\n".join(lines) + "\n"


def _reading(rows, electrolytes, sizes, currents, c_ref, a_ref, ranked, at_ref) -> list[str]:
    out = []
    best, worst = ranked[0], ranked[-1]
    out.append(
        f"* At {c_ref * TO_MA_PER_CM2:g} mA/cm² and a = {a_ref * TO_UM:g} µm the most homogeneous plating is on "
        f"**{best}** (max/mean {at_ref[best]['max_over_mean']:.3f}, Wa = {at_ref[best]['wagner_number']:.3g}) and the "
        f"least homogeneous on **{worst}** ({at_ref[worst]['max_over_mean']:.3f}, Wa = {at_ref[worst]['wagner_number']:.3g})."
    )
    if "NAS" in at_ref and "NPS" in at_ref:
        ex_nas, ex_nps = at_ref["NAS"]["max_over_mean"] - 1, at_ref["NPS"]["max_over_mean"] - 1
        out.append(
            f"* NPS concentrates {ex_nps / ex_nas:.1f}× more excess current at the defect than NAS "
            f"({100 * ex_nps:.1f} % against {100 * ex_nas:.1f} % above the mean), the trend of seed 003 Fig. S15b."
        )
    trends = []
    for n in electrolytes:
        pts = [
            (r["defect_size_m"], r["max_over_mean"])
            for r in rows
            if r["electrolyte"] == n and r["applied_current_density_A_per_m2"] == c_ref
        ]
        if len(pts) > 2:
            trends.append((n, spearmanr(*zip(*pts, strict=True)).statistic))
    if trends:
        rising = [n for n, rho in trends if rho > 0.8]
        out.append(
            f"* Larger defects focus more current for {len(rising)} of {len(trends)} electrolytes "
            f"(Spearman ρ of max/mean against size > 0.8: {', '.join(rising) or 'none'})."
        )
    if len(currents) > 1:
        lo, hi = currents[0], currents[-1]
        changes = []
        for n in electrolytes:
            v = {
                r["applied_current_density_A_per_m2"]: r["max_over_mean"]
                for r in rows
                if r["electrolyte"] == n and r["defect_size_m"] == a_ref
            }
            if lo in v and hi in v:
                changes.append((v[hi] - v[lo]) / (v[lo] - 1) if v[lo] > 1 else 0.0)
        if changes:
            span = f"{100 * min(changes):+.1f} % to {100 * max(changes):+.1f} %"
            if min(changes) > 0:
                why = (
                    "it grows for every electrolyte, since the Butler–Volmer current rises ever more steeply "
                    "with overpotential (a lower differential charge-transfer resistance at higher current "
                    "lowers the effective Wagner number)"
                )
            elif max(changes) < 0:
                why = "it falls for every electrolyte"
            else:
                why = "with no common direction"
            out.append(
                f"* From {lo * TO_MA_PER_CM2:g} to {hi * TO_MA_PER_CM2:g} mA/cm² the excess max/mean − 1 changes by "
                f"{span} across electrolytes: {why}."
            )
    wa = np.array([r["wagner_number"] for r in rows])
    mm = np.array([r["max_over_mean"] for r in rows])
    rho = spearmanr(wa, mm).statistic
    trend = "falls" if rho < 0 else "rises"
    out.append(
        f"* Over all {len(rows)} results, max/mean {trend} with the Wagner number (Spearman ρ = {rho:.2f}). "
        "At equal Wa the points still scatter: the defect size relative to the SE thickness and the window "
        "matters too, so Wa orders the electrolytes but does not collapse the data onto one curve."
    )
    worst_balance = max(r["charge_balance_error"] for r in rows)
    out.append(f"* Largest charge-balance error over the sweep: {worst_balance:.1e}.")
    return out


def _representative_run(sweep: Path, rows, c_ref, a_ref) -> Path | None:
    for r in rows:
        if r["applied_current_density_A_per_m2"] == c_ref and r["defect_size_m"] == a_ref:
            path = sweep / "runs" / r["run"]
            return path if path.exists() else None
    return None
