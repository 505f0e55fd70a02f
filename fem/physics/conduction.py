"""Weak form of ohmic conduction with Butler–Volmer and counter boundaries (docs/model.md §2).

Strong form, on the SE (and interlayer) domain Ω with outward normal n:

    ∇·(σ ∇φ) = 0             in Ω,          i = −σ ∇φ
    i·n = −i_ct(η), η = −φ   on Γa (anode); with a thin-film interlayer of area
                             resistance R_f instead η = −φ − R_f i_ct(η) (dendrite_fem.physics.kinetics.film_overpotential);
                             with a local interfacial pressure field ΔP (dendrite_fem.physics.interface_pressure)
                             i0 becomes i0 exp((1 − αa) V_Na ΔP / RT) point by point
    i·n = −i_app             on Γc (galvanostatic), or φ = V_app (potentiostatic)
    i·n = 0                  on pore walls and sides

Weak form: find φ such that for all v

    F(φ; v) = ∫_Ω σ ∇φ·∇v dx − ∫_Γc i_app v ds − ∫_Γa i_ct(−φ) v ds = 0.

Testing with v = 1 gives the charge balance ∫_Γa (−i_ct) ds = i_app |Γc| exactly
at a converged solution.  The volume term is linear: F(φ) = K φ + (the Γa and Γc terms),
with the stiffness K = ∫_Ω σ ∇δφ·∇v dx, which does not change during a solve.  The
Jacobian is K plus the kinetic term ∫_Γa (d i_ct/dη) δφ v ds ≥ 0
on the anode boundary only; it is symmetric positive definite: CG with multigrid applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx
import numpy as np
import ufl
from dolfinx.fem import Constant, Function

from dendrite_fem.geometry import tags
from dendrite_fem.physics.kinetics import (
    Kinetics,
    butler_volmer_current,
    butler_volmer_slope,
    film_overpotential,
)
from dendrite_fem.physics.operation import Operation


def conductivity_field(
    mesh: dolfinx.mesh.Mesh, cell_tags: dolfinx.mesh.MeshTags, sigma_by_tag: dict[int, float]
) -> Function:
    """Piecewise-constant σ [S/m] from the cell tags; every cell must be covered."""
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    sigma = Function(Q, name="conductivity")
    sigma.x.array[:] = np.nan
    for tag, value in sigma_by_tag.items():
        cells = cell_tags.find(tag)
        sigma.x.array[Q.dofmap.list[cells].ravel()] = value
    num_owned = mesh.topology.index_map(mesh.topology.dim).size_local
    missing = np.isnan(sigma.x.array[Q.dofmap.list[:num_owned].ravel()])
    if mesh.comm.allreduce(int(missing.sum())):
        raise ValueError(
            "some cells carry no conductivity: the mesh has subdomains without a material "
            f"(known tags {sorted(sigma_by_tag)})"
        )
    sigma.x.scatter_forward()
    return sigma


@dataclass
class InterfaceProblem:
    """The pieces of one steady problem: unknown, forms, boundary conditions and the
    constants that continuation and parameter changes update in place."""

    phi: Function
    residual: ufl.Form  #: F(φ; v)
    #: the Γa and Γc terms of F as built, which is K φ + these; the solver evaluates F that way
    #: only while ``residual`` is still ``split_residual`` (a caller may add terms to it)
    boundary_residual: ufl.Form
    split_residual: ufl.Form
    jacobian: ufl.Form  #: stiffness + kinetic_jacobian
    stiffness: ufl.Form  #: the part of the Jacobian that is independent of φ and of the load
    kinetic_jacobian: ufl.Form  #: the Butler–Volmer part, on Γa only
    linearised: tuple[ufl.Form, ufl.Form]  #: (a, L) of the problem with R_ct kinetics
    bcs: list[dolfinx.fem.DirichletBC]
    load: Constant  #: i_app [A/m²] or V_app [V], scaled by continuation
    operation: Operation  #: galvanostatic or potentiostatic (dendrite_fem.physics.operation)
    kinetics: Kinetics
    sigma: Function
    facet_tags: dolfinx.mesh.MeshTags
    ds: ufl.Measure
    ds_anode: ufl.Measure  #: Γa with the fixed quadrature of the kinetics term
    charge_transfer_current: ufl.core.expr.Expr  #: i_ct(η) [A/m²], anodic positive
    overpotential: ufl.core.expr.Expr  #: η at the metal [V]: −φ, or through the thin film
    film_resistance: float = 0.0  #: R_f [Ω m²] of a thin-film interlayer on Γa (0: none)
    constants: dict[str, Constant] = field(default_factory=dict)
    pressure: Function | None = None  #: local ΔP [Pa] on Γa from the mechanics (None: uniform)

    def exchange_current_values(self, dofs: np.ndarray) -> np.ndarray | float:
        """i0 [A/m²] with the pressure factor at the DOFs ``dofs`` of φ's space."""
        k = self.kinetics
        if self.pressure is None:
            return k.effective_exchange_current
        return k.effective_exchange_current * np.exp(k.pressure_coefficient * self.pressure.x.array[dofs])

    def current_values(self, dofs: np.ndarray) -> np.ndarray:
        """i_ct [A/m²] at the DOFs ``dofs`` (on Γa) of the current solution."""
        k = self.kinetics
        eta = self.overpotential_values(self.phi.x.array[dofs])
        return butler_volmer_current(
            eta, self.exchange_current_values(dofs), k.alpha_a * k.f, k.alpha_c * k.f
        )

    def overpotential_values(self, phi: np.ndarray) -> np.ndarray:
        """η [V] at the metal for SE-side potentials ``phi`` (numbers or arrays)."""
        if self.film_resistance == 0.0:
            return -np.asarray(phi)
        k = self.kinetics
        return film_overpotential(
            np.asarray(phi),
            k.effective_exchange_current,
            k.alpha_a * k.f,
            k.alpha_c * k.f,
            self.film_resistance,
            butler_volmer_slope(k),
        )

    def set_load_fraction(self, fraction: float) -> None:
        """Scale the applied current or voltage to ``fraction`` of its target."""
        # the potentiostatic Dirichlet condition holds this same constant
        self.load.value = fraction * self.operation.value


def interface_problem(
    V: dolfinx.fem.FunctionSpace,
    sigma: Function,
    facet_tags: dolfinx.mesh.MeshTags,
    kinetics: Kinetics,
    operation: Operation,
    film_resistance: float = 0.0,
    pressure: Function | None = None,
) -> InterfaceProblem:
    """Assemble the UFL forms of the steady problem on the space ``V``; ``film_resistance``
    [Ω m²] puts a thin ionic film in series with the kinetics on Γa; ``pressure`` (a
    function on ``V``, [Pa]) is the local ΔP of the Butler–Volmer pressure factor, which
    multiplies i0 (that of ``kinetics``, uniform ΔP included) point by point."""
    if not (film_resistance >= 0.0 and np.isfinite(film_resistance)):
        raise ValueError(
            f"the film resistance must be finite and non-negative, got {film_resistance!r} ohm m^2"
        )
    if pressure is not None and film_resistance > 0.0:
        raise ValueError(
            "a local pressure field and a thin-film interlayer together are not supported; "
            "use a meshed interlayer with the mechanics"
        )
    if pressure is not None and pressure.function_space != V:
        raise ValueError("the pressure field must live on the potential's function space")
    mesh = V.mesh
    phi = Function(V, name="potential")
    v = ufl.TestFunction(V)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    c = {
        "i0": Constant(mesh, kinetics.effective_exchange_current),
        "alpha_a_f": Constant(mesh, kinetics.alpha_a * kinetics.f),
        "alpha_c_f": Constant(mesh, kinetics.alpha_c * kinetics.f),
        # the linearised law, film included: i_ct ≈ η_φ / (R_ct + R_f) with η_φ = −φ
        "slope": Constant(mesh, 1.0 / (1.0 / butler_volmer_slope(kinetics) + film_resistance)),
    }
    load = Constant(mesh, float(operation.value))
    i0 = c["i0"]
    if pressure is not None:
        c["pressure_coefficient"] = Constant(mesh, kinetics.pressure_coefficient)
        i0 = c["i0"] * ufl.exp(c["pressure_coefficient"] * pressure)
    if film_resistance > 0.0:
        eta = film_overpotential(
            phi,
            c["i0"],
            c["alpha_a_f"],
            c["alpha_c_f"],
            Constant(mesh, film_resistance),
            Constant(mesh, butler_volmer_slope(kinetics)),
            exp=ufl.exp,
        )
    else:
        eta = -phi
    i_ct = butler_volmer_current(eta, i0, c["alpha_a_f"], c["alpha_c_f"], exp=ufl.exp)
    # one quadrature for the exponential term in F, in J = dF/dφ and in the metrics:
    # estimated separately they differ, and Newton then converges only linearly
    degree = V.ufl_element().embedded_superdegree
    ds_anode = ds(tags.ANODE, metadata={"quadrature_degree": 2 * degree + 2})
    boundary = -i_ct * v * ds_anode

    u = ufl.TrialFunction(V)
    stiffness = ufl.inner(sigma * ufl.grad(u), ufl.grad(v)) * ufl.dx
    kinetic_jacobian = ufl.derivative(-i_ct * v * ds_anode, phi, u)
    # i_ct ≈ slope · η = −slope · φ: a Robin condition with R_ct
    a = ufl.inner(sigma * ufl.grad(u), ufl.grad(v)) * ufl.dx + c["slope"] * u * v * ds(tags.ANODE)
    counter_residual, L, bcs = operation.counter_terms(load, v, ds, V, facet_tags)
    if counter_residual is not None:
        boundary = boundary + counter_residual
    F = ufl.inner(sigma * ufl.grad(phi), ufl.grad(v)) * ufl.dx + boundary
    return InterfaceProblem(
        phi=phi,
        residual=F,
        boundary_residual=boundary,
        split_residual=F,
        jacobian=stiffness + kinetic_jacobian,
        stiffness=stiffness,
        kinetic_jacobian=kinetic_jacobian,
        linearised=(a, L),
        bcs=bcs,
        load=load,
        operation=operation,
        kinetics=kinetics,
        sigma=sigma,
        facet_tags=facet_tags,
        ds=ds,
        ds_anode=ds_anode,
        charge_transfer_current=i_ct,
        overpotential=eta,
        film_resistance=film_resistance,
        constants=c,
        pressure=pressure,
    )
