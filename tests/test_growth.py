"""Sharp-interface growth (issue 7): Faraday rate and mass balance, the front-tracking pieces,
checkpoint and restart, one and two ranks."""

import numpy as np
import pytest
from conftest import read_summary, run_cli, run_on_one_and_two_ranks

from dendrite_fem.constants import FARADAY, NA_MOLAR_VOLUME
from dendrite_fem.physics.growth import (
    advance,
    faraday_velocity,
    metal_area,
    remove_loops,
    respace,
    vertex_normals,
)


def test_faraday_velocity_and_flat_advance():
    v = faraday_velocity(5.1)  # 0.51 mA/cm²
    assert v == pytest.approx(5.1 * 23.78e-6 / 96485.33212, rel=1e-9)
    assert v * 3600 * 1e6 == pytest.approx(4.525, rel=1e-3)  # µm/h, physics.md's "about 4.4 µm/h"
    flat = np.column_stack([np.linspace(-1, 1, 11), np.zeros(11)])
    moved = advance(flat, np.full(11, 2.0), 0.25)
    assert np.allclose(moved[:, 1], 0.5, rtol=0, atol=1e-15) and np.array_equal(moved[:, 0], flat[:, 0])
    assert metal_area(moved) == pytest.approx(1.0, rel=1e-14)


def test_front_tracking_pieces():
    # a semicircle: normals point away from the centre, area π r²/2
    theta = np.linspace(np.pi, 0, 2001)
    arc = np.column_stack([np.cos(theta), np.sin(theta)])
    assert metal_area(arc) == pytest.approx(np.pi / 2, rel=1e-5)
    n = vertex_normals(arc)[1:-1]
    assert np.allclose(n, arc[1:-1] / np.linalg.norm(arc[1:-1], axis=1)[:, None], atol=1e-6)
    # splitting long segments keeps the area; merging short ones changes it by what it reports
    coarse = np.array([[-3.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [3.0, 0.0]])
    fine, change = respace(coarse, lambda p: np.full(len(np.atleast_2d(p)), 0.1))
    assert change == 0.0 and metal_area(fine) == pytest.approx(metal_area(coarse), rel=1e-14)
    assert np.max(np.linalg.norm(np.diff(fine, axis=0), axis=1)) <= 0.1 + 1e-12
    dense = np.column_stack([np.linspace(-1, 1, 201), 0.1 * np.sin(np.linspace(0, 3, 201))])
    sparse, change = respace(dense, lambda p: np.full(len(np.atleast_2d(p)), 0.05))
    assert metal_area(sparse) - metal_area(dense) == pytest.approx(change, abs=1e-15)
    # a swallowtail: the loop between two crossing segments is cut at the crossing
    tail = np.array([[-2, 0], [-0.5, 0], [0.5, 1], [0.5, -1], [-0.5, 0.2], [2, 0.2]], dtype=float)
    cut, loops = remove_loops(tail)
    assert loops == 1 and len(cut) < len(tail)


FLAT = """
[case]
name = "flat"
[geometry]
width = "20 um"
thickness = "20 um"
[mesh]
size_near = "1 um"
size_interface = "1 um"
size_far = "3 um"
[operation]
current_density = "0.51 mA/cm2"
[growth]
target_growth = "0.5 um"
max_time_step = "2 min"
[[electrolytes]]
material = "NPS"
"""


def test_flat_interface_advances_at_the_faraday_rate(write_case, tmp_path):
    out = tmp_path / "g"
    r = run_cli("grow", str(write_case(FLAT)), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    rows = np.genfromtxt(out / "NPS" / "growth.csv", delimiter=",", names=True)
    v = faraday_velocity(5.1)
    assert len(rows) >= 3
    assert np.allclose(rows["tip_advance_m"][1:] / rows["time_s"][1:], v, rtol=1e-9)
    assert np.allclose(rows["front_advance_m"], rows["tip_advance_m"], rtol=0, atol=1e-15)
    assert np.nanmax(np.abs(rows["mass_balance_error"])) < 1e-9
    gained = rows["metal_area_m2"][-1] - rows["metal_area_m2"][0]
    assert gained == pytest.approx(rows["charge_C_per_m"][-1] * NA_MOLAR_VOLUME / FARADAY, rel=1e-9)
    s = read_summary(out)["electrolytes"]["NPS"]
    assert s["stop_reason"] == "target_growth"
    assert s["time_to_target_growth"] == pytest.approx(0.5e-6 / v, rel=1e-9)


PROTRUSION = """
[case]
name = "grow"
[geometry]
width = "60 um"
thickness = "30 um"
[[geometry.defects]]
kind = "protrusion"
shape = "semicircle"
radius = "4 um"
[operation]
current_density = "0.51 mA/cm2"
[growth]
target_growth = "1.2 um"
[[electrolytes]]
material = "NPS"
"""


@pytest.mark.slow
def test_protrusion_mass_balance_and_restart(write_case, tmp_path, monkeypatch):
    case = write_case(PROTRUSION)
    whole = tmp_path / "whole"
    r = run_cli("grow", str(case), "--out", str(whole), "--quiet")
    assert r.returncode == 0, r.stderr
    rows = np.genfromtxt(whole / "NPS" / "growth.csv", delimiter=",", names=True)
    assert len(rows) > 5
    assert np.nanmax(np.abs(rows["mass_balance_error"])) < 5e-3  # every step within 0.5 %
    assert np.all(np.diff(rows["tip_advance_m"]) > 0)
    assert rows["tip_current_A_per_m2"][0] > 5.1  # the protrusion focuses current
    assert (whole / "NPS" / "series.pvd").read_text().count("<DataSet") == len(rows)
    # interrupted after step 3, then the same command again: resumes from the checkpoint
    part = tmp_path / "part"
    monkeypatch.setenv("DENDRITE_FEM_FAULT", "step:NPS:3=raise")
    r = run_cli("grow", str(case), "--out", str(part), "--quiet")
    assert r.returncode != 0 and not part.exists()
    monkeypatch.delenv("DENDRITE_FEM_FAULT")
    r = run_cli("grow", str(case), "--out", str(part))
    assert r.returncode == 0, r.stderr
    assert "resuming growth at step 3" in r.stdout
    a, b = np.load(whole / "NPS" / "interfaces.npz"), np.load(part / "NPS" / "interfaces.npz")
    assert list(a["steps"]) == list(b["steps"])
    last = f"step_{a['steps'][-1]:04d}"
    assert np.array_equal(a[last], b[last])
    assert (whole / "NPS" / "growth.csv").read_text() == (part / "NPS" / "growth.csv").read_text()


@pytest.mark.slow
def test_growth_two_ranks_match_one_rank(write_case, tmp_path):
    """Remeshing amplifies round-off: the partition changes the last bits of the markers, Gmsh
    then places the next mesh's nodes differently, and from there on the two runs differ by a
    discretisation-level amount, not by the solver tolerance (seen: 0 at steps 0-1, 5e-8 in the
    tip current at step 2, 2e-7 at the end).  So compare what the growth is for, physical
    quantities, within a bound from the discretisation: refining this mesh by 0.7x changes the
    time to target by 4.6e-4 and the final tip current by 2.2e-3; 1e-5 is 40x below that."""
    records = []
    for out in run_on_one_and_two_ranks(
        "grow", write_case(PROTRUSION.replace('"1.2 um"', '"0.6 um"')), tmp_path
    ):
        records.append(read_summary(out)["electrolytes"]["NPS"])
    one, two = records
    assert one["stop_reason"] == two["stop_reason"] == "target_growth"
    for key in ("time_to_target_growth", "initial_tip_current", "final_tip_current", "metal_area_gain"):
        assert two[key] == pytest.approx(one[key], rel=1e-5), key
    assert max(one["max_mass_balance_error"], two["max_mass_balance_error"]) < 5e-3


def test_growth_refuses_what_it_cannot_grow(write_case, tmp_path):
    pore = PROTRUSION.replace('kind = "protrusion"', 'kind = "pore"')
    r = run_cli("grow", str(write_case(pore)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "geometry.defects[0]" in r.stderr
    no_table = PROTRUSION.split("[growth]")[0] + '[[electrolytes]]\nmaterial = "NPS"\n'
    r = run_cli("grow", str(write_case(no_table)), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "[growth]" in r.stderr
