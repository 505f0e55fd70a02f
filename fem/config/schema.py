"""The case-file schema: what a case file may say, with its units and ranges.

Pydantic models of the TOML tables.  Every dimensional field carries its unit ("10 um",
"0.9 mS/cm", "0.51 mA/cm2") and is held in SI; a typo, an unknown key, a wrong unit or an
impossible value is refused here.  Rules that need the material library or the geometry
(a material's name, its elastic constants, a defect that leaves the window) belong to the
resolver (:mod:`dendrite_fem.config.resolve`).  See ``docs/case-files.md`` for every field.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from dendrite_fem.units import to_si


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
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _a_name_not_a_path(cls, name: str) -> str:
        if set(name) == {"."}:
            raise ValueError(f"{name!r} would be the results folder itself; give the case a real name")
        return name


#: the shape family of each shape name a case file may use
SHAPES = {
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
        shape = SHAPES[self.shape]
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


class RoughnessInput(Strict):
    amplitude: Length
    wavelength: Length


class HeightMapInput(Strict):
    """A measured interface (dendrite_fem.geometry.measured): heights on a uniform grid."""

    path: Annotated[str, Field(min_length=1)]  #: relative to the case file; .csv, .txt, .npy, .tif(f)
    pixel_size: Length  #: spacing of the samples
    height_unit: Annotated[str, Field(min_length=1)]  #: unit of the numbers in the file, e.g. "um", "nm"
    smoothing: Annotated[float, Field(ge=0, le=50)] = 0.0  #: Gaussian σ in pixels, before anything else
    #: sample index ranges [start, stop): one for a profile, rows and columns for a map
    crop: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]] | None = None


def _check_crop(table, ndim: int):
    """A crop has one [start, stop) range per axis, start < stop."""
    if table.crop is not None:
        if len(table.crop) != ndim:
            raise ValueError(
                f"crop: give {ndim} ranges [start, stop), one per axis; it has {len(table.crop)}"
            )
        for axis, (a, b) in enumerate(table.crop):
            if a >= b:
                raise ValueError(f"crop[{axis}]: start {a} must be below stop {b}")
    return table


class ImageInput(Strict):
    """A segmented cross-section (dendrite_fem.geometry.image): metal below, SE above."""

    path: Annotated[str, Field(min_length=1)]  #: relative to the case file; .png, .tif(f), .npy
    pixel_size: Length
    metal: int  #: label value of the metal pixels
    electrolyte: int  #: label value of the SE pixels
    void: int | None = None  #: label value of void pixels (pore walls), if there are any
    smoothing: Annotated[float, Field(ge=0, le=50)] = 2.0  #: Gaussian σ in pixels
    #: pixel index ranges [start, stop) of rows and columns, e.g. [[0, 200], [100, 420]]
    crop: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]] | None = None

    @model_validator(mode="after")
    def _crop_ranges(self):
        return _check_crop(self, 2)


class VolumeInput(Strict):
    """A segmented voxel volume (dendrite_fem.geometry.volume): metal at slice 0, SE at the top."""

    path: Annotated[str, Field(min_length=1)]  #: relative to the case file; a .tif(f) stack or .npy
    voxel_size: Length
    metal: int  #: label value of the metal voxels
    electrolyte: int  #: label value of the SE voxels
    void: int | None = None  #: label value of void voxels (pore walls), if there are any
    smoothing: Annotated[float, Field(ge=0, le=10)] = 1.0  #: Gaussian σ in voxels
    min_island: Annotated[int, Field(ge=0)] = 27  #: smaller voids and metal islands become SE
    #: voxel index ranges [start, stop) along z, y and x, e.g. [[0, 96], [32, 160], [32, 160]]
    crop: list[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]] | None = None

    @model_validator(mode="after")
    def _crop_ranges(self):
        return _check_crop(self, 3)


class SurfaceInput(Strict):
    """A closed surface of the metal (dendrite_fem.geometry.surface), sampled on voxels."""

    path: Annotated[str, Field(min_length=1)]  #: relative to the case file; .stl, .obj, .ply or .vtp
    length_unit: Annotated[str, Field(min_length=1)]  #: the unit of the file's coordinates, e.g. "um"
    voxel_size: Length
    thickness: Length  #: from the metal's lowest point to the counter side
    smoothing: Annotated[float, Field(ge=0, le=10)] = 1.0  #: Gaussian σ in voxels


class RandomDefectsInput(Strict):
    #: meshing time grows as about count^1.8 (one size field per defect): 100 defects take 2 min
    #: in 2D here, 200 more than 5 min, so the count is bounded where a run still finishes
    count: Annotated[int, Field(gt=0, le=100)]
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
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
    width: Length | None = None  #: required unless an image gives it
    thickness: Length | None = None  #: required unless an image gives it
    depth: Length | None = None
    defects: list[DefectInput] = []
    roughness: RoughnessInput | None = None
    height_map: HeightMapInput | None = None
    image: ImageInput | None = None
    volume: VolumeInput | None = None
    surface: SurfaceInput | None = None
    random_defects: RandomDefectsInput | None = None

    @model_validator(mode="after")
    def _window_size(self):
        measured = [n for n in ("image", "volume", "surface") if getattr(self, n) is not None]
        if len(measured) > 1:
            raise ValueError(
                f"{' and '.join('geometry.' + n for n in measured)}: give one of them (a 2D section, a 3D "
                "volume or a 3D surface)"
            )
        if not measured:
            missing = [n for n in ("width", "thickness") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)}: required field missing (e.g. width = '80 um')")
            return self
        given = [
            n
            for n, v in (
                ("width", self.width),
                ("thickness", self.thickness),
                ("depth", self.depth),
                ("defects", self.defects),
                ("roughness", self.roughness),
                ("height_map", self.height_map),
                ("random_defects", self.random_defects),
            )
            if v
        ]
        if self.volume is not None or self.surface is not None:
            what = (
                "a segmented volume (geometry.volume)"
                if self.volume
                else "a metal surface (geometry.surface)"
            )
            if given or self.dimension != 3:
                raise ValueError(
                    f"{what} is the whole 3D window: its size and interface come from the "
                    f"{'volume' if self.volume else 'surface'}; remove "
                    f"{' and '.join(given) or 'dimension = 2 (set dimension = 3)'}"
                )
            return self
        if given or self.dimension != 2:
            raise ValueError(
                "a segmented image (geometry.image) is the whole 2D window: its size and interface "
                f"come from the image; remove {' and '.join(given) or 'dimension = 3'}"
            )
        return self

    @model_validator(mode="after")
    def _one_interface(self):
        if self.height_map is not None:
            other = [
                n
                for n, v in (
                    ("roughness", self.roughness),
                    ("defects", self.defects),
                    ("random_defects", self.random_defects),
                )
                if v
            ]
            if other:
                raise ValueError(
                    f"a measured interface (height_map) is the whole interface; remove {' and '.join(other)}"
                )
        return self


class MeshInput(Strict):
    size_near: Length | None = None
    size_interface: Length | None = None
    size_far: Length | None = None
    element_degree: Literal[1, 2] = 1
    geometry_order: Literal[1, 2] | None = None
    #: refuse, before meshing, a mesh estimated (Window.estimated_cells) to be larger than this
    max_cells: Annotated[int, Field(gt=0, le=10**9)] = 5_000_000
    #: refine adaptively until every tracked number changes by at most this (relative) from one
    #: mesh to the next (dendrite_fem.adaptivity); None: solve on the one mesh of the sizes above
    target_error: Annotated[float, Field(gt=0, lt=0.1)] | None = None
    max_refinements: Annotated[int, Field(ge=1, le=12)] = 6
    #: mesh with Gmsh at 2^k times the sizes on rank 0, then split every cell k times on all
    #: ranks with the new wall nodes on the true shapes (dendrite_fem.geometry.refine)
    parallel_refinements: Annotated[int, Field(ge=0, le=3)] = 0

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
        if self.voltage is not None and not 0 < self.voltage <= 2.0:
            raise ValueError(
                f"voltage {self.voltage:g} V: a plating run holds the SE above the Na metal, at "
                "0 < V <= 2 V (0 V drives no current, a negative voltage strips the metal, which "
                "this model does not report, and above 2 V the sulfide SEs decompose)"
            )
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
        return self

    @property
    def label(self) -> str:
        """The name as written (the resolver files a library material under its own name)."""
        return self.name or self.material


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
    def _interphase_needs_a_layer(self):
        for e in self.electrolytes:
            if (
                e.interlayer_electronic_conductivity is not None or e.interlayer_specific_area is not None
            ) and not (e.interlayer or e.interlayer_conductivity):
                raise ValueError(
                    f"electrolyte {e.label}: interlayer_electronic_conductivity/specific_area need "
                    "an interlayer (interlayer or interlayer_conductivity)"
                )
        return self

    @model_validator(mode="after")
    def _adaptivity_supported(self):
        if self.mesh.target_error is None:
            return self
        other = [
            name
            for name, given in (
                ("[mechanics]", self.mechanics is not None),
                ("[growth]", self.growth is not None),
                (
                    "a mixed-conducting interphase",
                    any(e.interlayer_electronic_conductivity is not None for e in self.electrolytes),
                ),
            )
            if given
        ]
        if other:
            raise ValueError(
                f"mesh.target_error (adaptive refinement) does not support {' or '.join(other)} yet; "
                f"remove mesh.target_error (and give mesh sizes), or remove {' and '.join(other)}"
            )
        return self

    @model_validator(mode="after")
    def _parallel_refinement_supported(self):
        if self.mesh.parallel_refinements and self.growth is not None:
            raise ValueError(
                "mesh.parallel_refinements does not apply to [growth], whose moving interface Gmsh "
                "meshes at every step; remove mesh.parallel_refinements"
            )
        return self

    @model_validator(mode="after")
    def _image_supported(self):
        if self.geometry.image is None and self.geometry.volume is None and self.geometry.surface is None:
            return self
        what = (
            "a segmented image (geometry.image) is meshed as its polyline"
            if self.geometry.image is not None
            else "a segmented volume or a metal surface (geometry.volume, geometry.surface) is meshed on "
            "its voxels' interface"
        )
        other = [
            name
            for name, given in (
                ("mesh.parallel_refinements", bool(self.mesh.parallel_refinements)),
                ("mesh.target_error", self.mesh.target_error is not None),
                ("[growth]", self.growth is not None),
                (
                    "a meshed interlayer",
                    self.interlayer is not None and self.interlayer.representation == "meshed",
                ),
            )
            if given
        ]
        if other:
            raise ValueError(f"{what}; {' and '.join(other)} cannot be used with it yet: remove it")
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
        if any(
            v is not None
            for v in (
                self.geometry.roughness,
                self.geometry.height_map,
                self.geometry.image,
                self.geometry.volume,
            )
        ):
            raise ValueError(
                "[mechanics] needs a flat anode for the SE to rest on; a rough or measured interface "
                "(geometry.roughness, geometry.height_map, geometry.image, geometry.volume, geometry.surface) is not "
                "supported with it"
            )
        return self
