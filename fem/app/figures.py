"""Figures of a run (rank 0 only): current-density maps and the interface profile.

Maps show |i| in mA/cm² on a common colour scale for all electrolytes, with
current streamlines; 3D results are shown on their section y = 0 (cut with
PyVista).  The profile plot is the analogue of seed 003 Fig. S15b.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.tri as mtri  # noqa: E402
import numpy as np  # noqa: E402

from dendrite_fem.geometry.spec import Window  # noqa: E402
from dendrite_fem.post.fields import GatheredField  # noqa: E402
from dendrite_fem.units import TO_MA_PER_CM2, TO_UM


def _section(field: GatheredField):
    """(x, y) points, triangles, |i| and (i_x, i_y) per triangle of a 2D field or
    of the y = 0 section of a 3D one."""
    if field.cells.shape[1] == 3:
        vec = field.cellwise["current_density"]
        return (
            field.points[:, :2],
            field.cells,
            field.cellwise["current_density_magnitude"].ravel(),
            vec[:, :2],
        )
    import pyvista as pv

    n = len(field.cells)
    grid = pv.UnstructuredGrid(
        np.hstack([np.full((n, 1), 4), field.cells]).ravel(),
        np.full(n, pv.CellType.TETRA, dtype=np.uint8),
        field.points,
    )
    grid.cell_data["mag"] = field.cellwise["current_density_magnitude"].ravel()
    grid.cell_data["vec"] = field.cellwise["current_density"]
    # just off the plane y = 0, which the mesh conforms to (a cut along faces is degenerate)
    offset = 1e-6 * np.ptp(field.points[:, 0])
    cut = grid.slice(normal=(0, 1, 0), origin=(0, offset, 0)).triangulate().clean()
    tris = cut.faces.reshape(-1, 4)[:, 1:]
    vec = np.asarray(cut.cell_data["vec"])
    return np.asarray(cut.points)[:, [0, 2]], tris, np.asarray(cut.cell_data["mag"]), vec[:, [0, 2]]


def _view(window: Window) -> tuple[tuple[float, float], tuple[float, float]]:
    """Region to show [m]: around the defects when there are any, else the window."""
    if not window.defects:
        return (-window.width / 2, window.width / 2), (0.0, window.thickness)
    lo = min(d.x - 3 * d.shape.half_width for d in window.defects)
    hi = max(d.x + 3 * d.shape.half_width for d in window.defects)
    lo, hi = max(lo, -window.width / 2), min(hi, window.width / 2)
    top = min(window.thickness, max(3 * max(d.shape.height for d in window.defects), 0.5 * (hi - lo)))
    return (lo, hi), (0.0, top)


def current_maps(
    path: Path,
    fields: dict[str, GatheredField],
    window: Window,
    applied: float | None,
    metadata: dict | None = None,
) -> None:
    names = list(fields)
    sections = {k: _section(f) for k, f in fields.items()}
    vmax = max(np.percentile(s[2], 99.5) for s in sections.values()) * TO_MA_PER_CM2
    (x0, x1), (y0, y1) = _view(window)
    aspect = (y1 - y0) / (x1 - x0)
    fig, axes = plt.subplots(
        1,
        len(names),
        figsize=(4.2 * len(names) + 1.2, 4.2 * aspect + 1.3),
        squeeze=False,
        constrained_layout=True,
    )
    for ax, name in zip(axes[0], names, strict=True):
        pts, tris, mag, vec = sections[name]
        tri = mtri.Triangulation(pts[:, 0] * TO_UM, pts[:, 1] * TO_UM, tris)
        im = ax.tripcolor(
            tri, facecolors=mag * TO_MA_PER_CM2, cmap="viridis", vmin=0, vmax=vmax, rasterized=True
        )
        # streamlines of the cell-wise current, sampled on a grid inside the SE
        gx, gy = np.meshgrid(
            np.linspace(x0, x1, 160) * TO_UM, np.linspace(y0, y1, max(20, int(160 * aspect))) * TO_UM
        )
        cell = tri.get_trifinder()(gx, gy)
        inside = cell >= 0
        u = np.where(inside, vec[cell, 0], np.nan)
        v = np.where(inside, vec[cell, 1], np.nan)
        ax.streamplot(
            gx,
            gy,
            np.ma.masked_invalid(u),
            np.ma.masked_invalid(v),
            color="white",
            linewidth=0.6,
            density=1.0,
            arrowsize=0.7,
        )
        ax.set_xlim(x0 * TO_UM, x1 * TO_UM)
        ax.set_ylim(y0 * TO_UM, y1 * TO_UM)
        ax.set_aspect("equal")
        ax.set_title(name)
        ax.set_xlabel("x [µm]")
        ax.set_ylabel(
            ("y" if window.dim == 2 else "z") + " [µm]" + ("" if window.dim == 2 else "  (section y = 0)")
        )
    cbar = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.9)
    cbar.set_label("|i| [mA/cm²]")
    if applied is not None:
        fig.suptitle(f"Current density, applied {applied * TO_MA_PER_CM2:.3g} mA/cm²")
    fig.savefig(path, dpi=150, metadata=metadata)
    plt.close(fig)


def interface_profile(
    path: Path,
    x: np.ndarray,
    on_anode: np.ndarray,
    profiles: dict[str, np.ndarray],
    applied: float | None,
    window: Window,
    metadata: dict | None = None,
) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    for name, i_dep in profiles.items():
        ax.plot(x * TO_UM, i_dep * TO_MA_PER_CM2, lw=1.6, label=name)
    if applied is not None:
        ax.axhline(applied * TO_MA_PER_CM2, color="0.4", ls="--", lw=1, label="applied (counter side)")
    pore = ~on_anode
    if pore.any():
        ax.fill_between(
            x * TO_UM,
            0,
            1,
            where=pore,
            transform=ax.get_xaxis_transform(),
            color="0.85",
            zorder=0,
            label="pore wall (insulating)",
        )
    ax.set_xlabel("x along the interface [µm]" + ("" if window.dim == 2 else " (section y = 0)"))
    ax.set_ylabel("plating current density i_dep [mA/cm²]")
    ax.set_ylim(bottom=0)
    ax.set_xlim(x.min() * TO_UM, x.max() * TO_UM)
    ax.grid(alpha=0.3)
    ax.legend(title="electrolyte")
    fig.savefig(path, dpi=150, metadata=metadata)
    plt.close(fig)
