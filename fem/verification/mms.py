"""Manufactured solutions of the full nonlinear problem.

The exact potential lives on a window with a curved anode (a semicircular or
hemispherical protrusion) and two conductivities (an interlayer band 0 < y < t of
σ1 under the SE of σ2; y is the coordinate normal to the interface):

    φ_ex = φ0 + φ1 c(x) + j (1 + 0.3 sin(π x1/ℓ)) s(y),
    s(y) = y/σ1 for y < t,  t/σ1 + (y − t)/σ2 above,

with c(x) = cos(π x1/ℓ) (2D) or cos(π x1/ℓ) cos(π x2/ℓ) (3D).  φ_ex is continuous and
so is its normal flux σ ∂φ/∂y across the band's top, so it solves a transmission
problem without interface sources.  The solver's residual is completed by

    f   = −σ Δφ_ex                       in Ω (per subdomain),
    g_a = σ∇φ_ex·n − i_ct(−φ_ex)         on Γa  (Butler–Volmer is kept in full),
    g   = σ∇φ_ex·n                       on Γc, sides and pore walls (i_app = 0),

so φ_ex is its exact solution; the error then converges at the rates of the
element: ‖e‖_L2 = O(h^{k+1}), |e|_H1 = O(h^k) for degree k (with geometry of the
same order on the curved boundary).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import dolfinx
import numpy as np
import ufl
from mpi4py import MPI

from dendrite_fem.geometry import tags
from dendrite_fem.geometry.spec import Defect, MeshSizes, Round, Window
from dendrite_fem.model import Model
from dendrite_fem.numerics.solver import SolverOptions, solve_interface
from dendrite_fem.physics.conduction import InterfaceProblem
from dendrite_fem.physics.kinetics import Kinetics
from dendrite_fem.physics.materials import Layer, electrolyte
from dendrite_fem.physics.operation import Galvanostatic
from dendrite_fem.verification import references

UM = 1e-6
SIGMA_BAND, SIGMA_SE = 0.01, 0.09  #: S/m, an NPS-like interlayer under an NAS-like SE
PHI0, PHI1, J = 0.02, 0.01, 5.0  #: V, V, A/m²: η from −10 to −40 mV, well in the nonlinear range


def mms_window(dim: int, h: float, order: int) -> Window:
    """The MMS window: W × L (× W) with a protrusion of radius 8 µm and a flat 5 µm band
    (σ_ex below switches on y < t, so the band must not coat the protrusion)."""
    width, thick = (60 * UM, 40 * UM) if dim == 2 else (40 * UM, 30 * UM)
    return Window(
        dim,
        width,
        thick,
        defects=(Defect("protrusion", Round(8 * UM)),),
        sizes=MeshSizes(h, h, h),
        interlayer_thickness=5 * UM,
        interlayer_coats_defects=False,
    )


def exact_potential(x, dim: int, band: float, length: float):
    """φ_ex as a UFL expression of the spatial coordinate ``x``."""
    y = x[dim - 1]
    c = ufl.cos(math.pi * x[0] / length)
    if dim == 3:
        c = c * ufl.cos(math.pi * x[1] / length)
    s = ufl.conditional(ufl.lt(y, band), y / SIGMA_BAND, band / SIGMA_BAND + (y - band) / SIGMA_SE)
    return PHI0 + PHI1 * c + J * (1 + 0.3 * ufl.sin(math.pi * x[0] / length)) * s


def with_sources(problem: InterfaceProblem, phi_ex, sigma_ex, i_ct_ex) -> InterfaceProblem:
    """The problem of which ``phi_ex`` is the exact solution (see the module doc).

    ``sigma_ex`` and ``i_ct_ex`` are the conductivity and the Butler–Volmer current written
    independently of the solver (from the coordinates and references.py's constants): a wrong
    σ or F/RT in the solver then breaks the convergence instead of cancelling out."""
    V = problem.phi.function_space
    v = ufl.TestFunction(V)
    mesh = V.mesh
    n = ufl.FacetNormal(mesh)
    c = problem.constants
    f = -sigma_ex * ufl.div(ufl.grad(phi_ex))
    flux = ufl.inner(sigma_ex * ufl.grad(phi_ex), n)
    i_ct = i_ct_ex
    # the sources get measures of their own: summed into the integrals of σ∇φ·∇v they would
    # raise its quadrature in F but not in J, and on curved cells J would then not be F'
    q = {"quadrature_degree": 2 * V.ufl_element().embedded_superdegree + 4}
    dx_s = ufl.dx(domain=mesh, metadata=q)
    ds_s = ufl.Measure("ds", domain=mesh, subdomain_data=problem.facet_tags, metadata=q)
    other = ds_s(tags.COUNTER) + ds_s(tags.SIDE) + ds_s(tags.PORE)
    sources = f * v * dx_s + flux * v * ds_s(tags.ANODE) - i_ct * v * problem.ds_anode + flux * v * other
    a, L = problem.linearised
    # the linearised guess gets the sources too, with i_ct(−φ_ex) ≈ −slope φ_ex
    lin_sources = f * v * dx_s + (flux + c["slope"] * phi_ex) * v * ds_s(tags.ANODE) + flux * v * other
    return dataclasses.replace(problem, residual=problem.residual - sources, linearised=(a, L + lin_sources))


@dataclass
class MMSResult:
    h: float
    dofs: int
    l2: float
    h1: float


def mms_errors(dim: int, degree: int, h: float, comm: MPI.Comm = MPI.COMM_WORLD) -> MMSResult:
    """Solve the manufactured problem on a mesh of size ``h`` and return its errors."""
    window = mms_window(dim, h, degree)
    i0, alpha_a, alpha_c, temperature = 13.0, 0.4, 0.6, 298.15
    # no applied current: the sources below carry the whole flux through Γc
    model = Model(
        window,
        Kinetics(i0, alpha_a, alpha_c, temperature),
        Galvanostatic(0.0),
        degree=degree,
        solver=SolverOptions(rtol=1e-12, linear_solver="direct"),
        comm=comm,
    )
    band = window.interlayer_thickness
    se = electrolyte(name="mms", conductivity=SIGMA_SE, interlayer=Layer("band", SIGMA_BAND, band))
    base, _ = model.problem(se)
    x = ufl.SpatialCoordinate(model.mesh.mesh)
    phi_ex = exact_potential(x, dim, band, window.width)
    sigma_ex = ufl.conditional(ufl.lt(x[dim - 1], band), SIGMA_BAND, SIGMA_SE)
    f = references.FARADAY / (references.GAS_CONSTANT * temperature)
    i_ct_ex = i0 * (ufl.exp(alpha_a * f * -phi_ex) - ufl.exp(-alpha_c * f * -phi_ex))
    problem = with_sources(base, phi_ex, sigma_ex, i_ct_ex)
    # the solve alone: the metrics of a source-driven problem at zero applied current mean nothing
    solve_interface(problem, model.solver)
    e = problem.phi - phi_ex
    dx = ufl.dx(metadata={"quadrature_degree": 2 * degree + 4})

    def norm(expr) -> float:
        return math.sqrt(comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * dx)), op=MPI.SUM))

    return MMSResult(h, model.num_dofs, norm(e * e), norm(ufl.inner(ufl.grad(e), ufl.grad(e))))


def observed_rates(results: list[MMSResult]) -> tuple[float, float]:
    """Least-squares slopes of log e against log h over all meshes, in L2 and H1
    (a fit is steadier than successive ratios on unstructured, non-nested meshes)."""
    h = np.log([r.h for r in results])
    l2 = np.polyfit(h, np.log([r.l2 for r in results]), 1)[0]
    h1 = np.polyfit(h, np.log([r.h1 for r in results]), 1)[0]
    return float(l2), float(h1)
