"""Butler–Volmer law, its inverse, R_ct and the materials library against hand values."""

import math

import numpy as np
import pytest

from dendrite_fem.constants import FARADAY, GAS_CONSTANT
from dendrite_fem.physics.kinetics import (
    Kinetics,
    charge_transfer_resistance,
    overpotential_for_current,
    wagner_length,
)
from dendrite_fem.physics.materials import LIBRARY, MaterialError, get_electrolyte

K_TABLE1 = Kinetics(13.0)  # 1.3 mA/cm², seed 003


def test_butler_volmer_sign_and_value():
    f = FARADAY / (GAS_CONSTANT * 298.15)
    eta = -0.01
    expected = 13.0 * (math.exp(0.5 * f * eta) - math.exp(-0.5 * f * eta))
    assert K_TABLE1.current(eta) == pytest.approx(expected, rel=1e-14)
    assert K_TABLE1.current(eta) < 0  # plating: η < 0, i_ct < 0
    assert K_TABLE1.current(0.0) == 0.0


@pytest.mark.parametrize("alpha_a, alpha_c", [(0.5, 0.5), (0.3, 0.7), (0.8, 0.4)])
@pytest.mark.parametrize("i_ct", [-51.0, -5.1, 0.3, 40.0])
def test_inverse_butler_volmer_round_trip(alpha_a, alpha_c, i_ct):
    k = Kinetics(13.0, alpha_a, alpha_c)
    eta = overpotential_for_current(i_ct, k)
    assert k.current(eta) == pytest.approx(i_ct, rel=1e-10)


def test_pressure_factor_raises_exchange_current():
    k = Kinetics(13.0, pressure=250e6)
    # exp((1 - αa) V_Na ΔP / RT) with V_Na = 23.78 cm³/mol
    expected = math.exp(0.5 * 23.78e-6 * 250e6 / (8.314462618 * 298.15))
    assert k.effective_exchange_current / 13.0 == pytest.approx(expected, rel=1e-12)


def test_wagner_lengths_match_physics_page():
    # physics.md §2: ℓ_W ≈ 180 µm for NAS and ≈ 20 µm for NPS with the seed numbers
    r_ct = charge_transfer_resistance(K_TABLE1)
    assert r_ct == pytest.approx(8.314462618 * 298.15 / (FARADAY * 13.0), rel=1e-12)
    assert wagner_length(0.09, K_TABLE1) == pytest.approx(178e-6, rel=0.01)
    assert wagner_length(0.01, K_TABLE1) == pytest.approx(19.8e-6, rel=0.01)


def test_library_values_and_sources():
    assert get_electrolyte("NAS").conductivity(298.15) == pytest.approx(0.09)
    assert get_electrolyte("na3ps4").conductivity(298.15) == pytest.approx(0.01)
    assert get_electrolyte("NTOC").conductivity_ref == pytest.approx(0.462)
    for e in LIBRARY.values():
        assert e.source, e.name
    assert {"NAS", "NPS", "NTOC", "hydroborate", "NZSP", "beta-alumina"} <= set(LIBRARY)


def test_arrhenius_reproduces_seed_value_at_60C():
    # seed 002 quotes 1.2 mS/cm at 60 °C for Na3Zr2Si2PO12; E_a was derived from it
    assert get_electrolyte("NASICON").conductivity(333.15) == pytest.approx(0.12, rel=1e-10)
    ntoc = get_electrolyte("NTOC")
    t = 350.0
    hand = 0.462 * (298.15 / t) * np.exp(-0.30 / 8.617333262e-5 * (1 / t - 1 / 298.15))
    assert ntoc.conductivity(t) == pytest.approx(hand, rel=1e-12)
    assert ntoc.conductivity(t) > ntoc.conductivity(298.15)


def test_unknown_material_and_missing_activation_energy():
    with pytest.raises(MaterialError, match="did you mean 'NAS'"):
        get_electrolyte("NAZ")
    with pytest.raises(MaterialError, match="no activation energy"):
        get_electrolyte("NAS").conductivity(330.0)
