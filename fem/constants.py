"""Physical constants in SI units (CODATA 2018 exact values where defined)."""

FARADAY = 96485.33212  #: F [C/mol]
GAS_CONSTANT = 8.314462618  #: R [J/(mol K)]
BOLTZMANN_EV = 8.617333262e-5  #: k_B [eV/K]
NA_MOLAR_VOLUME = 23.78e-6  #: V_Na [m³/mol], sodium metal (docs/model.md §2)
ROOM_TEMPERATURE = 298.15  #: [K]


def thermal_voltage(temperature: float) -> float:
    """RT/F [V]."""
    return GAS_CONSTANT * temperature / FARADAY
