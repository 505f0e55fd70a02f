"""Case files: TOML with units, validated on load into SI domain objects.

A case describes one mesh (the geometry), the kinetics and operating point,
and one or more electrolytes solved on that same mesh.  Every dimensional
field carries its unit ("10 um", "0.9 mS/cm", "0.51 mA/cm2"); a typo, an unknown
key, a wrong unit or an impossible value is refused with a message that names
the file, the field and the fix.  See ``docs/case-files.md`` for every field.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dendrite_fem.geometry.spec import (
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    Gap,
    MeshSizes,
    RandomDefects,
    Roughness,
    Round,
    Window,
)
from dendrite_fem.numerics.solver import SolverOptions
from dendrite_fem.physics.electromechanics import MechanicalLoad
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import (
    Electrolyte,
    Layer,
    MaterialError,
    MechanicalProperties,
    electrolyte,
    get_electrolyte,
    get_interlayer,
    get_mechanical,
)
from dendrite_fem.physics.operation import Galvanostatic, Operation, Potentiostatic
from dendrite_fem.units import to_si


class CaseError(ValueError):
    """A case file that cannot be run; the message names the file, field and fix."""


def _quantity(unit: str, example: str):
    return BeforeValidator(lambda v: to_si(v, unit, example))


Length = Annotated[float, _quantity("m", "10 um"), Field(gt=0)]
Coordinate = Annotated[float, _quantity("m", "0 um")]
Conductivity = Annotated[float, _quantity("S/m", "0.9 mS/cm"), Field(gt=0)]
CurrentDensity = Annotated[float, _quantity("A/m^2", "0.51 mA/cm2"), Field(gt=0)]
Temperature = Annotated[float, _quantity("K", "298.15 K"), Field(gt=0)]
Pressure = Annotated[float, _quantity("Pa", "20 MPa"), Field(ge=0)]
Voltage = Annotated[float, _quantity("V", "20 mV")]
Angle = Annotated[float, _quantity("rad", "15 deg"), Field(gt=0, lt=math.pi / 2)]
Modulus = Annotated[float, _quantity("Pa", "20 GPa"), Field(gt=0)]
Toughness = Annotated[float, _quantity("Pa*m^0.5", "0.2 MPa*m^0.5"), Field(gt=0)]
Duration = Annotated[float, _quantity("s", "60 s"), Field(ge=0)]
TransferCoefficient = Annotated[float, Field(gt=0, lt=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseInfo(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""


_SHAPES = {
    "round": "round",
    "semicircle": "round",
    "hemisphere": "round",
    "ellipse": "ellipse",
    "cone": "cone",
    "notch": "cone",
    "flat": "flat",
    "gap": "gap",
}
_SHAPE_FIELDS = {
    "round": {"radius"},
    "ellipse": {"radius", "height"},
    "cone": {"height", "half_angle", "tip_radius"},
    "flat": {"radius", "thickness"},
    "gap": {"radius"},
}


class DefectInput(Strict):
    kind: Literal["protrusion", "pore"]
    shape: Literal["round", "semicircle", "hemisphere", "ellipse", "cone", "notch", "flat", "gap"]
    radius: Length | None = None
    height: Length | None = None
    thickness: Length | None = None
    tip_radius: Length | None = None
    half_angle: Angle | None = None
    x: Coordinate = 0.0
    y: Coordinate = 0.0

    @model_validator(mode="after")
    def _fields_match_shape(self):
        shape = _SHAPES[self.shape]
        need = _SHAPE_FIELDS[shape]
        given = {
            k
            for k in ("radius", "height", "thickness", "tip_radius", "half_angle")
            if getattr(self, k) is not None
        }
        if need - given:
            raise ValueError(f"shape {self.shape!r} needs {', '.join(sorted(need - given))}")
        if given - need:
            raise ValueError(
                f"shape {self.shape!r} does not use {', '.join(sorted(given - need))}; "
                f"it takes {', '.join(sorted(need))}"
            )
        return self

    def to_defect(self) -> Defect:
        shape = _SHAPES[self.shape]
        body = {
            "round": lambda: Round(self.radius),
            "ellipse": lambda: Ellipse(self.radius, self.height),
            "cone": lambda: Cone(self.height, self.half_angle, self.tip_radius),
            "flat": lambda: FlatVoid(self.radius, self.thickness),
            "gap": lambda: Gap(self.radius),
        }[shape]()
        return Defect(self.kind, body, self.x, self.y)


class RoughnessInput(Strict):
    amplitude: Length
    wavelength: Length


class RandomDefectsInput(Strict):
    count: Annotated[int, Field(gt=0, le=500)]
    seed: int = 0
    kind: Literal["protrusion", "pore"] = "pore"
    radius_min: Length
    radius_max: Length
    gap: Annotated[float, _quantity("m", "1 um"), Field(ge=0)] = 0.0

    @model_validator(mode="after")
    def _ordered(self):
        if self.radius_min > self.radius_max:
            raise ValueError("radius_min must not exceed radius_max")
        return self


class GeometryInput(Strict):
    dimension: Literal[2, 3] = 2
    width: Length
    thickness: Length
    depth: Length | None = None
    defects: list[DefectInput] = []
    roughness: RoughnessInput | None = None
    random_defects: RandomDefectsInput | None = None


class MeshInput(Strict):
    size_near: Length | None = None
    size_interface: Length | None = None
    size_far: Length | None = None
    element_degree: Literal[1, 2] = 1
    geometry_order: Literal[1, 2] | None = None

    @model_validator(mode="after")
    def _all_or_none(self):
        given = [s is not None for s in (self.size_near, self.size_interface, self.size_far)]
        if any(given) and not all(given):
            raise ValueError(
                "give all three of size_near, size_interface, size_far, or none (automatic sizes)"
            )
        return self


class KineticsInput(Strict):
    exchange_current_density: CurrentDensity = 13.0  # 1.3 mA/cm², seed 003 Table 1
    alpha_a: TransferCoefficient = 0.5
    alpha_c: TransferCoefficient = 0.5
    temperature: Temperature = 298.15
    pressure: Pressure = 0.0


class OperationInput(Strict):
    mode: Literal["galvanostatic", "potentiostatic"] = "galvanostatic"
    current_density: CurrentDensity | None = None
    voltage: Voltage | None = None

    @model_validator(mode="after")
    def _one_setpoint(self):
        if self.mode == "galvanostatic" and (self.current_density is None or self.voltage is not None):
            raise ValueError("galvanostatic mode takes current_density (e.g. '0.51 mA/cm2') and no voltage")
        if self.mode == "potentiostatic" and (self.voltage is None or self.current_density is not None):
            raise ValueError("potentiostatic mode takes voltage (e.g. '20 mV') and no current_density")
        return self


class InterlayerInput(Strict):
    """The interlayer's geometry, shared by all electrolytes of the case (one mesh); each
    electrolyte names its own interlayer material, or has none (the layer is then its SE)."""

    thickness: Length
    representation: Literal["meshed", "resistance"] = "meshed"


class ElectrolyteInput(Strict):
    material: str | None = None
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.+-]+$")
    conductivity: Conductivity | None = None
    interlayer: str | None = None  #: an interlayer material of the library
    interlayer_conductivity: Conductivity | None = None
    interlayer_electronic_conductivity: (
        Annotated[float, _quantity("S/m", "0.01 mS/cm"), Field(ge=0)] | None
    ) = None
    interlayer_specific_area: Annotated[float, _quantity("1/m", "1 /um"), Field(gt=0)] | None = None
    youngs_modulus: Modulus | None = None  #: overrides the library (with [mechanics])
    poisson_ratio: Annotated[float, Field(gt=-1, lt=0.5)] | None = None
    fracture_toughness: Toughness | None = None

    @model_validator(mode="after")
    def _source(self):
        if self.material is None and self.conductivity is None:
            raise ValueError("give a library 'material' (e.g. 'NAS') or a 'conductivity' (e.g. '0.9 mS/cm')")
        if self.material is None and self.name is None:
            raise ValueError("an electrolyte given by conductivity needs a 'name'")
        if self.interlayer is not None and self.interlayer_conductivity is not None:
            raise ValueError("give interlayer (a library material) or interlayer_conductivity, not both")
        for lookup, name in ((get_electrolyte, self.material), (get_interlayer, self.interlayer)):
            if name is not None:
                try:
                    lookup(name)
                except MaterialError as exc:
                    raise ValueError(str(exc)) from None
        return self

    @property
    def label(self) -> str:
        return self.name or get_electrolyte(self.material).name


class MechanicsInput(Strict):
    """Stress-coupled kinetics (dendrite_fem.physics.electromechanics): the stack pressure on the cell and the
    extra pressure of the metal confined in each protrusion, fixed or built by plating."""

    stack_pressure: Pressure = 0.0
    deposit_pressure: Pressure = 0.0
    deposit_time: Duration = 0.0
    metal: str = "Na"
    rtol: Annotated[float, Field(gt=0, lt=1e-2)] = 1e-8
    max_iterations: Annotated[int, Field(gt=0, le=200)] = 50

    @model_validator(mode="after")
    def _one_deposit_model(self):
        if self.deposit_pressure > 0 and self.deposit_time > 0:
            raise ValueError(
                "give deposit_pressure (fixed) or deposit_time (the pressure follows from "
                "the plating), not both"
            )
        try:
            get_mechanical(self.metal)
        except MaterialError as exc:
            raise ValueError(str(exc)) from None
        return self


class GrowthInput(Strict):
    """Sharp-interface growth (``dendrite-fem grow``, dendrite_fem.physics.growth): when to stop and how big
    the steps are."""

    target_growth: Length = 10e-6  #: stop when the tip has advanced this far
    max_time: Annotated[float, _quantity("s", "100 h"), Field(gt=0)] = 100 * 3600.0
    max_steps: Annotated[int, Field(gt=0, le=100_000)] = 5000
    step_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5  #: of the marker spacing per step
    max_time_step: Annotated[float, _quantity("s", "10 min"), Field(gt=0)] = 3600.0


class SolverInput(Strict):
    linear_solver: Literal["auto", "direct", "iterative"] = "auto"
    rtol: Annotated[float, Field(gt=0, lt=1e-3)] = 1e-10
    max_iterations: Annotated[int, Field(gt=0, le=500)] = 30


class OutputInput(Strict):
    fields: bool = True
    figures: bool = True


class Case(Strict):
    case: CaseInfo
    geometry: GeometryInput
    mesh: MeshInput = MeshInput()
    kinetics: KineticsInput = KineticsInput()
    operation: OperationInput
    electrolytes: Annotated[list[ElectrolyteInput], Field(min_length=1)]
    solver: SolverInput = SolverInput()
    output: OutputInput = OutputInput()
    interlayer: InterlayerInput | None = None
    mechanics: MechanicsInput | None = None
    growth: GrowthInput | None = None

    @field_validator("electrolytes")
    @classmethod
    def _unique_names(cls, electrolytes):
        labels = [e.label for e in electrolytes]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(
                f"electrolyte names must be unique; repeated: {', '.join(sorted(dup))} (set 'name')"
            )
        return electrolytes

    @model_validator(mode="after")
    def _interlayer_geometry_given(self):
        users = [e.label for e in self.electrolytes if e.interlayer or e.interlayer_conductivity]
        if users and self.interlayer is None:
            raise ValueError(
                f"electrolytes {', '.join(users)} name an interlayer but the case has no [interlayer] "
                "table; add one with its thickness, e.g. [interlayer] thickness = '1 um'"
            )
        return self

    @model_validator(mode="after")
    def _mixed_conducting_interphase(self):
        mixed = []
        for e in self.electrolytes:
            lib = get_interlayer(e.interlayer) if e.interlayer else None
            sigma_e = (
                e.interlayer_electronic_conductivity
                if e.interlayer_electronic_conductivity is not None
                else (lib.electronic_conductivity if lib else 0.0)
            )
            a_v = (
                e.interlayer_specific_area
                if e.interlayer_specific_area is not None
                else (lib.specific_area if lib else 0.0)
            )
            if (
                e.interlayer_electronic_conductivity is not None or e.interlayer_specific_area is not None
            ) and not (e.interlayer or e.interlayer_conductivity):
                raise ValueError(
                    f"electrolyte {e.label}: interlayer_electronic_conductivity/specific_area need "
                    "an interlayer (interlayer or interlayer_conductivity)"
                )
            if sigma_e > 0 and not a_v > 0:
                raise ValueError(
                    f"electrolyte {e.label}: a mixed-conducting interlayer needs "
                    "interlayer_specific_area (e.g. '1 /um')"
                )
            if sigma_e > 0:
                mixed.append(e.label)
        if mixed and self.interlayer is not None and self.interlayer.representation != "meshed":
            raise ValueError(
                f"electrolytes {', '.join(mixed)} have a mixed-conducting interlayer, which needs "
                "interlayer.representation = 'meshed' (plating happens inside its volume)"
            )
        if mixed and self.mechanics is not None:
            raise ValueError(
                f"electrolytes {', '.join(mixed)}: a mixed-conducting interlayer together with "
                "[mechanics] is not supported"
            )
        return self

    @model_validator(mode="after")
    def _mechanics_consistent(self):
        if self.mechanics is None:
            given = [
                e.label
                for e in self.electrolytes
                if (e.youngs_modulus, e.poisson_ratio, e.fracture_toughness) != (None, None, None)
            ]
            if given:
                raise ValueError(
                    f"electrolytes {', '.join(given)} give elastic constants but the case has "
                    "no [mechanics] table; add one, e.g. [mechanics] stack_pressure = '20 MPa'"
                )
            return self
        if self.kinetics.pressure > 0:
            raise ValueError(
                "with [mechanics] the pressure comes from the stress: set kinetics.pressure to "
                "'0 MPa' and give the stack pressure as mechanics.stack_pressure"
            )
        if self.interlayer is not None and self.interlayer.representation == "resistance":
            raise ValueError(
                "[mechanics] with interlayer.representation = 'resistance' is not supported; "
                "use representation = 'meshed'"
            )
        if self.geometry.roughness is not None:
            raise ValueError(
                "[mechanics] needs a flat anode for the SE to rest on; a rough interface "
                "(geometry.roughness) is not supported with it"
            )
        for e in self.electrolytes:
            if e.youngs_modulus is None or e.poisson_ratio is None:
                try:
                    get_mechanical(e.material or "")
                except MaterialError:
                    raise ValueError(
                        f"electrolyte {e.label}: the library has no elastic constants for it; give "
                        "youngs_modulus (e.g. '20 GPa') and poisson_ratio (e.g. 0.3)"
                    ) from None
        return self

    # --- conversion to the domain objects -----------------------------------------
    def window(self) -> Window:
        g = self.geometry
        m = self.mesh
        sizes = None if m.size_near is None else MeshSizes(m.size_near, m.size_interface, m.size_far)
        defects = tuple(d.to_defect() for d in g.defects)
        labels = tuple(f"geometry.defects[{i}]" for i in range(len(defects)))
        il = self.interlayer
        band = il.thickness if il is not None and il.representation == "meshed" else None
        window = Window(
            dim=g.dimension,
            width=g.width,
            thickness=g.thickness,
            depth=g.depth,
            defects=defects,
            sizes=sizes,
            labels=labels,
            interlayer_thickness=band,
            roughness=None
            if g.roughness is None
            else Roughness(g.roughness.amplitude, g.roughness.wavelength),
        )
        if g.random_defects is not None:
            r = g.random_defects
            extra = RandomDefects(r.count, r.seed, r.kind, r.radius_min, r.radius_max, r.gap).realise(window)
            window = Window(
                dim=window.dim,
                width=window.width,
                thickness=window.thickness,
                depth=window.depth,
                defects=defects + tuple(extra),
                sizes=sizes,
                roughness=window.roughness,
                interlayer_thickness=band,
                labels=labels + tuple(f"geometry.random_defects[{i}]" for i in range(len(extra))),
            )
        return window

    def kinetics_model(self) -> Kinetics:
        k = self.kinetics
        return Kinetics(k.exchange_current_density, k.alpha_a, k.alpha_c, k.temperature, k.pressure)

    def driving(self) -> Operation:
        """The operation as its type: the one place the case's ``mode`` string is read."""
        o = self.operation
        return Galvanostatic(o.current_density) if o.mode == "galvanostatic" else Potentiostatic(o.voltage)

    def solver_options(self) -> SolverOptions:
        s = self.solver
        return SolverOptions(linear_solver=s.linear_solver, rtol=s.rtol, max_iterations=s.max_iterations)

    def _interlayer(self, e: ElectrolyteInput) -> Layer | None:
        """The interlayer of one electrolyte (library or given), or None for a bare interface."""
        if self.interlayer is None or not (e.interlayer or e.interlayer_conductivity):
            return None
        t, representation = self.interlayer.thickness, self.interlayer.representation
        if e.interlayer is not None:
            layer = Layer.from_library(e.interlayer, t, representation)
        else:
            layer = Layer("given", e.interlayer_conductivity, t, representation, "given in the case file")
        if e.interlayer_electronic_conductivity is not None:
            layer = replace(
                layer,
                electronic_conductivity=e.interlayer_electronic_conductivity,
                source=layer.source + "; sigma_e given in the case file",
            )
        if e.interlayer_specific_area is not None:
            layer = replace(
                layer,
                specific_area=e.interlayer_specific_area,
                source=layer.source + "; a_v given in the case file",
            )
        return layer

    def mechanical_load(self) -> MechanicalLoad | None:
        m = self.mechanics
        if m is None:
            return None
        return MechanicalLoad(
            m.stack_pressure,
            m.deposit_pressure,
            m.deposit_time,
            get_mechanical(m.metal).bulk_modulus,
            m.rtol,
            m.max_iterations,
        )

    def _mechanical(self, e: ElectrolyteInput) -> MechanicalProperties | None:
        """E [Pa], ν, K_Ic [Pa √m] (or None) of one electrolyte with their source: the case's
        values over the library's; None without [mechanics]."""
        if self.mechanics is None:
            return None
        lib = None
        if e.youngs_modulus is None or e.poisson_ratio is None or e.fracture_toughness is None:
            try:
                lib = get_mechanical(e.material or "")
            except MaterialError:
                lib = None
        given = [
            k for k in ("youngs_modulus", "poisson_ratio", "fracture_toughness") if getattr(e, k) is not None
        ]
        return MechanicalProperties(
            e.label,
            e.youngs_modulus if e.youngs_modulus is not None else lib.youngs_modulus,
            e.poisson_ratio if e.poisson_ratio is not None else lib.poisson_ratio,
            e.fracture_toughness
            if e.fracture_toughness is not None
            else (lib.fracture_toughness if lib else None),
            "; ".join(
                filter(
                    None,
                    [
                        f"given in the case file: {', '.join(given)}" if given else "",
                        lib.source if lib else "",
                    ],
                )
            ),
        )

    def electrolytes_to_compare(self) -> list[Electrolyte]:
        """Every electrolyte of the case as a record (material or given σ, interlayer, elastic
        constants): the one place the case's electrolyte tables meet the library."""
        out = []
        T = self.kinetics.temperature
        for e in self.electrolytes:
            record = electrolyte(
                e.material,
                name=e.label,
                conductivity=e.conductivity,
                temperature=T,
                interlayer=self._interlayer(e),
                mechanical=self._mechanical(e),
            )
            try:
                record.conductivity(T)
            except MaterialError as exc:
                raise CaseError(f"electrolytes ({e.label}): {exc}") from None
            out.append(record)
        return out


# --- loading -------------------------------------------------------------------------


def _set_path(data: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = data
    for k, nxt in zip(keys[:-1], keys[1:], strict=True):
        key = int(k) if isinstance(node, list) else k
        if isinstance(node, list):
            if key >= len(node):
                raise CaseError(
                    f"--set {dotted}: index {key} is out of range (the list has {len(node)} entries)"
                )
            node = node[key]
        else:
            node = node.setdefault(key, [] if nxt.isdigit() else {})
    last = keys[-1]
    if isinstance(node, list):
        idx = int(last)
        if idx == len(node):
            node.append(value)
        elif idx < len(node):
            node[idx] = value
        else:
            raise CaseError(f"--set {dotted}: index {idx} is out of range")
    else:
        node[last] = value


def parse_override(text: str) -> tuple[str, object]:
    """``key.path=value``; the value is read as TOML (numbers, booleans, quoted
    strings, tables) and taken as a plain string when it is not valid TOML."""
    if "=" not in text:
        raise CaseError(f"--set {text!r}: expected key=value, e.g. operation.current_density='1 mA/cm2'")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    """Names the model accepts at ``loc`` (for "did you mean")."""
    current: object = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        ann = getattr(current, "model_fields", {}).get(part)
        if ann is None:
            return []
        current = ann.annotation
        for arg in getattr(current, "__args__", ()):  # list[X] or X | None
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
    return list(getattr(current, "model_fields", {}))


def format_validation_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: the case is not valid:"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            names = _field_names(Case, loc)
            hint = difflib.get_close_matches(str(loc[-1]), names, n=1)
            msg = "unknown key" + (
                f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(names)}"
            )
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  {where or '(top level)'}: {msg}")
    return "\n".join(lines)


def load_case(path: str | Path, overrides: list[str] = ()) -> tuple[Case, str]:
    """Read, override and validate a case file; returns the case and the SHA-256 of
    the file's bytes plus overrides (recorded in every output)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"{path}: cannot read the case file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    if "sweep" in data:
        raise CaseError(
            f"{path}: this is a sweep file (it has a [sweep] table); run it with 'dendrite-fem sweep {path}'"
        )
    for text in overrides:
        key, value = parse_override(text)
        _set_path(data, key, value)
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        raise CaseError(format_validation_error(str(path), exc)) from None
    digest = hashlib.sha256(raw + "\n".join(overrides).encode()).hexdigest()
    return case, digest
