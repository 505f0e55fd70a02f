"""The Python API against the command line: the README table in a few lines, the same numbers
as ``dendrite-fem run``, the same files from ``Solution.write``; unit strings at the edge."""

import pytest
from conftest import ROOT, read_summary, run_cli

import dendrite_fem as df


def test_readme_table_in_under_eight_lines_equals_the_cli_run(tmp_path):
    window = df.Window(2, "400 um", "100 um", defects=[df.Defect("protrusion", df.Round("10 um"))])
    model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)
    solutions = {name: model.solve(df.electrolyte(name)) for name in ("NAS", "NPS")}
    assert f"{solutions['NAS'].metrics.max_over_mean:.4f}" == "1.0294"
    assert f"{solutions['NPS'].metrics.max_over_mean:.4f}" == "1.2587"
    # the same case through the case file and the CLI, on one rank: the same numbers (the same
    # mesh, the same parsing of "400 um", the same solve), so bit for bit
    out = tmp_path / "cli"
    r = run_cli("run", str(ROOT / "cases" / "nas_vs_nps_protrusion.toml"), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    cli = read_summary(out)["electrolytes"]
    for name, s in solutions.items():
        for key, value in s.metrics.to_dict().items():
            if isinstance(value, float):
                assert value == pytest.approx(cli[name]["metrics"][key], rel=1e-12, abs=1e-300), (name, key)
    # Solution.write lays out the files of a run
    s = solutions["NPS"]
    written = s.write(tmp_path / "api")
    names = {p.name for p in written.iterdir()}
    assert {
        "summary.json",
        "interface_profile.csv",
        "fields_NPS.vtu",
        "fields_NPS.xdmf",
        "tags.xdmf",
        "current_maps.png",
        "interface_profile.png",
    } <= names
    back = df.read_result(written)
    assert back.metrics("NPS") == s.metrics
    assert back.profile["i_dep_NPS_A_per_m2"].max() == pytest.approx(
        s.profile.plating_current.max(), rel=1e-9
    )
    assert s.phi.function_space.mesh is model.mesh.mesh  # φ is a DOLFINx function on the model's mesh


def test_unit_strings_and_si_numbers_are_the_same_input():
    assert df.Kinetics("1.3 mA/cm2", temperature="25 degC").temperature == pytest.approx(298.15)
    assert df.Kinetics("1.3 mA/cm2").exchange_current_density == pytest.approx(13.0)
    assert df.Galvanostatic("0.51 mA/cm2") == df.Galvanostatic(5.1)
    assert df.Round("10 um").radius == pytest.approx(1e-5)
    assert df.Layer.from_library("NPS-interphase", "1 um").area_resistance == pytest.approx(2e-4)
    with pytest.raises(ValueError, match="not a length"):
        df.Round("0.9 mS/cm")
    with pytest.raises(ValueError, match="current density"):
        df.Galvanostatic("10 um")


def test_operation_types_decide_the_mode():
    g, p = df.Galvanostatic("0.51 mA/cm2"), df.Potentiostatic("20 mV")
    assert g.applied_current_density == pytest.approx(5.1) and p.applied_current_density is None
    assert g.summary() == {"mode": "galvanostatic", "applied_current_density": pytest.approx(5.1)}
    assert p.summary() == {"mode": "potentiostatic", "applied_voltage": pytest.approx(0.02)}
