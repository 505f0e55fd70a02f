"""Solid electrolytes from the seed papers, with their sources.

Every value states where it comes from.  ``seed 00N`` refers to the four papers the project
comes from, cited with authors, journal, year and DOI in ``docs/materials.md`` (seed 003:
Yuan et al., Energy Environ. Sci. 18, 4288 (2025), doi:10.1039/d4ee06171c); values marked
*assumed* are not in the seeds and are labelled as such.

Temperature dependence (where an activation energy E_a is known) follows the
Arrhenius law of an ionic conductor, σ T = A exp(−E_a / k_B T), i.e.

    σ(T) = σ_ref · (T_ref / T) · exp(−E_a / k_B · (1/T − 1/T_ref))      [S/m]
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from typing import Literal

from dendrite_fem.constants import BOLTZMANN_EV, ROOM_TEMPERATURE
from dendrite_fem.units import si

MS_PER_CM = 0.1  #: 1 mS/cm in S/m


class MaterialError(ValueError):
    """Unknown material, or a temperature the data cannot reach."""


@dataclass(frozen=True)
class Electrolyte:
    """A solid Na⁺ electrolyte as a model uses it: σ(T) from σ_ref [S/m] at T_ref [K] and an
    optional E_a [eV], its source, and what a case may add to it: a ``label`` (the name results
    are filed under; default ``name``), an ``interlayer`` (:class:`Layer`) and elastic constants
    (``mechanical``, for the stress-coupled solve).  :func:`electrolyte` builds one from the
    library or from a given conductivity."""

    name: str
    formula: str
    conductivity_ref: float
    temperature_ref: float
    source: str
    activation_energy: float | None = None
    notes: tuple[str, ...] = field(default=())
    label: str | None = None
    interlayer: Layer | None = None
    mechanical: MechanicalProperties | None = None

    @property
    def key(self) -> str:
        """The name its results are filed under."""
        return self.label or self.name

    def conductivity(self, temperature: float) -> float:
        """σ(T) [S/m] by the Arrhenius law above; at T_ref without E_a."""
        if self.activation_energy is None:
            if abs(temperature - self.temperature_ref) > 0.5:
                raise MaterialError(
                    f"material {self.name!r} has no activation energy in the library, so its "
                    f"conductivity is known only at {self.temperature_ref:.2f} K (asked at "
                    f"{temperature:.2f} K); give its conductivity at that temperature"
                )
            return self.conductivity_ref
        ea_over_k = self.activation_energy / BOLTZMANN_EV
        return (
            self.conductivity_ref
            * (self.temperature_ref / temperature)
            * math.exp(-ea_over_k * (1.0 / temperature - 1.0 / self.temperature_ref))
        )


def _nzsp_activation_energy() -> float:
    """E_a of Na3Zr2Si2PO12 from the two near-room values of seed 002 (0.67 mS/cm at
    25 °C, 1.2 mS/cm at 60 °C) in the σT Arrhenius form: a derived number."""
    t1, t2 = 298.15, 333.15
    return BOLTZMANN_EV * math.log(1.2 * t2 / (0.67 * t1)) / (1 / t1 - 1 / t2)


LIBRARY: dict[str, Electrolyte] = {
    e.name: e
    for e in (
        Electrolyte(
            "NAS",
            "Na3SbS4",
            0.9 * MS_PER_CM,
            ROOM_TEMPERATURE,
            "seed 003 (Na3SbS4 vs Na3PS4), Table 1",
            notes=(
                "G/B = 0.19 (ductile), seed 003",
                "electrochemical window 1.83-1.9 V, seed 003",
                "forms a passivating Na2S/Na3Sb interlayer against Na, seed 003",
                "T_ref: room temperature assumed 25 C",
            ),
        ),
        Electrolyte(
            "NPS",
            "Na3PS4",
            0.1 * MS_PER_CM,
            ROOM_TEMPERATURE,
            "seed 003 (Na3SbS4 vs Na3PS4), Table 1",
            notes=(
                "G/B = 0.458, seed 003",
                "electrochemical window 1.39-2.45 V, seed 003",
                "forms a mixed-conducting interphase against Na, seed 003",
                "T_ref: room temperature assumed 25 C",
            ),
        ),
        Electrolyte(
            "NTOC",
            "0.5Na2O2-TaCl5 (glass)",
            4.62 * MS_PER_CM,
            298.15,
            "seed 000 (oxychloride superionic glass), 25 C",
            activation_energy=0.30,
            notes=("electronic conductivity < 1e-10 S/cm, seed 000",),
        ),
        Electrolyte(
            "hydroborate",
            "Na4(CB11H12)2(B12H12)",
            1.2 * MS_PER_CM,
            ROOM_TEMPERATURE,
            "seed 001 (4 V hydroborate cell), R0 ~ 50 ohm cm2",
            notes=(
                "Na/SE interfacial resistance 30-50 ohm cm2 per interface, seed 001",
                "T_ref: room temperature assumed 25 C",
            ),
        ),
        Electrolyte(
            "NZSP",
            "Na3Zr2Si2PO12 (NASICON)",
            0.67 * MS_PER_CM,
            298.15,
            "seed 002 (review), 0.67 mS/cm at 25 C; E_a derived from its 60 C value",
            activation_energy=_nzsp_activation_energy(),
            notes=("1.2 mS/cm at 60 C and 0.2 S/cm at 300 C, seed 002",),
        ),
        Electrolyte(
            "beta-alumina",
            "Na-beta''-Al2O3",
            2.0 * MS_PER_CM,
            298.15,
            "ASSUMED: typical polycrystalline value at 25 C from the literature (not given in the seeds)",
            notes=("interface < 10 ohm cm2 and CCD up to 12 mA/cm2 after heat treatment, seed 002",),
        ),
    )
}

ALIASES = {
    "na3sbs4": "NAS",
    "na3ps4": "NPS",
    "nasicon": "NZSP",
    "na3zr2si2po12": "NZSP",
    "beta''-alumina": "beta-alumina",
    "na4(cb11h12)2(b12h12)": "hydroborate",
}


def get_electrolyte(name: str) -> Electrolyte:
    """Look up an electrolyte by name or formula (case-insensitive)."""
    by_lower = {k.lower(): k for k in LIBRARY} | ALIASES
    key = by_lower.get(name.strip().lower())
    if key is None:
        hint = difflib.get_close_matches(name, list(LIBRARY) + list(ALIASES), n=1)
        did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
        raise MaterialError(
            f"unknown material {name!r}{did_you_mean} Known: {', '.join(LIBRARY)} "
            "(or give 'conductivity' directly)"
        )
    return LIBRARY[key]


@dataclass(frozen=True)
class Interlayer:
    """A layer that the electrolyte forms against Na: ionic conductivity σ [S/m]
    and the thickness it is usually given [m] (its area resistance is t / σ).  A
    mixed-conducting interphase also has an electronic conductivity σ_e [S/m] and a reacting
    area per volume a_v [1/m] (dendrite_fem.physics.mixed_conduction); 0 for an ionic-only layer."""

    name: str
    composition: str
    conductivity: float
    typical_thickness: float
    source: str
    notes: tuple[str, ...] = field(default=())
    electronic_conductivity: float = 0.0
    specific_area: float = 0.0

    def area_resistance(self, thickness: float | None = None) -> float:
        """R_f = t / σ [Ω m²]."""
        return (self.typical_thickness if thickness is None else thickness) / self.conductivity


#: Interlayers.  Seed 003 identifies the phases (XAS, EDS) and shows the impedance of the NAS
#: cell rising while the layer forms (Fig. 4e) but gives no conductivity or thickness in its
#: text: the numbers below are ASSUMED, chosen for the right order of magnitude, and labelled so.
INTERLAYERS: dict[str, Interlayer] = {
    il.name: il
    for il in (
        Interlayer(
            "NAS-passivation",
            "amorphous Na2S + Na3Sb (+ Na-Sn), formed in situ from Na3SbS4 against Na-Sn",
            0.01 * MS_PER_CM,
            1e-6,
            "phases: seed 003 (Sb K-edge EXAFS Na3Sb, S K-edge XANES Na2S, Fig. 4a-b); "
            "sigma = 0.01 mS/cm and t = 1 um ASSUMED (R_f = 10 ohm cm2, the order of the "
            "impedance growth of seed 003 Fig. 4e, not read off the figure)",
            notes=("electronic insulator (Na2S) that passivates, seed 003",),
        ),
        Interlayer(
            "NPS-interphase",
            "Na2S + Na3P mixed-conducting interphase from Na3PS4 against Na",
            0.05 * MS_PER_CM,
            1e-6,
            "phases: seed 003 (MCI from NPS decomposition, refs 15, 16, 51 there); "
            "sigma = 0.05 mS/cm and t = 1 um ASSUMED",
            notes=("ionic part only; NPS-MCI is the same phase with its electronic conductivity",),
        ),
        Interlayer(
            "NPS-MCI",
            "Na2S + Na3P mixed-conducting interphase from Na3PS4 against Na, with electronic conduction",
            0.05 * MS_PER_CM,
            1e-6,
            "phases and mixed conduction: seed 003 (refs 15, 16, 51 there); sigma = 0.05 mS/cm, "
            "sigma_e = 0.01 mS/cm, a_v = 1/um and t = 1 um ASSUMED (Na3P conducts electrons, Na2S "
            "does not: the mixture's sigma_e is taken below its ionic sigma; a_v of a sub-um grained mixture)",
            notes=("plating happens partly inside the layer (dendrite_fem.physics.mixed_conduction)",),
            electronic_conductivity=0.01 * MS_PER_CM,
            specific_area=1e6,
        ),
    )
}


@dataclass(frozen=True)
class Layer:
    """An interlayer on the anode as a case applies it: ionic conductivity σ [S/m], thickness t
    [m], meshed as a band or lumped into a thin-film resistance R_f = t/σ [Ω m²]; a mixed
    conductor also has σ_e [S/m] and a_v [1/m] (0 for an ionic layer).  Numbers in SI or as
    unit strings."""

    material: str
    conductivity: float
    thickness: float
    representation: Literal["meshed", "resistance"] = "meshed"
    source: str = "given"
    electronic_conductivity: float = 0.0
    specific_area: float = 0.0

    def __post_init__(self):
        for name, unit, example in (
            ("conductivity", "S/m", "0.05 mS/cm"),
            ("thickness", "m", "1 um"),
            ("electronic_conductivity", "S/m", "0.01 mS/cm"),
            ("specific_area", "1/m", "1 /um"),
        ):
            object.__setattr__(self, name, si(getattr(self, name), unit, example))
        if self.representation not in ("meshed", "resistance"):
            raise MaterialError(
                f"interlayer representation {self.representation!r}: 'meshed' or 'resistance'"
            )

    @classmethod
    def from_library(cls, name: str, thickness, representation: str = "meshed") -> Layer:
        """An interlayer of :data:`INTERLAYERS` at ``thickness``."""
        lib = get_interlayer(name)
        return cls(
            lib.name,
            lib.conductivity,
            thickness,
            representation,
            lib.source,  # type: ignore[arg-type]
            lib.electronic_conductivity,
            lib.specific_area,
        )

    @property
    def area_resistance(self) -> float:
        """R_f = t / σ [Ω m²]."""
        return self.thickness / self.conductivity

    @property
    def mixed(self) -> bool:
        """A mixed (ionic and electronic) conductor: plating also happens inside it."""
        return self.electronic_conductivity > 0

    def record(self) -> dict:
        """The layer as summary.json gives it."""
        return {
            "material": self.material,
            "conductivity": self.conductivity,
            "thickness": self.thickness,
            "representation": self.representation,
            "area_resistance": self.area_resistance,
            "source": self.source,
            "electronic_conductivity": self.electronic_conductivity,
            "specific_area": self.specific_area,
        }


def electrolyte(
    material: str | None = None,
    *,
    name: str | None = None,
    conductivity=None,
    temperature=ROOM_TEMPERATURE,
    interlayer: Layer | None = None,
    mechanical: MechanicalProperties | None = None,
    source: str = "given",
) -> Electrolyte:
    """An :class:`Electrolyte` from the library (``material``, e.g. "NAS") or from a given
    ``conductivity`` (S/m or e.g. "0.9 mS/cm", valid at ``temperature``), filed under ``name``
    (default: the material's name), with an optional interlayer and elastic constants;
    ``source`` says where a given conductivity comes from."""
    if conductivity is not None:
        label = name or material
        if not label:
            raise MaterialError("an electrolyte given by its conductivity needs a name")
        base = Electrolyte(
            label,
            "",
            si(conductivity, "S/m", "0.9 mS/cm"),
            si(temperature, "K", "298.15 K"),
            source,
        )
    elif material is not None:
        base = get_electrolyte(material)
    else:
        raise MaterialError("give an electrolyte's material (e.g. 'NAS') or its conductivity")
    return replace(base, label=name, interlayer=interlayer, mechanical=mechanical)


def get_interlayer(name: str) -> Interlayer:
    """An interlayer of :data:`INTERLAYERS` by name (case-insensitive)."""
    by_lower = {k.lower(): k for k in INTERLAYERS}
    key = by_lower.get(name.lower())
    if key is None:
        hint = difflib.get_close_matches(name, list(INTERLAYERS), n=1)
        did_you_mean = f"; did you mean {hint[0]!r}?" if hint else "."
        raise MaterialError(f"unknown interlayer {name!r}{did_you_mean} Known: {', '.join(INTERLAYERS)}")
    return INTERLAYERS[key]


# --- mechanical properties (issue 6: stress-coupled kinetics) ------------------------


def poisson_ratio_from_pugh(g_over_b: float) -> float:
    """ν of an isotropic solid from its Pugh ratio G/B: ν = (3 − 2 G/B) / (2 (3 + G/B))."""
    return (3.0 - 2.0 * g_over_b) / (2.0 * (3.0 + g_over_b))


@dataclass(frozen=True)
class MechanicalProperties:
    """Isotropic elastic constants E [Pa], ν [-] and mode-I fracture toughness K_Ic
    [Pa √m] (None: not known), each with its source."""

    name: str
    youngs_modulus: float
    poisson_ratio: float
    fracture_toughness: float | None
    source: str

    @property
    def bulk_modulus(self) -> float:
        """B = E / (3 (1 − 2ν)) [Pa]."""
        return self.youngs_modulus / (3.0 * (1.0 - 2.0 * self.poisson_ratio))


def _from_bulk_shear(name: str, bulk: float, shear: float, source: str) -> MechanicalProperties:
    """E = 9BG / (3B + G), ν = (3B − 2G) / (2 (3B + G))."""
    e = 9.0 * bulk * shear / (3.0 * bulk + shear)
    nu = (3.0 * bulk - 2.0 * shear) / (2.0 * (3.0 * bulk + shear))
    return MechanicalProperties(name, e, nu, None, source)


GPA = 1e9
MPA_SQRT_M = 1e6  #: 1 MPa √m in Pa √m

#: Elastic constants.  Na metal: cited.  NAS and NPS: ν follows from the Pugh ratios G/B that
#: seed 003 quotes (from the Materials Project elastic data set, its ref. 37: de Jong et al.,
#: Sci. Data 2, 150009 (2015)); Young's moduli and toughnesses of these two sulfides are not in
#: the seeds nor in the sources this project could reach, so they are ASSUMED, typical of
#: sulfide Na/Li conductors, and labelled so.  A case file can override every number.
MECHANICAL: dict[str, MechanicalProperties] = {
    m.name: m
    for m in (
        _from_bulk_shear(
            "Na",
            6.3 * GPA,
            3.3 * GPA,
            "Na metal: bulk modulus 6.3 GPa and shear modulus 3.3 GPa (CRC Handbook of Chemistry "
            "and Physics / WebElements, as tabulated in 'Elastic properties of the elements'); "
            "E and nu derived from them",
        ),
        MechanicalProperties(
            "NAS",
            20.0 * GPA,
            poisson_ratio_from_pugh(0.19),
            0.2 * MPA_SQRT_M,
            "nu = 0.411 from G/B = 0.19 (seed 003, citing de Jong et al. 2015); E = 20 GPa and "
            "K_Ic = 0.2 MPa m^0.5 ASSUMED (order of sulfide electrolytes; not in the sources)",
        ),
        MechanicalProperties(
            "NPS",
            20.0 * GPA,
            poisson_ratio_from_pugh(0.458),
            0.2 * MPA_SQRT_M,
            "nu = 0.301 from G/B = 0.458 (seed 003, citing de Jong et al. 2015); E = 20 GPa and "
            "K_Ic = 0.2 MPa m^0.5 ASSUMED (order of sulfide electrolytes; not in the sources)",
        ),
    )
}


def get_mechanical(name: str) -> MechanicalProperties:
    """The mechanical properties of a library material (electrolyte name or alias, or "Na")."""
    by_lower = {k.lower(): k for k in MECHANICAL} | {a: t for a, t in ALIASES.items() if t in MECHANICAL}
    key = by_lower.get(name.strip().lower())
    if key is None:
        raise MaterialError(
            f"the library has no elastic constants for {name!r} (it has {', '.join(MECHANICAL)}); "
            "give its youngs_modulus and poisson_ratio"
        )
    return MECHANICAL[key]
