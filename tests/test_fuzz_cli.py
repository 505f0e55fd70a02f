"""A property-based fuzzer over the case schema, ``--set`` and the command line (issue 16).

Random edits of a valid case (values of every kind: quantities in right, wrong and non-SI
units, NaN, ±inf, huge and negative numbers, booleans, lists, tables, unicode; on known fields,
on list indices and on keys that do not exist) are given to the real command line in this
process.  Every outcome must be classified: exit 0, or 2 with an ``error:`` line, never a
traceback or an "unexpected error".  ``check`` validates and meshes; a few ``run``s also solve
(then exit 3 is allowed, and a result exists exactly when the exit is 0).

The budget is bounded for CI (``FUZZ_EXAMPLES``, default 150 checks, 15 runs and 150 option sets, about 15 s); run it longer
with ``FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_cli.py``.
"""

import json
import math
import os

import pytest
from conftest import COARSE_MESH, SMALL_CASE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dendrite_fem.app.cli import main

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

FIELDS = [
    "case.name",
    "case.description",
    "geometry.dimension",
    "geometry.width",
    "geometry.thickness",
    "geometry.depth",
    "geometry.defects.0.kind",
    "geometry.defects.0.shape",
    "geometry.defects.0.radius",
    "geometry.defects.0.height",
    "geometry.defects.0.x",
    "geometry.defects.0.y",
    "geometry.defects.1",
    "geometry.roughness.amplitude",
    "geometry.random_defects.count",
    "geometry.random_defects.seed",
    "mesh.size_near",
    "mesh.element_degree",
    "mesh.geometry_order",
    "mesh.max_cells",
    "kinetics.exchange_current_density",
    "kinetics.alpha_a",
    "kinetics.temperature",
    "kinetics.pressure",
    "operation.mode",
    "operation.current_density",
    "operation.voltage",
    "electrolytes.0.material",
    "electrolytes.0.conductivity",
    "electrolytes.1.name",
    "electrolytes.1.interlayer",
    "electrolytes.2",
    "electrolytes.-1.material",
    "electrolytes.x.material",
    "interlayer.thickness",
    "interlayer.representation",
    "mechanics.stack_pressure",
    "solver.rtol",
    "solver.max_iterations",
    "solver.linear_solver",
    "output.fields",
    "growth.target_growth",
    "nonsense.key",
    "geometry.widht",
]
UNITS = ["um", "nm", "m", "mm", "mS/cm", "S/m", "mA/cm2", "A/m^2", "K", "degC", "MPa", "mV", "V",
         "deg", "s", "h", "parsec", "", "%", "m/s", "1/um", "kg"]  # fmt: skip

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 1e-300, 1e300, 0.5, 2]),
)


def _toml(value) -> str:
    """A TOML literal for ``--set`` (its values are read as TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


quantities = st.builds(lambda x, u: f"{x:g} {u}".strip(), numbers, st.sampled_from(UNITS))
leaves = st.one_of(quantities, numbers, st.booleans(), st.text(max_size=12))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["kind", "radius", "a"]), inner, max_size=2),
    ),
    max_leaves=4,
)
# near-valid edits: the right kind of value, of any size, so that the fuzzer also reaches the
# resolver, the geometry checks, the mesh estimate and the mesher
sizes = st.floats(min_value=1e-4, max_value=1e4)
PLAUSIBLE = {
    "geometry.width": sizes.map(lambda x: f"{x:g} um"),
    "geometry.thickness": sizes.map(lambda x: f"{x:g} um"),
    "geometry.dimension": st.sampled_from([2, 3]),
    "geometry.defects.0.radius": sizes.map(lambda x: f"{x:g} um"),
    "geometry.defects.0.x": st.floats(-100, 100).map(lambda x: f"{x:g} um"),
    "geometry.defects.0.shape": st.sampled_from(["round", "ellipse", "cone", "flat", "gap", "notch"]),
    "geometry.defects.0.kind": st.sampled_from(["pore", "protrusion"]),
    "kinetics.temperature": st.floats(100, 1200).map(lambda x: f"{x:g} K"),
    "kinetics.exchange_current_density": sizes.map(lambda x: f"{x:g} mA/cm2"),
    "operation.current_density": sizes.map(lambda x: f"{x:g} mA/cm2"),
    "electrolytes.0.conductivity": sizes.map(lambda x: f"{x:g} mS/cm"),
    "electrolytes.0.material": st.sampled_from(["NAS", "NPS", "NTOC", "NZSP", "beta-alumina", "Na3SbS4"]),
    "mesh.size_near": sizes.map(lambda x: f"{x:g} um"),
    "mesh.element_degree": st.sampled_from([1, 2]),
}
plausible = st.sampled_from(sorted(PLAUSIBLE)).flatmap(
    lambda k: PLAUSIBLE[k].map(lambda v: f"{k}={_toml(v)}")
)
raw = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=15)  # not TOML at all
overrides = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}={_toml(v)}", st.sampled_from(FIELDS), values),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(FIELDS), raw),
        plausible,
        plausible,
    ),
    min_size=1,
    max_size=3,
)


def _classified(code: int, err: str, allowed: tuple[int, ...]) -> None:
    event(f"exit {code}")
    assert code in allowed, (code, err)
    assert "Traceback" not in err and "unexpected error" not in err, err
    if code == 2:
        assert "error:" in err, err


@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "case.toml"
    path.write_text(SMALL_CASE + COARSE_MESH)
    return path


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(sets=overrides)
def test_check_classifies_every_edit_of_a_case(small_case, sets, capsys):
    argv = ["check", str(small_case)]
    for text in sets:
        argv += ["--set", text]
    code = main(argv)
    _classified(code, capsys.readouterr().err, (0, 2))


@settings(max_examples=max(1, EXAMPLES // 10), deadline=None, suppress_health_check=list(HealthCheck))
@given(sets=overrides)
def test_run_classifies_every_edit_and_writes_a_result_only_on_success(
    small_case, sets, capsys, tmp_path_factory
):
    out = tmp_path_factory.mktemp("run") / "res"
    argv = ["run", str(small_case), "--out", str(out), "--quiet", "--set", "output.figures=false"]
    for text in sets:
        argv += ["--set", text]
    code = main(argv)
    _classified(code, capsys.readouterr().err, (0, 2, 3))
    assert (out / "summary.json").exists() == (code == 0)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    command=st.sampled_from(["sweep", "report", "phase-field", "grow", "check"]),
    options=st.lists(
        st.tuples(
            st.sampled_from(
                ["--jobs", "--np", "--dx", "--seed", "--t-end", "--potential", "--out", "--status"]
            ),
            st.one_of(numbers.map(str), raw),
        ),
        max_size=2,
    ),
)
def test_command_line_options_are_classified(command, options, capsys, tmp_path_factory):
    """Options of the wrong type or range for each command: argparse's usage error (exit 2) or
    the command's own refusal, never a traceback.  Nothing here may start a long computation:
    every draw gives at least one invalid option or a missing input."""
    # a drawn --out is a relative path: whatever a command writes lands in a scratch folder
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    argv = [command]
    for flag, value in options:
        argv += [flag, value]
    argv += ["--t-end", "nan"] if command == "phase-field" else []  # never a real study
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: a usage error
        code = exc.code
    finally:
        os.chdir(here)
    _classified(code, capsys.readouterr().err, (0, 1, 2))
