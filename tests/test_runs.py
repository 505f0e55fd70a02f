"""End-to-end runs of the CLI: the default case, its outputs, and 1 vs 2 MPI ranks."""

import csv
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest
from conftest import ROOT, RUN_TO_RUN_RTOL, SMALL_CASE, read_summary, run_cli

DEFAULT = ROOT / "cases" / "nas_vs_nps_protrusion.toml"


@pytest.fixture(scope="module")
def default_serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "serial"
    r = run_cli("run", str(DEFAULT), "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out, r


def test_default_case_nps_less_homogeneous_than_nas(default_serial):
    out, _ = default_serial
    s = read_summary(out)
    nas, nps = s["electrolytes"]["NAS"]["metrics"], s["electrolytes"]["NPS"]["metrics"]
    assert nps["max_over_mean"] > nas["max_over_mean"] > 1.0
    assert nps["coefficient_of_variation"] > nas["coefficient_of_variation"] > 0
    for m in (nas, nps):
        assert m["charge_balance_error"] < 1e-6
    # Wagner numbers from the Table 1 numbers: ℓ_W ≈ 178 µm (NAS), 19.8 µm (NPS), a = 10 µm
    assert s["electrolytes"]["NAS"]["wagner_number"] == pytest.approx(17.8, rel=0.01)
    assert s["electrolytes"]["NPS"]["wagner_number"] == pytest.approx(1.98, rel=0.01)


def test_default_case_writes_every_output(default_serial):
    out, r = default_serial
    names = {p.name for p in out.iterdir()}
    assert {
        "summary.json",
        "interface_profile.csv",
        "current_maps.png",
        "interface_profile.png",
        "interface_map.png",
        "interface_NPS.vtu",
        "tags.xdmf",
        "tags.h5",
        "fields_NAS.xdmf",
        "fields_NAS.h5",
        "fields_NPS.xdmf",
    } <= names
    assert not list(out.parent.glob(".*partial*"))  # committed: the partial directory is gone
    assert not (out / ".resume").exists() and not (out / "state.json").exists()
    s = read_summary(out)
    for key in ("software", "run", "parameters", "units", "case"):
        assert key in s
    assert s["run"]["dofs"] > 1000 and s["run"]["ranks"] == 1
    assert set(s["run"]["wall_time"]) >= {"meshing", "distribution", "solve", "output", "figures"}
    assert len(s["case"]["sha256"]) == 64
    # the comparison table is printed at the end
    assert "max/mean" in r.stdout and "NPS" in r.stdout
    # profile: one column set per electrolyte, ordered by arc length, mean over the
    # anode consistent with the summary
    with (out / "interface_profile.csv").open() as f:
        rows = list(csv.DictReader(f))
    s_m = np.array([float(r["s_m"]) for r in rows])
    assert np.all(np.diff(s_m) > 0)
    i_nps = np.array([float(r["i_dep_NPS_A_per_m2"]) for r in rows])
    assert i_nps.max() == pytest.approx(
        s["electrolytes"]["NPS"]["metrics"]["max_plating_current_density"], rel=1e-6
    )
    mean = np.sum(0.5 * (i_nps[1:] + i_nps[:-1]) * np.diff(s_m)) / (s_m[-1] - s_m[0])
    assert mean == pytest.approx(
        s["electrolytes"]["NPS"]["metrics"]["mean_plating_current_density"], rel=1e-3
    )
    # the interface file: the plating current on the anode segments carries the plated current
    import pyvista as pv

    line = pv.read(out / "interface_NPS.vtu")
    seg = line.cells.reshape(-1, 3)[:, 1:][line.cell_data["tag"] == 11]
    length = np.linalg.norm(line.points[seg[:, 1]] - line.points[seg[:, 0]], axis=1)
    plated = np.sum(line.point_data["plating_current"][seg].mean(axis=1) * length)
    assert plated == pytest.approx(s["electrolytes"]["NPS"]["metrics"]["total_plating_current"], rel=1e-3)
    # ParaView files: the XDMF index points at HDF5 datasets of the right shapes
    xdmf = ET.parse(out / "fields_NPS.xdmf").getroot()
    items = {a.get("Name"): a.find("DataItem").text.split(":")[1] for a in xdmf.iter("Attribute")}
    assert set(items) == {"potential", "current_density", "current_density_magnitude"}
    with h5py.File(out / "fields_NPS.h5", "r") as h5:
        phi = h5[items["potential"]][()]
        mag = h5[items["current_density_magnitude"]][()]
        n_nodes, n_cells = h5["/Mesh/mesh/geometry"].shape[0], h5["/Mesh/mesh/topology"].shape[0]
    assert phi.shape[0] == n_nodes and mag.shape[0] == n_cells
    assert phi.min() > 0  # φ > 0 in the SE during plating (η = −φ < 0)
    mean = s["electrolytes"]["NPS"]["metrics"]["mean_plating_current_density"]
    assert np.median(mag) == pytest.approx(mean, rel=0.1)  # |i| ≈ i_app away from the defect
    # the .vtu that ParaView opens, read with VTK's own XML reader (the one ParaView uses)
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(out / "fields_NPS.vtu"))
    reader.Update()
    grid = reader.GetOutput()
    assert grid.GetNumberOfCells() == s["run"]["cells"]
    vec = vtk_to_numpy(grid.GetCellData().GetArray("current_density"))
    assert vec.shape[1] == 3 and np.allclose(np.linalg.norm(vec, axis=1), mag.ravel(), rtol=1e-6, atol=1e-9)
    assert vtk_to_numpy(grid.GetPointData().GetArray("potential")).min() > 0


def _metrics(summary):
    return {
        (name, key): value
        for name, r in summary["electrolytes"].items()
        for key, value in r["metrics"].items()
        if isinstance(value, float)
    }


def test_two_ranks_match_one_rank(default_serial, tmp_path):
    out1, _ = default_serial
    out2 = tmp_path / "mpi2"
    r = run_cli("run", str(DEFAULT), "--out", str(out2), np=2)
    assert r.returncode == 0, r.stderr
    s1, s2 = read_summary(out1), read_summary(out2)
    assert s2["run"]["ranks"] == 2 and s2["run"]["dofs"] == s1["run"]["dofs"]
    m1, m2 = _metrics(s1), _metrics(s2)
    for key, v1 in m1.items():
        assert m2[key] == pytest.approx(v1, rel=RUN_TO_RUN_RTOL, abs=1e-12), key
    assert r.stdout.count("results in") == 1 and r.stdout.count("meshing") == 1  # once, not per rank
    assert (out2 / "interface_profile.csv").read_text().count("\n") == (
        out1 / "interface_profile.csv"
    ).read_text().count("\n")


@pytest.mark.slow
def test_two_ranks_match_one_rank_with_cg_gamg(write_case, tmp_path):
    case = write_case(SMALL_CASE)
    outs = []
    for np_ in (1, 2):
        out = tmp_path / f"n{np_}"
        r = run_cli("run", str(case), "--out", str(out), "--set", "solver.linear_solver='iterative'", np=np_)
        assert r.returncode == 0, r.stderr
        outs.append(read_summary(out))
    assert "CG + GAMG" in outs[1]["electrolytes"]["NAS"]["solver"]["linear_solver"]
    m1, m2 = _metrics(outs[0]), _metrics(outs[1])
    for key, v1 in m1.items():
        assert m2[key] == pytest.approx(v1, rel=RUN_TO_RUN_RTOL, abs=1e-12), key


def test_rerun_replaces_result_and_foreign_directory_is_refused(write_case, tmp_path):
    case = write_case(SMALL_CASE.replace('material = "NPS"', 'material = "NTOC"'))
    out = tmp_path / "res"
    assert run_cli("run", str(case), "--out", str(out), "--quiet").returncode == 0
    (out / "stale.txt").write_text("from an earlier run")
    again = run_cli("run", str(case), "--out", str(out))
    assert again.returncode == 0 and "already holds this case's result" in again.stdout
    assert "solving" not in again.stdout and (out / "stale.txt").exists()  # skipped, untouched
    assert run_cli("run", str(case), "--out", str(out), "--quiet", "--force").returncode == 0
    assert not (out / "stale.txt").exists()  # one consistent set of files
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    r = run_cli("run", str(case), "--out", str(foreign))
    assert r.returncode == 2 and "not a result of dendrite-fem" in r.stderr
    assert (foreign / "thesis.tex").exists()


def test_non_convergence_is_an_error_and_leaves_no_results(write_case, tmp_path):
    # one Newton step cannot converge the nonlinear problem at a high current
    case = write_case(SMALL_CASE)
    out = tmp_path / "fail"
    r = run_cli(
        "run",
        str(case),
        "--out",
        str(out),
        "--set",
        "solver.max_iterations=1",
        "--set",
        "operation.current_density='20 mA/cm2'",
    )
    assert r.returncode == 3, r.stdout + r.stderr
    assert "did not converge" in r.stderr and "SNES reason" in r.stderr
    assert not out.exists()
    # only the hidden partial directory remains, for a resume, and nothing in it looks final
    assert not list(tmp_path.glob(".fail.partial/summary.json"))


def test_3d_case_runs_with_section_profile_and_figures(tmp_path):
    out = tmp_path / "3d"
    case = ROOT / "cases" / "nas_vs_nps_protrusion_3d.toml"
    r = run_cli(
        "run",
        str(case),
        "--out",
        str(out),
        "--set",
        "mesh.size_near='1.5 um'",
        "--set",
        "mesh.size_interface='3 um'",
        "--set",
        "mesh.size_far='15 um'",
    )
    assert r.returncode == 0, r.stderr
    s = read_summary(out)
    nas, nps = s["electrolytes"]["NAS"]["metrics"], s["electrolytes"]["NPS"]["metrics"]
    assert nps["max_over_mean"] > nas["max_over_mean"] > 1.0
    assert max(nas["charge_balance_error"], nps["charge_balance_error"]) < 1e-8
    with (out / "interface_profile.csv").open() as f:
        rows = list(csv.DictReader(f))
    x = np.array([float(r["x_m"]) for r in rows])
    y = np.array([float(r["y_m"]) for r in rows])
    z = np.array([float(r["z_m"]) for r in rows])
    assert np.all(np.abs(y) < 1e-12)  # the trace lies in the section plane y = 0
    assert x.min() == pytest.approx(-40e-6) and x.max() == pytest.approx(40e-6)
    assert z.max() == pytest.approx(10e-6, rel=1e-6)  # it passes over the hemisphere's apex
    assert (out / "current_maps.png").stat().st_size > 10_000


@pytest.mark.slow
def test_3d_pore_two_ranks_match_one_rank_and_report_phases(tmp_path):
    """The 3D answer does not depend on the partition (CG + GAMG, curved P2), and summary.json
    carries the phase split and the Poisson-floor ratio of benchmarks/performance.py."""
    case = ROOT / "cases" / "nas_vs_nps_pore_3d.toml"
    coarse = [
        "--set",
        "mesh.size_near='1 um'",
        "--set",
        "mesh.size_interface='2 um'",
        "--set",
        "mesh.size_far='12 um'",
        "--set",
        "solver.linear_solver='iterative'",
    ]
    outs = []
    for np_ in (1, 2):
        out = tmp_path / f"n{np_}"
        r = run_cli("run", str(case), "--out", str(out), "--time-poisson-floor", *coarse, np=np_)
        assert r.returncode == 0, r.stderr
        outs.append(read_summary(out))
    assert outs[1]["run"]["ranks"] == 2 and outs[0]["run"]["dofs"] == outs[1]["run"]["dofs"] > 10_000
    m1, m2 = _metrics(outs[0]), _metrics(outs[1])
    for key, v1 in m1.items():
        # the charge balance is the residual where Newton stopped, below its tolerance (1e-10
        # of the current scale), not a value of the solution: it agrees to that tolerance only
        balance = key[1] == "charge_balance_error"
        assert m2[key] == pytest.approx(v1, rel=RUN_TO_RUN_RTOL, abs=1e-9 if balance else 1e-12), key
    solver = outs[1]["electrolytes"]["NPS"]["solver"]
    phases = solver["phases"]
    inside = sum(
        phases[k] for k in ("residual_assembly", "jacobian_assembly", "preconditioner_setup", "krylov")
    )
    assert 0 < inside <= phases["newton"] * 1.001  # the event-log split adds up within SNESSolve
    assert solver["poisson_floor"]["iterations"] > 0 and 0.2 < solver["newton_over_poisson_floor"] < 5
    assert {"meshing", "distribution", "solve", "poisson_floor", "output"} <= set(outs[1]["run"]["wall_time"])
