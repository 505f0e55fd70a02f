"""How the cell is driven: the condition on the counter boundary Γc (docs/model.md §2).

* :class:`Galvanostatic`: a plating current density i_app [A/m²] enters the SE through Γc,
  i·n = −i_app; the cell voltage follows from the solution.
* :class:`Potentiostatic`: the SE potential at Γc is held at V_app [V] against the Na metal,
  φ = V_app; the current follows.

The mode is decided here, by the type, and nowhere else: the weak form asks the operation for
its counter-boundary terms, the metrics for the applied current, the solver for its scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import dolfinx
import ufl

from dendrite_fem.geometry import tags
from dendrite_fem.units import si


@dataclass(frozen=True)
class Operation:
    """A set-point on the counter boundary; see :class:`Galvanostatic`, :class:`Potentiostatic`."""

    mode: ClassVar[str]

    @property
    def value(self) -> float:
        """The set-point in SI: i_app [A/m²] or V_app [V]."""
        raise NotImplementedError

    @property
    def applied_current_density(self) -> float | None:
        """i_app [A/m²] when the current is imposed, else None."""
        return None

    def counter_terms(self, load: dolfinx.fem.Constant, v, ds: ufl.Measure, V, facet_tags):
        """(term added to the residual or None, right-hand side of the linearised problem,
        Dirichlet conditions) on Γc, with ``load`` the constant that holds the (continued) set-point."""
        raise NotImplementedError

    def summary(self) -> dict:
        """The operation as summary.json's parameters give it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Galvanostatic(Operation):
    """Imposed plating current density i_app [A/m²] (a number in SI or e.g. ``"0.51 mA/cm2"``)."""

    current_density: float
    mode: ClassVar[str] = "galvanostatic"

    def __post_init__(self):
        object.__setattr__(self, "current_density", si(self.current_density, "A/m^2", "0.51 mA/cm2"))

    @property
    def value(self) -> float:
        return self.current_density

    @property
    def applied_current_density(self) -> float:
        return self.current_density

    def counter_terms(self, load, v, ds, V, facet_tags):
        flux = load * v * ds(tags.COUNTER)  # i·n = −i_app: the current enters the SE
        return -flux, flux, []

    def summary(self) -> dict:
        return {"mode": self.mode, "applied_current_density": self.current_density}


@dataclass(frozen=True)
class Potentiostatic(Operation):
    """Imposed SE potential V_app [V] at the counter boundary against the Na metal (a number in
    SI or e.g. ``"20 mV"``)."""

    voltage: float
    mode: ClassVar[str] = "potentiostatic"

    def __post_init__(self):
        object.__setattr__(self, "voltage", si(self.voltage, "V", "20 mV"))

    @property
    def value(self) -> float:
        return self.voltage

    def counter_terms(self, load, v, ds, V, facet_tags):
        mesh = V.mesh
        fdim = mesh.topology.dim - 1
        zero = dolfinx.fem.Constant(mesh, 0.0)
        if V.num_sub_spaces == 0:
            dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facet_tags.find(tags.COUNTER))
            return None, zero * v * ufl.dx, [dolfinx.fem.dirichletbc(load, dofs, V)]
        # a blocked space whose first field is φ (dendrite_fem.physics.mixed_conduction)
        V_phi, _ = V.sub(0).collapse()
        dofs = dolfinx.fem.locate_dofs_topological((V.sub(0), V_phi), fdim, facet_tags.find(tags.COUNTER))
        applied = dolfinx.fem.Function(V_phi)
        applied.x.array[:] = self.voltage
        return None, zero * v * ufl.dx, [dolfinx.fem.dirichletbc(applied, dofs, V.sub(0))]

    def summary(self) -> dict:
        return {"mode": self.mode, "applied_voltage": self.voltage}
