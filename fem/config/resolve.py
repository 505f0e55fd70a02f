"""Resolution: a validated case (:mod:`dendrite_fem.config.schema`) becomes the domain objects a
:class:`~dendrite_fem.model.Model` runs on.

This is the one place that looks up the material library and builds the window, the kinetics,
the operation, the solver options, the mechanical load and the electrolyte records.  The domain
objects check themselves in their own terms (a :class:`~dendrite_fem.geometry.spec.Window`
refuses a defect that leaves it, naming ``Window.defects[0]``); the resolver says the same in
the case file's terms (``geometry.defects[0]``) and adds the file's path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from dendrite_fem.config.errors import CaseError
from dendrite_fem.config.schema import SHAPES, Case, ElectrolyteInput
from dendrite_fem.geometry.spec import (
    Cone,
    Defect,
    Ellipse,
    FlatVoid,
    Gap,
    GeometryError,
    HeightMap,
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
    get_mechanical,
)
from dendrite_fem.physics.operation import Galvanostatic, Operation, Potentiostatic


@dataclass(frozen=True)
class CaseSetup:
    """A case in domain terms: what ``dendrite-fem run`` solves.  ``spec`` is the validated
    case file (its name, outputs and growth options, and the input echoed in summary.json)."""

    spec: Case
    source: str  #: where it came from (the case file's path), for messages
    window: Window
    kinetics: Kinetics
    operation: Operation
    solver: SolverOptions
    mechanics: MechanicalLoad | None
    electrolytes: tuple[Electrolyte, ...]

    @property
    def name(self) -> str:
        return self.spec.case.name

    @property
    def degree(self) -> int:
        return self.spec.mesh.element_degree

    @property
    def geometry_order(self) -> int:
        return self.spec.mesh.geometry_order or self.degree

    def model(self, comm=None, mesh_cache: str | Path | None = None):
        """The :class:`~dendrite_fem.model.Model` of this case (not meshed yet)."""
        from mpi4py import MPI

        from dendrite_fem.model import Model

        return Model(
            self.window,
            self.kinetics,
            self.operation,
            degree=self.degree,
            geometry_order=self.geometry_order,
            solver=self.solver,
            mechanics=self.mechanics,
            mesh_cache=mesh_cache,
            parallel_refinements=self.spec.mesh.parallel_refinements,
            comm=comm or MPI.COMM_WORLD,
        )


def resolve(case: Case, source: str = "case") -> CaseSetup:
    """Look up the library and build the domain objects of ``case``; a CaseError names
    ``source``, the field and the fix."""
    return CaseSetup(
        spec=case,
        source=source,
        window=_window(case, source),
        kinetics=Kinetics(
            case.kinetics.exchange_current_density,
            case.kinetics.alpha_a,
            case.kinetics.alpha_c,
            case.kinetics.temperature,
            case.kinetics.pressure,
        ),
        operation=_operation(case),
        solver=SolverOptions(
            linear_solver=case.solver.linear_solver,
            rtol=case.solver.rtol,
            max_iterations=case.solver.max_iterations,
        ),
        mechanics=_mechanical_load(case, source),
        electrolytes=_electrolytes(case, source),
    )


def _invalid(source: str, where: str, message: str) -> CaseError:
    return CaseError(f"{source}: the case is not valid:\n  {where}: {message}")


# --- geometry ------------------------------------------------------------------------


def _defect(d) -> Defect:
    body = {
        "round": lambda: Round(d.radius),
        "ellipse": lambda: Ellipse(d.radius, d.height),
        "cone": lambda: Cone(d.height, d.half_angle, d.tip_radius),
        "flat": lambda: FlatVoid(d.radius, d.thickness),
        "gap": lambda: Gap(d.radius),
    }[SHAPES[d.shape]]()
    return Defect(d.kind, body, d.x, d.y)


def case_path(path: str, defect_labels: tuple[str, ...] = ()) -> str:
    """The case-file field of a domain field path (``Window.defects[2].radius`` →
    ``geometry.defects[2].radius``; a random defect → ``geometry.random_defects[k]``)."""
    owner, _, rest = path.partition(".")
    if owner == "RandomDefects":
        return "geometry.random_defects"
    if owner == "Layer":
        return f"interlayer.{rest}"
    m = re.fullmatch(r"defects\[(\d+)\](.*)", rest)
    if m:
        i = int(m.group(1))
        label = defect_labels[i] if i < len(defect_labels) else f"geometry.defects[{i}]"
        return label + m.group(2)
    if rest == "interlayer_thickness":
        return "interlayer.thickness"
    if rest == "sizes":
        return "mesh: size_near, size_interface, size_far"
    if rest == "dim":
        return "geometry.dimension"
    return f"geometry.{rest}"


def _sizes(m) -> MeshSizes | None:
    """The ``[mesh]`` sizes, if given."""
    return None if m.size_near is None else MeshSizes(m.size_near, m.size_interface, m.size_far)


def _data_path(path: str, source: str) -> Path:
    """A data file's path, relative to the case file's folder (``source`` "case": the Python API,
    relative to the working directory)."""
    path = Path(path)
    return path if path.is_absolute() or source == "case" else Path(source).parent / path


def _image_window(case: Case, source: str):
    """The window of ``[geometry.image]``: its interface from the segmented cross-section."""
    from dendrite_fem.geometry.image import read_labels, section_interface

    g, m = case.geometry, case.mesh
    path = _data_path(g.image.path, source)
    sizes = _sizes(m)
    try:
        labels = read_labels(path, crop=g.image.crop)
        return section_interface(
            labels,
            g.image.pixel_size,
            g.image.metal,
            g.image.electrolyte,
            g.image.smoothing,
            sizes=sizes,
            source=str(path),
            void=g.image.void,
        )
    except GeometryError as exc:
        raise _invalid(source, "geometry.image", str(exc)) from None


def _volume_window(case: Case, source: str):
    """The window of ``[geometry.volume]``: its interface from the segmented voxel volume."""
    from dendrite_fem.geometry.image import read_labels
    from dendrite_fem.geometry.volume import VoxelVolume

    g, m = case.geometry, case.mesh
    v = g.volume
    path = _data_path(v.path, source)
    try:
        return VoxelVolume(
            read_labels(path, ndim=3, crop=v.crop),
            v.voxel_size,
            v.metal,
            v.electrolyte,
            v.void,
            smoothing=v.smoothing,
            min_island=v.min_island,
            sizes=_sizes(m),
            source=str(path),
        )
    except GeometryError as exc:
        raise _invalid(source, "geometry.volume", str(exc)) from None


def _surface_window(case: Case, source: str):
    """The window of ``[geometry.surface]``: the closed metal surface sampled on voxels."""
    from dendrite_fem.geometry.surface import surface_volume

    g, m = case.geometry, case.mesh
    t = g.surface
    path = _data_path(t.path, source)
    try:
        return surface_volume(path, t.length_unit, t.voxel_size, t.thickness, t.smoothing, _sizes(m))
    except GeometryError as exc:
        raise _invalid(source, "geometry.surface", str(exc)) from None
    except ValueError as exc:  # the unit
        raise _invalid(source, "geometry.surface.length_unit", str(exc).replace("'1 ", "'")) from None


def _window(case: Case, source: str) -> Window:
    g, m, il = case.geometry, case.mesh, case.interlayer
    if g.image is not None:
        return _image_window(case, source)
    if g.volume is not None or g.surface is not None:
        window = _volume_window(case, source) if g.volume is not None else _surface_window(case, source)
        _check_cells(window, m, source)
        return window
    sizes = _sizes(m)
    defects = tuple(_defect(d) for d in g.defects)
    labels = tuple(f"geometry.defects[{i}]" for i in range(len(defects)))
    band = il.thickness if il is not None and il.representation == "meshed" else None
    roughness = None if g.roughness is None else Roughness(g.roughness.amplitude, g.roughness.wavelength)
    if g.height_map is not None:
        roughness = _height_map(g.height_map, source)
    if g.dimension == 2 and g.depth is not None:
        raise _invalid(source, "geometry.depth", "a 2D window has no depth; remove it (or set dimension = 3)")
    try:
        window = Window(
            g.dimension, g.width, g.thickness, g.depth, defects, roughness, sizes, interlayer_thickness=band
        )
        if g.random_defects is not None:
            r = g.random_defects
            extra = tuple(
                RandomDefects(r.count, r.seed, r.kind, r.radius_min, r.radius_max, r.gap).realise(window)
            )
            labels += tuple(f"geometry.random_defects[{k}]" for k in range(len(extra)))
            window = replace(window, defects=defects + extra)
    except GeometryError as exc:
        raise CaseError(f"{source}: {exc.worded(lambda p: case_path(p, labels))}") from None
    _check_cells(window, m, source)
    return window


def _check_cells(window, m, source: str) -> None:
    """Refuse, before meshing, a mesh estimated to be larger than ``mesh.max_cells``."""
    cells = window.estimated_cells()
    if cells > m.max_cells:
        s = window.resolved_sizes()
        raise _invalid(
            source,
            "mesh",
            f"the mesh would have about {cells:.2g} cells (sizes near/interface/far "
            f"{s.near:.2g}/{s.interface:.2g}/{s.far:.2g} m), more than mesh.max_cells = {m.max_cells}; "
            "give coarser sizes (size_near, size_interface, size_far), or raise mesh.max_cells if this "
            "machine can hold such a mesh",
        )


def _height_map(h, source: str) -> HeightMap:
    """The measured interface of ``[geometry.height_map]``, its file relative to the case file's folder."""
    from dendrite_fem.geometry.measured import read_height_map

    path = _data_path(h.path, source)
    try:
        return read_height_map(path, h.pixel_size, h.height_unit, h.smoothing, h.crop)
    except GeometryError as exc:
        raise _invalid(source, "geometry.height_map", str(exc)) from None
    except ValueError as exc:  # the unit
        raise _invalid(source, "geometry.height_map.height_unit", str(exc).replace("'1 ", "'")) from None


def _operation(case: Case) -> Operation:
    """The operation as its type: the one place the case's ``mode`` string is read."""
    o = case.operation
    return Galvanostatic(o.current_density) if o.mode == "galvanostatic" else Potentiostatic(o.voltage)


# --- materials -----------------------------------------------------------------------


def _mechanical_load(case: Case, source: str) -> MechanicalLoad | None:
    m = case.mechanics
    if m is None:
        return None
    try:
        metal = get_mechanical(m.metal)
    except MaterialError as exc:
        raise _invalid(source, "mechanics.metal", str(exc)) from None
    return MechanicalLoad(
        m.stack_pressure, m.deposit_pressure, m.deposit_time, metal.bulk_modulus, m.rtol, m.max_iterations
    )


def _interlayer(case: Case, e: ElectrolyteInput) -> Layer | None:
    """The interlayer of one electrolyte (library or given), or None for a bare interface."""
    if case.interlayer is None or not (e.interlayer or e.interlayer_conductivity):
        return None
    t, representation = case.interlayer.thickness, case.interlayer.representation
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


def _mechanical(case: Case, e: ElectrolyteInput, label: str) -> MechanicalProperties | None:
    """E [Pa], ν, K_Ic [Pa √m] (or None) of one electrolyte with their source: the case's
    values over the library's; None without [mechanics]."""
    if case.mechanics is None:
        return None
    given = [
        k for k in ("youngs_modulus", "poisson_ratio", "fracture_toughness") if getattr(e, k) is not None
    ]
    try:
        lib = get_mechanical(e.material or "") if len(given) < 3 else None
    except MaterialError:
        lib = None
    if lib is None and (e.youngs_modulus is None or e.poisson_ratio is None):
        raise MaterialError(
            f"electrolyte {label}: the library has no elastic constants for it; give youngs_modulus (e.g. '20 GPa') "
            "and poisson_ratio (e.g. 0.3)"
        )
    return MechanicalProperties(
        label,
        e.youngs_modulus if e.youngs_modulus is not None else lib.youngs_modulus,
        e.poisson_ratio if e.poisson_ratio is not None else lib.poisson_ratio,
        e.fracture_toughness
        if e.fracture_toughness is not None
        else (lib.fracture_toughness if lib else None),
        "; ".join(
            filter(
                None,
                [f"given in the case file: {', '.join(given)}" if given else "", lib.source if lib else ""],
            )
        ),
    )


def _electrolytes(case: Case, source: str) -> tuple[Electrolyte, ...]:
    """Every electrolyte of the case as a record (material or given σ, interlayer, elastic
    constants): the one place the case's electrolyte tables meet the library."""
    out = []
    temperature = case.kinetics.temperature
    for i, e in enumerate(case.electrolytes):
        where = f"electrolytes[{i}]"
        try:
            label = e.name or get_electrolyte(e.material).name
            layer = _interlayer(case, e)
            record = electrolyte(
                e.material,
                name=label,
                conductivity=e.conductivity,
                temperature=temperature,
                interlayer=layer,
                mechanical=_mechanical(case, e, label),
                source="given in the case file",
            )
        except MaterialError as exc:
            raise _invalid(source, where, str(exc)) from None
        try:
            record.conductivity(temperature)
        except MaterialError as exc:
            raise CaseError(
                f"{source}: {where} ({label}): {exc}: set its 'conductivity', or kinetics.temperature "
                f"to {record.temperature_ref:.2f} K"
            ) from None
        _check_interphase(case, record, where, source)
        out.append(record)
    labels = [r.key for r in out]
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:
        raise _invalid(
            source,
            "electrolytes",
            f"electrolyte names must be unique; repeated: {', '.join(repeated)} (set 'name')",
        )
    return tuple(out)


def _check_interphase(case: Case, record: Electrolyte, where: str, source: str) -> None:
    """A mixed-conducting interlayer (σ_e > 0) needs a_v > 0, a meshed layer and no mechanics."""
    layer = record.interlayer
    if layer is None or not layer.electronic_conductivity > 0:
        return
    if not layer.specific_area > 0:
        raise _invalid(
            source,
            where,
            f"electrolyte {record.key}: a mixed-conducting interlayer needs interlayer_specific_area (e.g. '1 /um')",
        )
    if case.interlayer.representation != "meshed":
        raise _invalid(
            source,
            where,
            f"electrolyte {record.key} has a mixed-conducting interlayer, which needs "
            "interlayer.representation = 'meshed' (plating happens inside its volume)",
        )
    if case.mechanics is not None:
        raise _invalid(
            source,
            where,
            f"electrolyte {record.key}: a mixed-conducting interlayer together with [mechanics] is not supported",
        )
