"""Property tests over the case schema (hypothesis): a random valid-looking case either
solves with charge balance or is refused with a clean error; a random corruption of a
valid case is always refused by validation."""

import copy
import math
import tomllib

import pytest
from conftest import SMALL_CASE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.load import format_validation_error
from dendrite_fem.config.resolve import resolve
from dendrite_fem.config.schema import Case
from dendrite_fem.geometry.spec import GeometryError
from dendrite_fem.numerics.solver import ConvergenceError
from dendrite_fem.physics.materials import MaterialError

SHAPES = {
    "protrusion": {
        "semicircle": ["radius"],
        "ellipse": ["radius", "height"],
        "notch": ["height", "half_angle", "tip_radius"],
    },
    "pore": {"semicircle": ["radius"], "flat": ["radius", "thickness"]},
}


def um(x: float) -> str:
    return f"{x:.4g} um"


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(sorted(SHAPES)))
    shape = draw(st.sampled_from(sorted(SHAPES[kind])))
    defect = {"kind": kind, "shape": shape, "x": um(draw(st.floats(-30, 30)))}
    for f in SHAPES[kind][shape]:
        if f == "half_angle":
            defect[f] = f"{draw(st.floats(5, 40)):.3g} deg"
        else:
            defect[f] = um(draw(st.floats(0.3, 25)))
    sigma = draw(st.floats(0.01, 10))  # mS/cm
    return {
        "case": {"name": "fuzz"},
        "geometry": {
            "dimension": 2,
            "width": um(draw(st.floats(40, 160))),
            "thickness": um(draw(st.floats(20, 80))),
            "defects": [defect],
        },
        "kinetics": {
            "alpha_a": draw(st.floats(0.2, 0.8)),
            "alpha_c": draw(st.floats(0.2, 0.8)),
            "exchange_current_density": f"{draw(st.floats(0.1, 10)):.3g} mA/cm2",
        },
        "operation": {"current_density": f"{draw(st.floats(0.05, 5)):.3g} mA/cm2"},
        "electrolytes": [{"name": "X", "conductivity": f"{sigma:.4g} mS/cm"}],
        "mesh": {"element_degree": 1},
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_valid_looking_cases_solve_with_balance_or_fail_cleanly(data):

    try:
        case = resolve(Case.model_validate(data))
        (record,) = case.electrolytes
        solution = case.model().solve(record)
    except (ValidationError, CaseError, GeometryError, MaterialError, ConvergenceError) as exc:
        assert str(exc)  # a clean, explained refusal
        event(f"refused: {type(exc).__name__}")
        return
    event("solved")
    m = solution.metrics.to_dict()
    assert m["charge_balance_error"] < 1e-8
    assert all(math.isfinite(v) for v in m.values() if isinstance(v, float))
    assert m["min_plating_current_density"] > 0


def _corruptions():
    return st.sampled_from(
        [
            ("geometry", "width", "0.9 mS/cm"),
            ("geometry", "width", "80"),
            ("geometry", "width", 80),
            ("geometry", "thickness", "-40 um"),
            ("geometry", "thickness", "forty um"),
            ("geometry", "widht", "80 um"),
            ("kinetics", "alpha_a", 1.5),
            ("kinetics", "alpha_c", 0.0),
            ("kinetics", "temperature", "-3 K"),
            ("kinetics", "exchange_current_density", "1.3 mA"),
            ("kinetics", "pressure", "-1 MPa"),
            ("operation", "current_density", "0 mA/cm2"),
            ("operation", "mode", "galvanic"),
            ("operation", "voltage", "10 mV"),
            ("mesh", "element_degree", 4),
            ("mesh", "size_near", "1 um"),
            ("solver", "rtol", 0.5),
            ("solver", "linear_solver", "hypre"),
            ("case", "name", "two words"),
            ("output", "fields", "yes please"),
            (None, "geometryy", {}),
            ("geometry", "dimension", 4),
        ]
    )


@settings(max_examples=60, deadline=None)
@given(_corruptions(), st.sampled_from(["NAS", "NPS", "NTOC"]))
def test_corrupted_cases_are_always_refused(corruption, material):
    data = tomllib.loads(SMALL_CASE)
    data["electrolytes"] = [{"material": material}]
    bad = copy.deepcopy(data)
    section, key, value = corruption
    (bad if section is None else bad.setdefault(section, {}))[key] = value
    with pytest.raises(ValidationError) as err:
        Case.model_validate(bad)
    message = format_validation_error("case.toml", err.value)
    assert key in message, message  # the message names the offending field
