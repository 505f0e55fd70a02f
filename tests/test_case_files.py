"""Case files: shipped cases validate; bad input is refused with the field and the fix."""

import json
import os

import pytest
from conftest import ROOT, SMALL_CASE, run_cli

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import load_case


@pytest.mark.parametrize("path", sorted((ROOT / "cases").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_cases_validate(path):
    if "[sweep]" in path.read_text():
        import math
        import tomllib

        from dendrite_fem.app.sweep import load_sweep

        _, runs = load_sweep(path)  # validates every combination, geometry included
        axes = tomllib.loads(path.read_text())["sweep"]
        assert len(runs) == math.prod(len(v) for v in axes.values())
        return
    case, digest = load_case(path)  # resolved: its geometry and materials are checked
    assert len(digest) == 64 and case.electrolytes


def test_units_are_parsed_to_si(write_case):
    case, _ = load_case(write_case(SMALL_CASE))
    assert case.window.width == pytest.approx(80e-6)
    assert case.operation.value == pytest.approx(5.1)  # 0.51 mA/cm2 in A/m²
    assert case.kinetics.exchange_current_density == pytest.approx(13.0)  # default 1.3 mA/cm²
    assert case.electrolytes[0].conductivity(case.kinetics.temperature) == pytest.approx(0.09)


def test_contact_gap_pore_from_a_case_file(write_case):
    text = SMALL_CASE.replace('kind = "protrusion"\nshape = "semicircle"', 'kind = "pore"\nshape = "gap"')
    case, _ = load_case(write_case(text))
    window = case.window
    assert type(window.defects[0].shape).__name__ == "Gap" and window.defects[0].shape.height == 0.0


def test_override_changes_a_field(write_case):
    case, d1 = load_case(
        write_case(SMALL_CASE), ["operation.current_density='1 mA/cm2'", "electrolytes.1.material=NTOC"]
    )
    assert case.operation.value == pytest.approx(10.0)
    assert case.electrolytes[1].key == "NTOC"
    _, d2 = load_case(write_case(SMALL_CASE))
    assert d1 != d2  # the hash records the overrides


BAD = [
    ('width = "80 um"', 'width = "0.9 mS/cm"', "geometry.width", "not a length"),
    ('width = "80 um"', "width = 80", "geometry.width", "has no unit"),
    ('thickness = "40 um"', 'thicknes = "40 um"', "geometry.thicknes", "did you mean 'thickness'"),
    ('radius = "8 um"', 'radius = "-8 um"', "geometry.defects[0].radius", "greater than 0"),
    ('shape = "semicircle"', 'shape = "blob"', "geometry.defects[0].shape", "semicircle"),
    ('radius = "8 um"', 'height = "8 um"', "geometry.defects[0]", "needs radius"),
    ('material = "NPS"', 'material = "NPZ"', "electrolytes[1]", "did you mean"),
    ('material = "NPS"', 'material = "NAS"', "electrolytes", "unique"),
    (
        'current_density = "0.51 mA/cm2"',
        'current_density = "0.51 mA"',
        "operation.current_density",
        "not a current density",
    ),
    (
        'current_density = "0.51 mA/cm2"',
        'voltage = "10 mV"',
        "operation",
        "galvanostatic mode takes current_density",
    ),
    (
        "[operation]",
        "[operation]\nmode = 'potentiostatic'\nvoltage = '10 mV'",
        "operation",
        "no current_density",
    ),
    ('name = "small"', 'name = "small one"', "case.name", "pattern"),
    ("[operation]", "[kinetics]\nalpha_a = 1.5\n[operation]", "kinetics.alpha_a", "less than 1"),
    (
        "[operation]",
        "[kinetics]\ntemperature = '-5 K'\n[operation]",
        "kinetics.temperature",
        "outside the range",
    ),
    # values are validated as values (issue 16): finite, the right dimension, a plausible size
    ('width = "80 um"', 'width = "10 parsec"', "geometry.width", "check the unit"),
    ('width = "80 um"', 'width = "inf um"', "geometry.width", "not a finite length"),
    ('width = "80 um"', 'width = "nan um"', "geometry.width", "not a finite length"),
    ('width = "80 um"', 'width = "1/0 um"', "geometry.width", "division by zero"),
    ('width = "80 um"', 'width = "80"', "geometry.width", "has no unit"),
    (
        'material = "NAS"',
        'material = "NAS"\nconductivity = "inf mS/cm"',
        "electrolytes[0].conductivity",
        "finite",
    ),
    ("[operation]", "[kinetics]\ntemperature = '3 K'\n[operation]", "kinetics.temperature", "150 to 1000 K"),
    (
        "[operation]",
        "[kinetics]\ntemperature = '25 degC'\n[kinetics.x]\n[operation]",
        "kinetics.x",
        "unknown key",
    ),
    (
        'current_density = "0.51 mA/cm2"',
        'mode = "potentiostatic"\nvoltage = "0 V"',
        "operation",
        "0 V drives no current",
    ),
    ('current_density = "0.51 mA/cm2"', 'mode = "potentiostatic"\nvoltage = "-20 mV"', "operation", "strips"),
    (
        'current_density = "0.51 mA/cm2"',
        'mode = "potentiostatic"\nvoltage = "100 V"',
        "operation.voltage",
        "outside the range",
    ),
    (
        'current_density = "0.51 mA/cm2"',
        'mode = "potentiostatic"\nvoltage = "nan V"',
        "operation.voltage",
        "finite",
    ),
    (
        'current_density = "0.51 mA/cm2"',
        'current_density = "-0.5 mA/cm2"',
        "operation.current_density",
        "greater than 0",
    ),
    ('radius = "8 um"', 'radius = [["8 um"]]', "geometry.defects[0].radius", "quantity with a unit"),
    ('thickness = "40 um"', 'thickness = "40 um"\nroughness = 3', "geometry.roughness", "valid dictionary"),
    ('name = "small"', 'name = ".."', "case.name", "results folder itself"),
    ("[operation]", "[mesh]\nsize_near = '1 um'\n[operation]", "mesh", "all three"),
    ("[operation]", "[mesh]\nelement_degree = 3\n[operation]", "mesh.element_degree", "1 or 2"),
    ("[operation]", "[solverr]\nrtol = 1e-8\n[operation]", "solverr", "did you mean 'solver'"),
]


@pytest.mark.parametrize("old, new, field, hint", BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_case_is_refused_with_field_and_hint(write_case, old, new, field, hint):
    text = SMALL_CASE.replace(old, new, 1)
    assert text != SMALL_CASE
    with pytest.raises(CaseError) as err:
        load_case(write_case(text))
    msg = str(err.value)
    assert "case.toml" in msg and field in msg and hint in msg, msg


@pytest.mark.parametrize(
    "old, new, hint",
    [
        ('radius = "8 um"', 'radius = "45 um"', "widen geometry.width"),
        ('radius = "8 um"', 'radius = "8 um"\nx = "36 um"', "beyond the window"),
        ('thickness = "40 um"', 'thickness = "9 um"', "increase geometry.thickness"),
    ],
)
def test_impossible_geometry_is_refused(write_case, old, new, hint):
    with pytest.raises(CaseError, match=hint) as err:
        load_case(write_case(SMALL_CASE.replace(old, new, 1)))
    assert "case.toml: geometry" in str(err.value)


def test_cli_refuses_bad_case_with_exit_code_2_and_writes_nothing(write_case, tmp_path):
    bad = write_case(SMALL_CASE.replace('width = "80 um"', 'width = "0.9 mS/cm"'))
    out = tmp_path / "out"
    r = run_cli("run", str(bad), "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert "geometry.width" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_cli_refuses_missing_file():
    r = run_cli("check", "no/such/case.toml")
    assert r.returncode == 2 and "cannot read the case file" in r.stderr


def test_check_command_meshes_without_solving(write_case):
    r = run_cli("check", str(write_case(SMALL_CASE)))
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout and "anode" in r.stdout


@pytest.mark.parametrize(
    "override, hint",
    [
        ("electrolytes.-1.material=NTOC", "'-1' is not an index"),
        ("electrolytes.x.material=NTOC", "'x' is not an index"),
        ("electrolytes.7.material=NTOC", "index 7 is out of range"),
        ("operation.current_density.x=1", "is a value"),
        ("geometry..width='1 um'", "empty key"),
        ("noequals", "expected key=value"),
    ],
)
def test_bad_set_is_refused_with_exit_2(write_case, override, hint):
    r = run_cli("check", str(write_case(SMALL_CASE)), "--set", override)
    assert r.returncode == 2 and hint in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_mesh_too_large_to_build_is_refused_before_meshing(write_case):
    """Issue 16: nanometre cells over a 3D rough interface would need ~1e9 cells; the estimate
    refuses them.  (The automatic sizes no longer follow the amplitude, issue 18: they are given.)"""
    text = SMALL_CASE.replace("dimension = 2", "dimension = 3").replace(
        '[[geometry.defects]]\nkind = "protrusion"\nshape = "semicircle"\nradius = "8 um"\n',
        '[geometry.roughness]\namplitude = "0.02 um"\nwavelength = "20 um"\n\n'
        '[mesh]\nsize_near = "5 nm"\nsize_interface = "5 nm"\nsize_far = "8 um"\n',
    )
    r = run_cli("check", str(write_case(text)))
    assert r.returncode == 2 and "mesh.max_cells" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_the_cell_estimate_is_within_a_factor_of_two_of_the_mesh():
    from dendrite_fem.geometry.distribute import build_mesh

    for path in ("nas_vs_nps_protrusion.toml", "nas_vs_nps_pore_3d.toml", "rough_3d.toml"):
        setup, _ = load_case(ROOT / "cases" / path)
        cells = build_mesh(setup.window, geometry_order=setup.geometry_order).num_cells
        assert 0.5 < setup.window.estimated_cells() / cells < 2.0, path


def test_the_unit_registry_cache_is_used_rebuilt_and_bypassed(tmp_path):
    """pint's parsed definitions are cached per user (start-up); the values read through the
    cache are those of a fresh registry, a damaged cache is rebuilt and an unwritable one is
    bypassed, with the same values each time."""
    import subprocess
    import sys

    probe = (
        "from dendrite_fem.units import to_si; "
        "print(to_si('0.51 mA/cm2', 'A/m^2', 'x'), to_si('10 um', 'm', 'x'), to_si('25 degC', 'K', 'x'))"
    )

    def read(cache) -> str:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def forget_parsed_quantities():  # else pint and its registry are not needed at all
        for f in (tmp_path / "dendrite-fem").glob("quantities-*.json"):
            f.unlink()

    blocked = tmp_path / "file"
    blocked.write_text("")
    expected = read(blocked)  # a cache folder that cannot exist: a fresh registry
    assert expected.split()[0] == "5.1" and expected.split()[2] == "298.15"
    assert read(tmp_path) == expected  # builds the cache
    folder = next((tmp_path / "dendrite-fem").glob("pint-*"))
    pickles = list(folder.glob("*.pickle"))
    assert pickles
    forget_parsed_quantities()
    assert read(tmp_path) == expected  # reads it
    for p in pickles:
        p.write_bytes(b"damaged")
    forget_parsed_quantities()
    assert read(tmp_path) == expected  # bypassed and removed
    forget_parsed_quantities()
    assert read(tmp_path) == expected and list(folder.glob("*.pickle"))  # built again


def test_parsed_quantities_are_kept_and_read_back_without_pint(tmp_path):
    """What pint made of a text is kept in the user's cache, so that a later run reads its
    case without importing pint: the same numbers, the same range checks and refusals, a
    damaged file ignored and rewritten."""
    import subprocess
    import sys

    values = "print(to_si('0.51 mA/cm2', 'A/m^2', 'x'), to_si('10 um', 'm', 'x'), to_si('25 degC', 'K', 'x'))"
    refusals = (
        "for text, unit in (('10 um', 'S/m'), ('10 parsec', 'm')):\n"
        "    try:\n"
        "        to_si(text, unit, 'x')\n"
        "    except ValueError:\n"
        "        print('refused', text, unit)\n"
    )

    def read(*parts: str) -> list[str]:
        code = "\n".join(
            ["import sys", "from dendrite_fem.units import to_si", *parts, "print('pint' in sys.modules)"]
        )
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()

    first = read(values, refusals)
    assert [float(v) for v in first[0].split()] == pytest.approx([5.1, 1e-5, 298.15], rel=1e-12)
    assert first[1:] == ["refused 10 um S/m", "refused 10 parsec m", "True"]
    (kept,) = (tmp_path / "dendrite-fem").glob("quantities-*.json")
    assert json.loads(kept.read_text())["m|10 um"] == float(first[0].split()[1])  # pint's bits, kept
    assert read(values) == [first[0], "False"]  # read back, pint not imported
    # '10 parsec' is kept (it parses) and still refused by the range check; '10 um' as a
    # conductivity is not kept, pint refuses it again
    assert read(values, refusals) == first
    kept.write_text("{damaged")
    assert read(values) == [first[0], "True"]  # ignored: pint again
    assert read(values) == [first[0], "False"]  # and rewritten
