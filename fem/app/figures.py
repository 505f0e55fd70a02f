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
    arc_length: np.ndarray | None = None,
) -> None:
    """i_dep against x along the interface trace; with ``arc_length``, a jump between separate
    pieces of the trace (where it does not grow: a hole in the SE, a void in the section) breaks
    the line instead of joining them."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2), constrained_layout=True)
    cuts = [] if arc_length is None else (np.flatnonzero(np.diff(arc_length) == 0) + 1).tolist()
    pieces = [slice(a, b) for a, b in zip([0, *cuts], [*cuts, len(x)], strict=True)]
    for k, (name, i_dep) in enumerate(profiles.items()):
        colour = f"C{k}"
        for j, piece in enumerate(pieces):
            ax.plot(
                x[piece] * TO_UM,
                i_dep[piece] * TO_MA_PER_CM2,
                lw=1.6,
                color=colour,
                label=None if j else name,
            )
    if applied is not None:
        ax.axhline(applied * TO_MA_PER_CM2, color="0.4", ls="--", lw=1, label="applied (counter side)")
    labelled = False
    for piece in pieces:
        pore = ~on_anode[piece]
        xs = x[piece]
        # each run of pore-wall points, shaded over the x it spans
        edges = np.flatnonzero(np.diff(np.concatenate([[0], pore.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            ax.axvspan(
                xs[a:b].min() * TO_UM,
                xs[a:b].max() * TO_UM,
                color="0.85",
                zorder=0,
                label=None if labelled else "pore wall (insulating)",
            )
            labelled = True
    ax.set_xlabel("x along the interface [µm]" + ("" if window.dim == 2 else " (section y = 0)"))
    ax.set_ylabel("plating current density i_dep [mA/cm²]")
    ax.set_ylim(bottom=0)
    ax.set_xlim(x.min() * TO_UM, x.max() * TO_UM)
    ax.grid(alpha=0.3)
    ax.legend(title="electrolyte")
    fig.savefig(path, dpi=150, metadata=metadata)
    plt.close(fig)


def interface_map(
    path: Path,
    surfaces: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    window: Window,
    applied: float | None,
    metadata: dict | None = None,
) -> None:
    """The interface coloured by the plating current, one panel per electrolyte on one colour
    scale: in 3D seen from the SE side (plan view, the highest facet in front), in 2D as the
    interface line in the window's plane; pore walls grey.  ``surfaces``: name → (points [m],
    facets, facet tag, i_dep at the points [A/m²]) as ``interface_<name>.vtu`` holds them."""
    from matplotlib.collections import LineCollection, PolyCollection

    from dendrite_fem.geometry import tags as _tags

    names = list(surfaces)
    on_anode = {n: np.unique(s[1][s[2] == _tags.ANODE]) for n, s in surfaces.items()}
    top = max(float(np.max(s[3][on_anode[n]])) for n, s in surfaces.items()) * TO_MA_PER_CM2
    low = min(float(np.min(s[3][on_anode[n]])) for n, s in surfaces.items()) * TO_MA_PER_CM2
    norm = matplotlib.colors.Normalize(low, top)  # the anode's range: the contrast is the point
    if window.dim == 3:  # square panels side by side
        fig, axes = plt.subplots(
            1, len(names), figsize=(5.2 * len(names) + 1.2, 4.6), squeeze=False, constrained_layout=True
        )
        axes = axes[0]
    else:  # a wide window's interface line: panels one above the other
        fig, axes = plt.subplots(
            len(names), 1, figsize=(9.0, 1.2 + 1.8 * len(names)), squeeze=False, constrained_layout=True
        )
        axes = axes[:, 0]
    for ax, name in zip(axes, names, strict=True):
        points, facets, tag, i_dep = surfaces[name]
        anode = tag == _tags.ANODE
        if facets.shape[1] == 3:
            centre_z = points[facets, 2].mean(axis=1)
            order = np.argsort(centre_z)  # painter's order: the highest facet is drawn last
            facets, anode = facets[order], anode[order]
            value = i_dep[facets].mean(axis=1) * TO_MA_PER_CM2
            colours = plt.get_cmap("viridis")(norm(value))
            colours[~anode] = (0.8, 0.8, 0.8, 1.0)
            ax.add_collection(
                PolyCollection(
                    points[facets][:, :, :2] * TO_UM, facecolors=colours, edgecolors=colours, linewidths=0.2
                )
            )
        else:
            segments = points[facets][:, :, :2] * TO_UM
            value = i_dep[facets].mean(axis=1) * TO_MA_PER_CM2
            ax.add_collection(LineCollection(segments[~anode], colors="0.7", linewidths=2.5))
            ax.add_collection(LineCollection(segments[anode], array=value[anode], norm=norm, linewidths=2.5))
        ax.set_aspect("equal")
        ax.autoscale_view()
        ax.set_ylabel("y [µm]")
        ax.set_xlabel("x [µm]")
        ax.set_title(name)
    fig.colorbar(
        matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"),
        ax=axes.tolist(),
        label="i_dep [mA/cm²]" + ("" if applied is None else f" (applied {applied * TO_MA_PER_CM2:.3g})"),
    )
    fig.suptitle(
        "Plating current on the interface"
        + (", seen from the SE (pore walls grey)" if window.dim == 3 else " (pore walls grey)")
    )
    fig.savefig(path, dpi=150, metadata=metadata)
    plt.close(fig)
