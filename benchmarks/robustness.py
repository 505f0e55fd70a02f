"""Run every bad input and fault of docs/robustness.md and write its table.

    .venv/bin/python benchmarks/robustness.py [--doc docs/robustness.md]

Each entry runs the real command line in a fresh directory and records the first
line of what the user sees, the exit code and what is left on disk; the table in the
document is this script's output, not a description of intent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = (ROOT / "tests" / "conftest.py").read_text().split('SMALL_CASE = """')[1].split('"""')[0]
BEGIN, END = "<!-- BEGIN robustness -->", "<!-- END robustness -->"

DEFECT = '[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"'


def height_map(path: str = "profile.csv", pixel: str = '"0.25 um"', unit: str = '"um"') -> tuple[str, str]:
    """The small case's defect replaced by a measured interface (the files come from _prepare)."""
    return DEFECT, f'[geometry.height_map]\npath = "{path}"\npixel_size = {pixel}\nheight_unit = {unit}'


def image(extra: str = "", path: str = "section.npy") -> tuple[str, str]:
    """The small case's window replaced by a segmented image (the files come from _prepare)."""
    window = f'dimension = 2\nwidth = "80 um"\nthickness = "40 um"\n\n{DEFECT}'
    table = f'[geometry.image]\npath = "{path}"\npixel_size = "1 um"\nmetal = 1\nelectrolyte = 2{extra}'
    return window, table


def volume(extra: str = "", path: str = "volume.npy", dimension: int = 3) -> tuple[str, str]:
    """The small case's window replaced by a segmented voxel volume (the files come from _prepare)."""
    window = f'dimension = 2\nwidth = "80 um"\nthickness = "40 um"\n\n{DEFECT}'
    table = (
        f'dimension = {dimension}\n\n[geometry.volume]\npath = "{path}"\nvoxel_size = "1 um"\nmetal = 1\n'
        f"electrolyte = 2\nvoid = 3{extra}"
    )
    return window, table


# (description, replacement in the small case (old, new) or None, extra CLI args, fault, ranks)
BAD_INPUTS = [
    ("length given in the wrong unit", ('width = "80 um"', 'width = "0.9 mS/cm"')),
    ("length without a unit", ('width = "80 um"', "width = 80")),
    ("negative thickness", ('thickness = "40 um"', 'thickness = "-40 um"')),
    ("misspelt key", ('thickness = "40 um"', 'thicknes = "40 um"')),
    ("unknown section", ("[operation]", "[solverr]\nrtol = 1e-8\n[operation]")),
    ("unknown defect shape", ('shape = "semicircle"', 'shape = "blob"')),
    (
        "shape without a required size",
        ('shape = "semicircle"\nradius = "8 um"', 'shape = "ellipse"\nradius = "8 um"'),
    ),
    ("shape with a size it does not use", ('radius = "8 um"', 'radius = "8 um"\nheight = "3 um"')),
    (
        "pore with a protrusion-only shape",
        (
            'kind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            'kind = "pore"\nshape = "notch"\nheight = "8 um"\nhalf_angle = "10 deg"\ntip_radius = "1 um"',
        ),
    ),
    ("defect wider than the window", ('radius = "8 um"', 'radius = "45 um"')),
    ("defect reaching the counter side", ('thickness = "40 um"', 'thickness = "9 um"')),
    (
        "overlapping defects",
        (
            'radius = "8 um"',
            'radius = "8 um"\n\n[[geometry.defects]]\nkind = "pore"\nshape = "semicircle"\nradius = "5 um"\nx = "10 um"',
        ),
    ),
    ("transfer coefficient out of (0, 1)", ("[operation]", "[kinetics]\nalpha_a = 1.5\n[operation]")),
    ("negative temperature", ("[operation]", "[kinetics]\ntemperature = '-5 K'\n[operation]")),
    (
        "temperature a material cannot reach",
        ("[operation]", "[kinetics]\ntemperature = '330 K'\n[operation]"),
    ),
    ("unknown material", ('material = "NPS"', 'material = "NPZ"')),
    ("two electrolytes with one name", ('material = "NPS"', 'material = "NAS"')),
    ("galvanostatic run without a current", ('current_density = "0.51 mA/cm2"', "mode = 'galvanostatic'")),
    (
        "potentiostatic run given a current",
        ("[operation]", "[operation]\nmode = 'potentiostatic'\nvoltage = '10 mV'"),
    ),
    ("current density in the wrong unit", ('current_density = "0.51 mA/cm2"', 'current_density = "0.51 mA"')),
    ("unsupported element degree", ("[operation]", "[mesh]\nelement_degree = 3\n[operation]")),
    ("one mesh size of three", ("[operation]", "[mesh]\nsize_near = '1 um'\n[operation]")),
    (
        "roughness that does not fit the window",
        (
            '[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            '[geometry.roughness]\namplitude = "2 um"\nwavelength = "30 um"',
        ),
    ),
    ("case name with spaces", ('name = "small"', 'name = "small case"')),
    ("invalid TOML", ("[operation]", "[operation\n")),
    (
        "interlayer material without an [interlayer] table",
        ('material = "NPS"', 'material = "NPS"\ninterlayer = "NPS-interphase"'),
    ),
    (
        "misspelt interlayer material",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-interfase"\n[interlayer]\nthickness = "1 um"',
        ),
    ),
    (
        "interlayer thicker than half the SE",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-interphase"\n[interlayer]\nthickness = "30 um"',
        ),
    ),
    (
        "mixed-conducting interlayer as a thin film",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-MCI"\n[interlayer]\nthickness = "1 um"\nrepresentation = "resistance"',
        ),
    ),
    (
        "stack pressure in the wrong unit",
        ("[operation]", "[mechanics]\nstack_pressure = '250 mA'\n[operation]"),
    ),
    (
        "[mechanics] and a uniform kinetics.pressure",
        (
            "[operation]",
            "[kinetics]\npressure = '20 MPa'\n[mechanics]\nstack_pressure = '20 MPa'\n[operation]",
        ),
    ),
    (
        "deposit pressure given both ways",
        ("[operation]", "[mechanics]\ndeposit_pressure = '5 MPa'\ndeposit_time = '60 s'\n[operation]"),
    ),
    (
        "elastic constants without [mechanics]",
        ('material = "NPS"', 'material = "NPS"\nyoungs_modulus = "20 GPa"'),
    ),
    # --- values validated as values (issue 16) ---
    ("length in a non-SI unit of absurd size", ('width = "80 um"', 'width = "10 parsec"')),
    ("infinite length", ('width = "80 um"', 'width = "inf um"')),
    ("NaN length", ('width = "80 um"', 'width = "nan um"')),
    ("division by zero in a value", ('width = "80 um"', 'width = "1/0 um"')),
    ("a control character as a value", ('width = "80 um"', 'width = "\\u001b"')),
    ("a boolean as a length", ('width = "80 um"', "width = true")),
    ("a nested array as a length", ('radius = "8 um"', 'radius = [["8 um"]]')),
    ("a number where a table is expected", ('thickness = "40 um"', 'thickness = "40 um"\nroughness = 3')),
    ("a word where a number is expected", ("[operation]", "[kinetics]\nalpha_a = 'half'\n[operation]")),
    ("unknown top-level key", ("[operation]", "foo = 1\n[operation]")),
    ("duplicate key (invalid TOML)", ('width = "80 um"', 'width = "80 um"\nwidth = "90 um"')),
    ("infinite conductivity", ('material = "NAS"', 'material = "NAS"\nconductivity = "inf mS/cm"')),
    ("negative conductivity", ('material = "NAS"', 'material = "NAS"\nconductivity = "-1 mS/cm"')),
    ("zero conductivity", ('material = "NAS"', 'material = "NAS"\nconductivity = "0 mS/cm"')),
    ("conductivity of absurd size", ('material = "NAS"', 'material = "NAS"\nconductivity = "1e9 S/cm"')),
    ("conductivity given without a name", ('material = "NAS"', 'conductivity = "1 mS/cm"')),
    ("zero current density", ('current_density = "0.51 mA/cm2"', 'current_density = "0 mA/cm2"')),
    ("negative current density", ('current_density = "0.51 mA/cm2"', 'current_density = "-0.5 mA/cm2"')),
    ("current density of absurd size", ('current_density = "0.51 mA/cm2"', 'current_density = "1e9 mA/cm2"')),
    (
        "misspelt mode",
        ('current_density = "0.51 mA/cm2"', 'mode = "galvanostatik"\ncurrent_density = "0.51 mA/cm2"'),
    ),
    (
        "potentiostatic run at 0 V",
        ('current_density = "0.51 mA/cm2"', 'mode = "potentiostatic"\nvoltage = "0 V"'),
    ),
    (
        "potentiostatic run at a negative voltage (stripping)",
        ('current_density = "0.51 mA/cm2"', 'mode = "potentiostatic"\nvoltage = "-20 mV"'),
    ),
    (
        "potentiostatic run at 100 V",
        ('current_density = "0.51 mA/cm2"', 'mode = "potentiostatic"\nvoltage = "100 V"'),
    ),
    ("NaN voltage", ('current_density = "0.51 mA/cm2"', 'mode = "potentiostatic"\nvoltage = "nan V"')),
    ("temperature of a few kelvin", ("[operation]", "[kinetics]\ntemperature = '3 K'\n[operation]")),
    ("temperature of 5000 K", ("[operation]", "[kinetics]\ntemperature = '5000 K'\n[operation]")),
    (
        "zero exchange current density",
        ("[operation]", "[kinetics]\nexchange_current_density = '0 mA/cm2'\n[operation]"),
    ),
    ("transfer coefficient 0", ("[operation]", "[kinetics]\nalpha_c = 0\n[operation]")),
    ("negative uniform pressure", ("[operation]", "[kinetics]\npressure = '-5 MPa'\n[operation]")),
    ("2D window given a depth", ('thickness = "40 um"', 'thickness = "40 um"\ndepth = "40 um"')),
    ("dimension 4", ("dimension = 2", "dimension = 4")),
    ("element degree as a word", ("[operation]", "[mesh]\nelement_degree = 'two'\n[operation]")),
    (
        "mesh sizes out of order",
        (
            "[operation]",
            "[mesh]\nsize_near = '3 um'\nsize_interface = '1 um'\nsize_far = '5 um'\n[operation]",
        ),
    ),
    (
        "a zero mesh size",
        (
            "[operation]",
            "[mesh]\nsize_near = '0 um'\nsize_interface = '1 um'\nsize_far = '5 um'\n[operation]",
        ),
    ),
    (
        "a mesh too large to build (3D, nanometre cells on a rough interface)",
        (
            'dimension = 2\nwidth = "80 um"\nthickness = "40 um"\n\n[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            'dimension = 3\nwidth = "80 um"\nthickness = "40 um"\n[geometry.roughness]\namplitude = "0.02 um"\nwavelength = "20 um"'
            '\n\n[mesh]\nsize_near = "5 nm"\nsize_interface = "5 nm"\nsize_far = "8 um"',
        ),
    ),
    ("adaptive target error 0", ("[operation]", "[mesh]\ntarget_error = 0\n[operation]")),
    ("adaptive target error of 50 %", ("[operation]", "[mesh]\ntarget_error = 0.5\n[operation]")),
    (
        "no refinements allowed",
        ("[operation]", "[mesh]\ntarget_error = 1e-3\nmax_refinements = 0\n[operation]"),
    ),
    (
        "adaptive refinement with the stress coupling",
        ("[operation]", "[mesh]\ntarget_error = 1e-3\n[mechanics]\nstack_pressure = '20 MPa'\n[operation]"),
    ),
    ("parallel refinement of 4 levels", ("[operation]", "[mesh]\nparallel_refinements = 4\n[operation]")),
    (
        "parallel refinement of a growing deposit",
        ("[operation]", "[mesh]\nparallel_refinements = 1\n[growth]\ntarget_growth = '5 um'\n[operation]"),
    ),
    ("height map file missing", height_map(path="missing.csv")),
    ("height map that is not numbers", height_map(path="text.csv")),
    ("height map with missing values", height_map(path="holes.csv")),
    ("height map in an unknown format", height_map(path="profile.bmp")),
    ("pixel size without a unit", height_map(pixel="0.25")),
    ("height unit that is not a length", height_map(unit='"mA"')),
    ("height map narrower than the window", height_map(pixel='"0.1 um"')),
    (
        "height map in mm where it is in um (heights beyond a quarter of the thickness)",
        height_map(unit='"mm"'),
    ),
    (
        "line profile for a 3D window",
        (
            f'dimension = 2\nwidth = "80 um"\nthickness = "40 um"\n\n{DEFECT}',
            f'dimension = 3\nwidth = "80 um"\nthickness = "40 um"\n\n{height_map()[1]}',
        ),
    ),
    ("height map and defects together", ("[operation]", height_map()[1] + "\n[operation]")),
    ("image file missing", image(path="missing.png")),
    ("image that is not integer labels", image(path="float.npy")),
    (
        "image label that no pixel has",
        (image()[0], image()[1].replace("metal = 1", "metal = 7")),
    ),
    ("image with voids but no void label", image(path="voids.npy")),
    ("image with an island of metal in the SE", image(path="island.npy")),
    (
        "image with a window width too",
        (image()[0], 'width = "80 um"\nthickness = "40 um"\n' + image()[1]),
    ),
    ("volume file missing", volume(path="missing.tif")),
    ("volume that is a 2D image", volume(path="section.npy")),
    ("volume that is not integer labels", volume(path="volume_float.npy")),
    ("volume as a PNG", volume(path="volume.png")),
    ("volume voxel size without a unit", (volume()[0], volume()[1].replace('"1 um"', "1"))),
    ("volume label that no voxel has", (volume()[0], volume()[1].replace("metal = 1", "metal = 7"))),
    ("volume upside down (SE at slice 0)", volume(path="volume_flipped.npy")),
    ("volume whose top slices reach metal", volume(path="volume_top.npy")),
    ("volume with an island of metal in the SE", volume(path="volume_island.npy")),
    ("volume in a 2D case", volume(dimension=2)),
    ("volume with a window width too", (volume()[0], 'width = "80 um"\n' + volume()[1])),
    ("volume and image together", (volume()[0], volume()[1] + "\n" + image()[1])),
    ("solver tolerance 1", ("[operation]", "[solver]\nrtol = 1\n[operation]")),
    ("zero Newton iterations", ("[operation]", "[solver]\nmax_iterations = 0\n[operation]")),
    ("unknown linear solver", ("[operation]", "[solver]\nlinear_solver = 'cholesky'\n[operation]")),
    ("case named '.' (the results folder itself)", ('name = "small"', 'name = "."')),
    ("case named '..'", ('name = "small"', 'name = ".."')),
    ("case name with a slash", ('name = "small"', 'name = "a/b"')),
    ("case name of 300 characters", ('name = "small"', 'name = "' + "n" * 300 + '"')),
    (
        "cone with a half angle of 95 deg",
        (
            'shape = "semicircle"\nradius = "8 um"',
            'shape = "cone"\nheight = "8 um"\nhalf_angle = "95 deg"\ntip_radius = "1 um"',
        ),
    ),
    (
        "cone whose tip radius exceeds its height",
        (
            'shape = "semicircle"\nradius = "8 um"',
            'shape = "cone"\nheight = "2 um"\nhalf_angle = "20 deg"\ntip_radius = "3 um"',
        ),
    ),
    (
        "flat void thicker than wide",
        (
            'kind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            'kind = "pore"\nshape = "flat"\nradius = "2 um"\nthickness = "3 um"',
        ),
    ),
    ("contact gap as a protrusion", ('shape = "semicircle"', 'shape = "gap"')),
    ("defect given a y in 2D", ('radius = "8 um"', 'radius = "8 um"\ny = "2 um"')),
    ("defect off the side of the window", ('radius = "8 um"', 'radius = "8 um"\nx = "36 um"')),
    (
        "roughness and defects together",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.roughness]\namplitude = "1 um"\nwavelength = "20 um"',
        ),
    ),
    (
        "roughness amplitude above half the thickness",
        (
            '[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            '[geometry.roughness]\namplitude = "25 um"\nwavelength = "20 um"',
        ),
    ),
    (
        "random defects: a huge count",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.random_defects]\ncount = 1000000000000000000000000000000\nradius_min = "1 um"\nradius_max = "2 um"',
        ),
    ),
    (
        "random defects: count 0",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.random_defects]\ncount = 0\nradius_min = "1 um"\nradius_max = "2 um"',
        ),
    ),
    (
        "random defects: negative seed",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.random_defects]\ncount = 3\nseed = -1\nradius_min = "1 um"\nradius_max = "2 um"',
        ),
    ),
    (
        "random defects: radius_min above radius_max",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.random_defects]\ncount = 3\nradius_min = "3 um"\nradius_max = "2 um"',
        ),
    ),
    (
        "random defects that do not fit",
        (
            'thickness = "40 um"',
            'thickness = "40 um"\n[geometry.random_defects]\ncount = 400\nradius_min = "4 um"\nradius_max = "5 um"',
        ),
    ),
    (
        "interlayer given two ways",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-interphase"\ninterlayer_conductivity = "0.01 mS/cm"\n[interlayer]\nthickness = "1 um"',
        ),
    ),
    (
        "unknown interlayer representation",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-interphase"\n[interlayer]\nthickness = "1 um"\nrepresentation = "glued"',
        ),
    ),
    (
        "interlayer of zero thickness",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-interphase"\n[interlayer]\nthickness = "0 um"',
        ),
    ),
    (
        "electronic conductivity without an interlayer",
        ('material = "NPS"', 'material = "NPS"\ninterlayer_electronic_conductivity = "0.01 mS/cm"'),
    ),
    (
        "mixed conductor without a specific area",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer_conductivity = "0.01 mS/cm"\ninterlayer_electronic_conductivity = "0.01 mS/cm"\n[interlayer]\nthickness = "1 um"',
        ),
    ),
    (
        "mixed conductor with [mechanics]",
        (
            'material = "NPS"',
            'material = "NPS"\ninterlayer = "NPS-MCI"\n[interlayer]\nthickness = "1 um"\n[mechanics]\nstack_pressure = "5 MPa"',
        ),
    ),
    ("unknown metal for the deposit", ("[operation]", "[mechanics]\nmetal = 'K'\n[operation]")),
    ("mechanics coupling tolerance 0.5", ("[operation]", "[mechanics]\nrtol = 0.5\n[operation]")),
    (
        "Poisson ratio 0.7",
        ('material = "NPS"', 'material = "NPS"\npoisson_ratio = 0.7\n[mechanics]\nstack_pressure = "5 MPa"'),
    ),
    (
        "Young's modulus in mA",
        (
            'material = "NPS"',
            'material = "NPS"\nyoungs_modulus = "20 mA"\n[mechanics]\nstack_pressure = "5 MPa"',
        ),
    ),
    (
        "[mechanics] with a rough interface",
        (
            '[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"',
            '[geometry.roughness]\namplitude = "1 um"\nwavelength = "20 um"\n[mechanics]\nstack_pressure = "5 MPa"',
        ),
    ),
    ("growth target of negative length", ("[operation]", "[growth]\ntarget_growth = '-1 um'\n[operation]")),
    ("growth with a billion steps", ("[operation]", "[growth]\nmax_steps = 1000000000\n[operation]")),
]
EXTRA = [
    ("case file that does not exist", None, ["run", "{dir}/missing.toml"], None, 1),
    ("--set without '='", "case", ["run", "{case}", "--set", "operation.current_density"], None, 1),
    ("--out is a directory that is not a result", "case", ["run", "{case}", "--out", "{dir}/home"], None, 1),
    (
        "dendrite-fem grow on a case without [growth]",
        "case",
        ["grow", "{case}", "--out", "{dir}/res"],
        None,
        1,
    ),
    (
        "dendrite-fem phase-field on the published grid (--dx 1)",
        None,
        ["phase-field", "--dx", "1", "--out", "{dir}/res"],
        None,
        1,
    ),
    (
        "dendrite-fem phase-field with a positive (stripping) potential",
        None,
        ["phase-field", "--potential", "0.2", "--out", "{dir}/res"],
        None,
        1,
    ),
    (
        "--set with a negative list index",
        "case",
        ["run", "{case}", "--set", "electrolytes.-1.material=NTOC"],
        None,
        1,
    ),
    (
        "--set with a non-integer list index",
        "case",
        ["run", "{case}", "--set", "electrolytes.x.material=NTOC"],
        None,
        1,
    ),
    (
        "--set past the end of a list",
        "case",
        ["run", "{case}", "--set", "electrolytes.9.material=NTOC"],
        None,
        1,
    ),
    (
        "--set a key under a value",
        "case",
        ["run", "{case}", "--set", "operation.current_density.x=1"],
        None,
        1,
    ),
    ("--set an empty key", "case", ["run", "{case}", "--set", "geometry..width='1 um'"], None, 1),
    ("--set electrolytes to an empty list", "case", ["run", "{case}", "--set", "electrolytes=[]"], None, 1),
    ("--set a case name of '.'", "case", ["run", "{case}", "--set", "case.name='.'"], None, 1),
    (
        "sweep --jobs -1",
        None,
        ["sweep", f"{ROOT}/cases/sweep_small.toml", "--jobs", "-1", "--out", "{dir}/sw"],
        None,
        1,
    ),
    (
        "sweep --np 0",
        None,
        ["sweep", f"{ROOT}/cases/sweep_small.toml", "--np", "0", "--out", "{dir}/sw"],
        None,
        1,
    ),
    ("sweep of a case without [sweep]", "case", ["sweep", "{case}", "--out", "{dir}/sw"], None, 1),
    ("run of a sweep file", None, ["run", f"{ROOT}/cases/sweep_small.toml", "--out", "{dir}/res"], None, 1),
    ("sweep --status of a folder that is not a sweep", None, ["sweep", "--status", "{dir}/home"], None, 1),
    ("report of a foreign folder", None, ["report", "{dir}/home"], None, 1),
    ("report of a corrupted summary.json", "corrupt-summary", ["report", "{dir}/res"], None, 1),
    (
        "report with --out at a file",
        "corrupt-summary",
        ["report", "{dir}/res", "--out", "{dir}/home/thesis.tex"],
        None,
        1,
    ),
    ("phase-field --dx inf", None, ["phase-field", "--dx", "inf", "--out", "{dir}/res"], None, 1),
    ("phase-field --t-end nan", None, ["phase-field", "--t-end", "nan", "--out", "{dir}/res"], None, 1),
    ("phase-field --noise inf", None, ["phase-field", "--noise", "inf", "--out", "{dir}/res"], None, 1),
    ("phase-field --seed -3", None, ["phase-field", "--seed", "-3", "--out", "{dir}/res"], None, 1),
    (
        "phase-field on a domain of 1e300",
        None,
        ["phase-field", "--length", "1e300", "--out", "{dir}/res"],
        None,
        1,
    ),
    (
        "phase-field --potential nan",
        None,
        ["phase-field", "--potential", "nan", "--out", "{dir}/res"],
        None,
        1,
    ),
    (
        "--mesh-cache is a file",
        "case",
        ["run", "{case}", "--out", "{dir}/res", "--mesh-cache", "{dir}/home/thesis.tex"],
        None,
        1,
    ),
    ("the case path is a directory", None, ["run", "{dir}/home"], None, 1),
    ("a case file that is not UTF-8", "binary", ["run", "{case}", "--out", "{dir}/res"], None, 1),
    ("an option that does not exist", "case", ["run", "{case}", "--outt", "{dir}/res"], None, 1),
    ("verify given a case file", "case", ["verify", "{case}"], None, 1),
]

#: accepted, not refused: each must succeed (exit 0) and leave one complete result
ACCEPTED = [
    (
        "a number in quotes (alpha_a = '0.4')",
        ("[operation]", "[kinetics]\nalpha_a = '0.4'\n[operation]"),
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
    (
        "a case file that starts with a UTF-8 byte-order mark",
        "bom",
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
    ("a 250-character --out", "case", ["run", "{case}", "--out", "{dir}/" + "r" * 250, "--quiet"]),
    (
        "a temperature in degC",
        ("[operation]", "[kinetics]\ntemperature = '25 degC'\n[operation]"),
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
    (
        "a segmented image with a void at the interface (NumPy labels next to the case file)",
        image(extra="\nvoid = 3", path="voids.npy"),
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
    (
        "a segmented voxel volume with interface voids (NumPy labels next to the case file)",
        volume(),
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
    (
        "a measured line profile (CSV next to the case file)",
        height_map(),
        ["run", "{case}", "--out", "{dir}/res", "--quiet"],
    ),
]
FAULTS = [
    (
        "Newton divergence (1 Newton step allowed at 20 mA/cm²)",
        "case",
        [
            "run",
            "{case}",
            "--out",
            "{dir}/res",
            "--set",
            "solver.max_iterations=1",
            "--set",
            "operation.current_density='20 mA/cm2'",
        ],
        None,
        1,
    ),
    (
        "NaN in the conductivity (injected)",
        "case",
        ["run", "{case}", "--out", "{dir}/res"],
        "solve:NAS=nan",
        1,
    ),
    (
        "exception on rank 1 of 2 (injected)",
        "case",
        ["run", "{case}", "--out", "{dir}/res"],
        "solve:NPS@1=raise",
        2,
    ),
    (
        "killed (SIGKILL) while writing the results",
        "case",
        ["run", "{case}", "--out", "{dir}/res"],
        "output=kill",
        1,
    ),
    (
        "killed after the first electrolyte, then run again",
        "case",
        ["run", "{case}", "--out", "{dir}/res"],
        "finished:NAS=kill",
        1,
    ),
]


def _popen(
    args: list[str], fault: str | None, ranks: int, cwd: Path, log: Path, env=None
) -> subprocess.Popen:
    env = dict(env or os.environ)
    env.pop("DENDRITE_FEM_FAULT", None)
    if fault:
        env["DENDRITE_FEM_FAULT"] = fault
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", *args]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), *cmd]
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=cwd, env=env)


def _wait_for(log: Path, text: str, p: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while text not in log.read_text(errors="replace"):
        if p.poll() is not None or time.monotonic() - t0 > timeout:
            return
        time.sleep(0.2)
    time.sleep(1.0)


class Finished:
    """What a Popen left, in the shape seen() reads."""

    def __init__(self, p: subprocess.Popen, log: Path, timeout: float = 120.0):
        try:
            self.returncode = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            self.returncode = "hung (killed after the timeout)"
        self.stdout = ""
        self.stderr = log.read_text(errors="replace")


def _signal(sig: int, ranks: int, fault: str = "finished:NAS=sleep"):
    def go(d: Path, case: Path):
        log = d / "log"
        p = _popen(["run", str(case), "--out", str(d / "res")], fault, ranks, d, log)
        _wait_for(log, "charge balance", p)
        p.send_signal(sig)  # under MPI: to mpiexec, which passes it on
        r = Finished(p, log, 60)
        disk = on_disk(d)
        again = run(["run", str(case), "--out", str(d / "res")], None, 1, d)
        return (
            r,
            disk,
            f"; run again: exit {again.returncode}, {'resumed' if 'resuming' in again.stdout else 'recomputed'}, {on_disk(d)}",
        )

    return go


def _sweep_sigterm(d: Path, case: Path):
    sweep = d / "sweep.toml"
    sweep.write_text(
        case.read_text() + '\n[sweep]\n"operation.current_density" = ["0.2 mA/cm2", "0.4 mA/cm2"]\n'
    )
    log = d / "log"
    p = _popen(["sweep", str(sweep), "--out", str(d / "sw"), "--jobs", "2"], "finished:NAS=sleep", 1, d, log)
    t0 = time.monotonic()
    while (
        len(list((d / "sw" / "runs").glob(".run-*.partial/state.json"))) < 2 and time.monotonic() - t0 < 120
    ):
        time.sleep(0.2)
    time.sleep(4.0)
    p.send_signal(signal.SIGTERM)
    r = Finished(p, log, 90)
    left = subprocess.run(["pgrep", "-f", str(d / "sw")], capture_output=True, text=True).stdout.split()
    runs = sorted((d / "sw" / "runs").glob(".run-*.partial"))
    return r, f"{len(runs)} hidden partial runs; {len(left)} processes left", ""


def _two_runs_at_once(d: Path, case: Path):
    log = d / "log1"
    first = _popen(["run", str(case), "--out", str(d / "res")], "finished:NAS=sleep", 1, d, log)
    _wait_for(log, "charge balance", first)
    second = run(["run", str(case), "--out", str(d / "res"), "--set", "case.name='other'"], None, 1, d)
    first.send_signal(signal.SIGTERM)
    Finished(first, log, 60)
    again = run(["run", str(case), "--out", str(d / "res")], None, 1, d)
    return (
        second,
        on_disk(d),
        f"; the first run, stopped, then run again: exit {again.returncode}, {on_disk(d)}",
    )


def _tmpfs(options: str):
    def go(d: Path, case: Path):
        place = d / "place"
        place.mkdir()
        m = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(place)], capture_output=True, text=True
        )
        if m.returncode != 0:
            return None, "", f"not run: cannot mount a tmpfs ({m.stderr.strip()})"
        try:
            r = run(["run", str(case), "--out", str(place / "res")], None, 1, d)
            disk = ", ".join(sorted(p.name for p in place.iterdir())) or "nothing"
        finally:
            subprocess.run(["umount", str(place)])
        return r, f"in the small file system: {disk}", ""

    return go


def _damaged_partial(target: str):
    def go(d: Path, case: Path):
        case.write_text(case.read_text() + '\n[[electrolytes]]\nmaterial = "NTOC"\n')
        run(["run", str(case), "--out", str(d / "res")], "finished:NPS=kill", 1, d)
        partial = d / ".res.partial"
        f = partial / target
        if target == "state.json":
            f.write_text("{")
        else:
            data = bytearray(f.read_bytes())
            data[len(data) // 2] ^= 0xFF
            f.write_bytes(bytes(data))
        r = run(["run", str(case), "--out", str(d / "res")], None, 1, d)
        r.stderr = r.stdout.split("\n")[0] + "\n" + r.stderr  # the "damaged" line goes to stdout
        return r, on_disk(d), ""

    return go


def _damaged_mesh_cache(d: Path, case: Path):
    cache = d / "meshes"
    run(["run", str(case), "--out", str(d / "res"), "--mesh-cache", str(cache), "--quiet"], None, 1, d)
    (msh,) = cache.glob("*.msh")
    data = bytearray(msh.read_bytes())
    data[len(data) // 2] ^= 0xFF
    msh.write_bytes(bytes(data))
    r = run(["run", str(case), "--out", str(d / "res"), "--mesh-cache", str(cache), "--force"], None, 1, d)
    r.stderr = "\n".join(ln for ln in r.stderr.splitlines() if "damaged" in ln) or r.stderr
    return (
        r,
        on_disk(d),
        "; the mesh was built again (not read from the cache)" if "meshing" in r.stdout else "",
    )


def _killed_compile(d: Path, case: Path):
    env = dict(os.environ, XDG_CACHE_HOME=str(d / "cache"))
    log = d / "log"
    p = _popen(["run", str(case), "--out", str(d / "res")], None, 1, d, log, env)
    fenics = d / "cache" / "fenics"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        cs = list(fenics.glob("*.c")) if fenics.exists() else []
        if any(not c.with_suffix(".c.cached").exists() for c in cs):
            break
        time.sleep(0.05)
    p.kill()
    p.wait()
    r = subprocess.run(
        [sys.executable, "-m", "dendrite_fem.app.cli", "run", str(case), "--out", str(d / "res"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=d,
        env=env,
        timeout=300,
    )
    return r, on_disk(d), "; (the run after a compile killed by SIGKILL)"


def _unwritable_form_cache(d: Path, case: Path):
    env = dict(os.environ, XDG_CACHE_HOME="/proc/no-cache-here")
    r = subprocess.run(
        [sys.executable, "-m", "dendrite_fem.app.cli", "run", str(case), "--out", str(d / "res"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=d,
        env=env,
        timeout=300,
    )
    return r, on_disk(d), ""


def _result_of(other: bool, force: bool = False, where: str = "res"):
    def go(d: Path, case: Path):
        first = d / ("results/small" if where == "root" else "res")
        run(["run", str(case), "--out", str(first), "--quiet"], None, 1, d)
        target = {"res": d / "res", "inside": d / "res" / "sub", "root": d / "results"}[where]
        args = ["run", str(case), "--out", str(target)]
        if other:
            args += ["--set", "case.name='another'"]
        if force:
            args.append("--force")
        r = run(args, None, 1, d)
        return r, on_disk(d), ""

    return go


#: (description, function(dir, case) → (result, disk, note)) run on the small case
SPECIALS = [
    ("--out at another case's result, without --force", "output", _result_of(True)),
    ("--out at another case's result, with --force", "output", _result_of(True, True)),
    ("--out inside an earlier result", "output", _result_of(False, where="inside")),
    (
        "--out at the results folder that holds results, with --force",
        "output",
        _result_of(False, True, "root"),
    ),
    ("two runs into one --out at once", "fault", _two_runs_at_once),
    ("SIGINT (Ctrl-C) after the first electrolyte, 1 rank", "fault", _signal(signal.SIGINT, 1)),
    ("SIGTERM after the first electrolyte, 1 rank", "fault", _signal(signal.SIGTERM, 1)),
    ("SIGINT to mpiexec -n 2", "fault", _signal(signal.SIGINT, 2)),
    ("SIGTERM to mpiexec -n 2", "fault", _signal(signal.SIGTERM, 2)),
    (
        "SIGINT to mpiexec -n 2 while rank 0 waits in a collective for rank 1",
        "fault",
        _signal(signal.SIGINT, 2, "finished:NAS@1=sleep"),
    ),
    ("SIGTERM to a sweep of two runs", "fault", _sweep_sigterm),
    ("a full disk (a 64 kB tmpfs as --out's place)", "fault", _tmpfs("size=64k")),
    ("a read-only output folder (a read-only tmpfs)", "fault", _tmpfs("ro,size=1m")),
    ("a damaged file in the partial result, then run again", "fault", _damaged_partial("fields_NAS.h5")),
    ("a damaged state.json in the partial result, then run again", "fault", _damaged_partial("state.json")),
    ("a damaged mesh cache file, then run again", "fault", _damaged_mesh_cache),
    ("a form compile killed by SIGKILL, then run again at once", "fault", _killed_compile),
    ("an unwritable form cache (read-only home)", "fault", _unwritable_form_cache),
]


def run(args: list[str], fault: str | None, ranks: int, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("DENDRITE_FEM_FAULT", None)
    if fault:
        env["DENDRITE_FEM_FAULT"] = fault
    cmd = [sys.executable, "-m", "dendrite_fem.app.cli", *args]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(ranks), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def on_disk(d: Path) -> str:
    skip = {"case.toml", "home", "log", "log1", "sweep.toml", "cache", "meshes", "place"}
    names = sorted(p.name for p in d.iterdir() if p.name not in skip and not p.name.endswith(".lock"))
    if not names:
        return "nothing"
    parts = []
    for n in names:
        p = d / n
        if n.endswith(".partial"):
            try:
                state = json.loads((p / "state.json").read_text())
            except (OSError, ValueError):
                state = {}
            done = list(state.get("finished", {}))
            parts.append(f"hidden `{n}/` (no summary.json{'; finished: ' + ', '.join(done) if done else ''})")
        elif p.is_dir():
            owner = ""
            if (p / ".dendrite-fem-result").exists():
                owner = " of " + json.loads((p / ".dendrite-fem-result").read_text())["owner"]
            label = n if len(n) < 40 else n[:12] + f"…({len(n)} characters)"
            inner = [q.name for q in p.iterdir() if q.is_dir() and (q / "summary.json").exists()]
            if (p / "summary.json").exists():
                parts.append(f"`{label}/` with summary.json{owner}")
            elif inner:
                parts.append(f"`{label}/` holding the results {', '.join(inner)}")
            else:
                parts.append(f"`{label}/`")
    return "; ".join(parts) or "nothing"


def seen(r: subprocess.CompletedProcess) -> str:
    if r.returncode == -9:
        return "nothing: the process was killed (SIGKILL)"
    lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip()]
    errors = []
    for k, ln in enumerate(lines):
        if "unexpected error" in ln:  # a traceback follows: keep its last line, the exception
            errors = [ln] + [x for x in lines[k + 1 :] if re.match(r"^\w*Error: ", x)][-1:]
            break
        if re.match(r"^(\[rank \d+\] )?(error:|interrupted by|warning:)", ln) or "damaged" in ln:
            # the error line and the field lines under it (a case error lists its fields)
            errors = [ln] + [
                x for x in lines[k + 1 : k + 4] if not x.startswith(("Traceback", "history:", "load "))
            ]
            break
        if re.match(r"^\w*Error: ", ln):
            errors.append(ln)
    text = " ".join(errors) if errors else (r.stdout.strip().splitlines() or [""])[-1]
    history = [ln for ln in lines if ln.startswith("load ")]
    if history:
        text += f" — then the Newton history, {len(history)} attempts, e.g. `{history[0]}`"
    # the scratch folder of each row is noise: keep the path inside it ("res/", not "/tmp/tmpab12/res/")
    text = re.sub(r"/tmp/[^/\s]+/", "", text)
    text = re.sub(r"(\S)\1{39,}", lambda m: m.group(0)[:12] + f"…({len(m.group(0))} characters)", text)
    return (text[:420] + " …") if len(text) > 420 else text


def _prepare(d: Path, source) -> Path:
    """The entry's case file in ``d`` (and what else it needs); returns the case path."""
    text = BASE
    if isinstance(source, tuple):
        text = BASE.replace(*source, 1)
        if text == BASE:
            raise SystemExit(f"the replacement {source[0]!r} does not apply")
    case = d / "case.toml"
    # measured interfaces next to the case: 81 µm of a shallow profile at 0.25 µm, and broken files
    heights = [0.3 * math.sin(2 * math.pi * 0.25 * k / 20) for k in range(325)]
    (d / "profile.csv").write_text("".join(f"{h:.6f}\n" for h in heights))
    (d / "text.csv").write_text("0.1, 0.2\nhigh, low\n")
    (d / "holes.csv").write_text("0.1\nnan\n0.2\n0.1\n0.3\n")
    (d / "profile.bmp").write_bytes(b"BM")
    # segmented sections, 1 µm pixels, 81 × 45: flat metal below row 40, SE above
    import numpy as np

    section = np.full((45, 81), 2, dtype=np.uint8)
    section[40:] = 1
    np.save(d / "section.npy", section)
    np.save(d / "float.npy", section.astype(float))
    voids = section.copy()
    voids[30:36, 20:26] = 3
    np.save(d / "voids.npy", voids)
    island = section.copy()
    island[10:20, 20:30] = 1
    np.save(d / "island.npy", island)
    # segmented volumes, 1 µm voxels, 20 × 20 × 20: a rough anode with voids (porespy)
    from dendrite_fem.geometry.synthetic import interface_volume

    labels = interface_volume((20, 20, 20), seed=1, metal_depth=0.3, roughness=1.0, void_radius=3)
    np.save(d / "volume.npy", labels)
    np.save(d / "volume_float.npy", labels.astype(float))
    (d / "volume.png").write_bytes(b"")
    np.save(d / "volume_flipped.npy", labels[::-1])
    top = labels.copy()
    top[-1, 5, 5] = 1
    np.save(d / "volume_top.npy", top)
    island = labels.copy()
    island[14:17, 8:11, 8:11] = 1
    np.save(d / "volume_island.npy", island)
    if source == "binary":
        case.write_bytes(b"\xff\xfe[case]\x00\x81")
    elif source == "bom":
        case.write_bytes(b"\xef\xbb\xbf" + text.encode())
    else:
        case.write_text(text)
    if source == "corrupt-summary":
        (d / "res").mkdir()
        (d / "res" / "summary.json").write_text("{")
    (d / "home").mkdir()
    (d / "home" / "thesis.tex").write_text("precious")
    return case


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", default=str(ROOT / "docs" / "robustness.md"))
    args = ap.parse_args()
    rows = []
    plain = [(d, rep, ["run", "{case}", "--out", "{dir}/res"], None, 1, "input") for d, rep in BAD_INPUTS]
    plain += [(d, src, a, f, n, "input") for d, src, a, f, n in EXTRA]
    plain += [(d, src, a, None, 1, "accepted") for d, src, a in ACCEPTED]
    plain += [(d, src, a, f, n, "fault") for d, src, a, f, n in FAULTS]
    entries = [(desc, kind, None, (rep, argv, fault, ranks)) for desc, rep, argv, fault, ranks, kind in plain]
    entries += [(desc, kind, fn, None) for desc, kind, fn in SPECIALS]
    for k, (desc, kind, special, spec) in enumerate(entries, 1):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            note = ""
            if special is not None:
                case = _prepare(d, None)
                r, disk, note = special(d, case)
                if r is None:
                    print(f"{desc}: {note}", flush=True)
                    continue
            else:
                rep, argv, fault, ranks = spec
                case = _prepare(d, rep)
                if desc.startswith("killed after"):
                    case.write_text(case.read_text() + '\n[[electrolytes]]\nmaterial = "NTOC"\n')
                r = run([a.format(case=case, dir=d) for a in argv], fault, ranks, d)
                disk = on_disk(d)
                if desc.startswith("killed"):
                    again = run([a.format(case=case, dir=d) for a in argv], None, 1, d)
                    resumed = "resuming" in again.stdout
                    note = (
                        f"; run again: exit {again.returncode}, {'resumed' if resumed else 'recomputed'}, "
                        f"{on_disk(d)}"
                    )
        code = (
            r.returncode
            if not isinstance(r.returncode, int) or r.returncode >= 0
            else f"{r.returncode} (signal)"
        )
        rows.append(
            f"| {k} | {kind} | {desc} | {seen(r).replace('|', chr(92) + '|')} | {code} | {disk}{note} |"
        )
        print(rows[-1], flush=True)
    table = (
        "\n".join(
            [
                "| # | kind | bad input or fault | what the user sees (stderr) | exit | left on disk |",
                "|---|---|---|---|---|---|",
                *rows,
            ]
        )
        + "\n"
    )
    doc = Path(args.doc)
    text = doc.read_text()
    doc.write_text(
        re.sub(
            re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: f"{BEGIN}\n{table}{END}", text, flags=re.S
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
