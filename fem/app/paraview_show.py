"""Open a dendrite-fem result in ParaView: |i| with streamlines, and the interface profile.

    paraview --script=$(dendrite-fem paraview-script)          # GUI; result from $DENDRITE_FEM_RESULT or .
    pvpython $(dendrite-fem paraview-script) RESULT_DIR [--electrolyte NPS] [--screenshot view.png]

This file runs inside ParaView's own Python (pvpython), so it imports nothing from
dendrite-fem: it reads the files the run wrote (fields_<name>.vtu, interface_<name>.vtu,
interface_profile.csv).  In 3D the volume is shown translucent over the interface, which is
coloured by the plating current.
"""

import argparse
import glob
import os
import sys

from paraview.simple import (  # noqa: F401 - the ParaView scripting API
    AssignViewToLayout,
    CellDatatoPointData,
    ColorBy,
    CreateView,
    CSVReader,
    GetActiveViewOrCreate,
    GetLayout,
    Render,
    ResetCamera,
    SaveScreenshot,
    Show,
    StreamTracer,
    XMLUnstructuredGridReader,
)


def arguments():
    argv = [a for a in sys.argv[1:] if not a.startswith("--script")]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result", nargs="?", default=os.environ.get("DENDRITE_FEM_RESULT", "."))
    p.add_argument("--electrolyte", help="which fields_<name>.vtu (default: the first)")
    p.add_argument("--screenshot", help="save the layout to this PNG instead of waiting for the GUI")
    return p.parse_args(argv)


def main():
    args = arguments()
    fields = sorted(glob.glob(os.path.join(args.result, "fields_*.vtu")))
    if not fields:
        raise SystemExit(f"{args.result}: no fields_*.vtu (was the run made with output.fields = false?)")
    chosen = [f for f in fields if args.electrolyte and f.endswith(f"fields_{args.electrolyte}.vtu")]
    path = (chosen or fields)[0]

    merged = XMLUnstructuredGridReader(FileName=[path])
    merged.UpdatePipeline()
    points = CellDatatoPointData(Input=merged)
    view = GetActiveViewOrCreate("RenderView")
    shown = Show(merged, view)
    ColorBy(shown, ("CELLS", "current_density_magnitude"))
    shown.SetScalarBarVisibility(view, True)
    shown.RescaleTransferFunctionToDataRange(True, False)

    # streamlines from a line of seeds just below the counter side (top of the window)
    (x0, x1, y0, y1, z0, z1) = merged.GetDataInformation().GetBounds()
    lines = StreamTracer(Input=points, SeedType="Line")
    lines.Vectors = ["POINTS", "current_density"]
    top = 0.98 * (y1 if z1 == z0 else z1)
    lines.SeedType.Point1 = [x0, top, 0.0] if z1 == z0 else [x0, 0.0, top]
    lines.SeedType.Point2 = [x1, top, 0.0] if z1 == z0 else [x1, 0.0, top]
    lines.SeedType.Resolution = 60
    lines.MaximumStreamlineLength = 10 * max(x1 - x0, y1 - y0, z1 - z0)
    Show(lines, view).DiffuseColor = [1.0, 1.0, 1.0]
    surface = path.replace("fields_", "interface_")
    if z1 != z0 and os.path.exists(surface):
        interface = XMLUnstructuredGridReader(FileName=[surface])
        on_interface = Show(interface, view)
        ColorBy(on_interface, ("POINTS", "plating_current"))
        on_interface.SetScalarBarVisibility(view, True)
        on_interface.RescaleTransferFunctionToDataRange(True, False)
        shown.Opacity = 0.25  # the volume over the interface it would hide
    view.InteractionMode = "2D" if z1 == z0 else "3D"
    ResetCamera(view)

    profile = os.path.join(args.result, "interface_profile.csv")
    if os.path.exists(profile):
        table = CSVReader(FileName=[profile])
        table.UpdatePipeline()
        chart = CreateView("XYChartView")
        AssignViewToLayout(view=chart, layout=GetLayout(view), hint=2)
        series = Show(table, chart)
        series.XArrayName = "x_m"
        series.UseIndexForXAxis = 0
        # the representation lists every numeric column; show the plating currents
        series.SeriesVisibility = [c for c in series.SeriesVisibility if c.startswith("i_dep_")]
        chart.LeftAxisTitle = "plating current density i_dep [A/m²]"
        chart.BottomAxisTitle = "x [m]"
    Render()
    if args.screenshot:
        SaveScreenshot(args.screenshot, GetLayout(view), ImageResolution=[1600, 700])


main()
