"""The default case written by hand in DOLFINx: the reference the package is timed against.

NAS and NPS at a semicircular Na protrusion (r = 10 µm) in a 400 µm × 100 µm SE window,
Butler–Volmer kinetics on the anode, 0.51 mA/cm² entering at the top (docs/model.md §2):

    ∫ σ ∇φ·∇v dx − ∫_Γc i_app v ds − ∫_Γa i_ct(−φ) v ds = 0,
    i_ct(η) = i0 [exp(αa f η) − exp(−αc f η)],   i_dep = −i_ct.

The discretisation is the package's (``cases/nas_vs_nps_protrusion.toml``): the same Gmsh
geometry and size fields (``--near``, ``--interface``, ``--far`` in µm, from the case's
automatic sizes by default), order-2 curved triangles, P2, the same anode quadrature.  The solve
is SNES Newton with MUMPS below 10 000 DOFs and CG + GAMG above.  It prints (rank 0) one JSON
line: DOFs and max/mean, min/mean of the plating current per electrolyte.  This is what an
expert would write for this one case; ``--naive`` instead is what the closest public scripts
do: a uniform mesh of size ``--far``, straight cells, P1, DOLFINx's default Newton and LU.

    .venv/bin/python benchmarks/handwritten.py [--near 0.625 --interface 0.625 --far 6.67]
"""

import argparse
import json

from mpi4py import MPI

try:
    import dolfinx_solver  # noqa: F401  (the PyPI wheel's MPI before DOLFINx)
except ImportError:
    pass
import dolfinx
import dolfinx.fem.petsc
import dolfinx.io.gmsh
import gmsh
import numpy as np
import ufl

p = argparse.ArgumentParser()
p.add_argument("--near", type=float, default=0.625, help="size at the tip [um]")
p.add_argument("--interface", type=float, default=0.625, help="size along the wall [um]")
p.add_argument("--far", type=float, default=20 / 3, help="size far from the defect [um]")
p.add_argument("--naive", action="store_true", help="uniform mesh of size --far, P1, defaults")
args = p.parse_args()

W, H, R = 400.0, 100.0, 10.0  # µm
I0, ALPHA, F_RT = 13.0, 0.5, 96485.33212 / (8.314462618 * 298.15)  # A/m², -, 1/V
I_APP = 5.1  # A/m²
SIGMA = {"NAS": 0.09, "NPS": 0.01}  # S/m at 298.15 K
ANODE, COUNTER = 11, 12
degree = 1 if args.naive else 2

comm = MPI.COMM_WORLD
gmsh.initialize()
gmsh.option.setNumber("General.Terminal", 0)
if comm.rank == 0:
    occ = gmsh.model.occ
    box = occ.addRectangle(-W / 2, 0, 0, W, H)
    occ.cut([(2, box)], [(2, occ.addDisk(0, 0, 0, R, R))])
    occ.synchronize()
    anode, counter, arc = [], [], []
    for _, c in gmsh.model.getBoundary([(2, box)], oriented=False):
        x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(1, c)
        if y0 > H - 1e-3:
            counter.append(c)
        elif y1 < 1e-3 or (abs(x0 + W / 2) > 1e-3 and abs(x1 - W / 2) > 1e-3):
            anode.append(c)
            if y1 > 1e-3:
                arc.append(c)
    gmsh.model.addPhysicalGroup(2, [box], 1)
    gmsh.model.addPhysicalGroup(1, anode, ANODE)
    gmsh.model.addPhysicalGroup(1, counter, COUNTER)
    if args.naive:
        gmsh.option.setNumber("Mesh.MeshSizeMax", args.far)
        gmsh.option.setNumber("Mesh.MeshSizeMin", args.far)
    else:  # sizes grow at 0.3 per unit length from the tip, the wall and the plane
        f = gmsh.model.mesh.field
        grow = "Min(({far}), ({h}) + 0.3 * ({d}))"
        plane = f.add("MathEval")
        f.setString(plane, "F", grow.format(far=args.far, h=max(args.interface, args.far / 2), d="Abs(y)"))
        tip = f.add("MathEval")
        f.setString(tip, "F", grow.format(far=args.far, h=args.near, d=f"Sqrt(x^2 + (y - {R})^2)"))
        dist = f.add("Distance")
        f.setNumbers(dist, "CurvesList", arc)
        f.setNumber(dist, "Sampling", 200)
        wall = f.add("Threshold")
        f.setNumber(wall, "InField", dist)
        f.setNumber(wall, "SizeMin", args.interface)
        f.setNumber(wall, "SizeMax", args.far)
        f.setNumber(wall, "DistMin", 0.0)
        f.setNumber(wall, "DistMax", (args.far - args.interface) / 0.3)
        smallest = f.add("Min")
        f.setNumbers(smallest, "FieldsList", [plane, tip, wall])
        f.setAsBackgroundMesh(smallest)
        for option in ("MeshSizeExtendFromBoundary", "MeshSizeFromPoints", "MeshSizeFromCurvature"):
            gmsh.option.setNumber(f"Mesh.{option}", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    gmsh.model.mesh.generate(2)
    gmsh.model.mesh.setOrder(degree)
data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, 0, gdim=2)
gmsh.finalize()
mesh, facets = data.mesh, data.facet_tags
mesh.geometry.x[:] *= 1e-6  # µm → m

V = dolfinx.fem.functionspace(mesh, ("Lagrange", degree))
phi, v = dolfinx.fem.Function(V), ufl.TestFunction(V)
sigma = dolfinx.fem.Constant(mesh, 0.0)
ds = ufl.Measure("ds", mesh, subdomain_data=facets)
ds_a = ds(ANODE) if args.naive else ds(ANODE, metadata={"quadrature_degree": 2 * degree + 2})
i_ct = I0 * (ufl.exp(-ALPHA * F_RT * phi) - ufl.exp(ALPHA * F_RT * phi))  # η = −φ
F = ufl.inner(sigma * ufl.grad(phi), ufl.grad(v)) * ufl.dx - I_APP * v * ds(COUNTER) - i_ct * v * ds_a
if args.naive:
    options = {"snes_type": "newtonls", "ksp_type": "preonly", "pc_type": "lu"}
elif V.dofmap.index_map.size_global < 10_000:
    options = {"snes_type": "newtonls", "snes_linesearch_type": "bt", "ksp_type": "preonly",
               "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}  # fmt: skip
else:
    options = {"snes_type": "newtonls", "snes_linesearch_type": "bt", "ksp_type": "cg",
               "pc_type": "gamg", "pc_gamg_threshold": 0.02, "pc_gamg_aggressive_coarsening": 2,
               "mg_levels_ksp_type": "chebyshev", "mg_levels_pc_type": "jacobi", "ksp_rtol": 1e-12}  # fmt: skip
options |= {"snes_rtol": 1e-10, "snes_atol": 1e-20, "snes_error_if_not_converged": True}
problem = dolfinx.fem.petsc.NonlinearProblem(F, phi, petsc_options=options, petsc_options_prefix="hand_")

anode_dofs = dolfinx.fem.locate_dofs_topological(V, 1, facets.find(ANODE))
anode_dofs = anode_dofs[anode_dofs < V.dofmap.index_map.size_local]
area = comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(1.0 * ds_a)))
total = dolfinx.fem.form(-i_ct * ds_a)
result = {"dofs": V.dofmap.index_map.size_global}
for name, value in SIGMA.items():
    sigma.value = value
    phi.x.array[:] = 0.0
    problem.solve()
    mean = comm.allreduce(dolfinx.fem.assemble_scalar(total)) / area
    p = phi.x.array[anode_dofs]
    i_dep = -I0 * (np.exp(-ALPHA * F_RT * p) - np.exp(ALPHA * F_RT * p))
    result[name] = {
        "max_over_mean": comm.allreduce(i_dep.max(initial=-np.inf), op=MPI.MAX) / mean,
        "min_over_mean": comm.allreduce(i_dep.min(initial=np.inf), op=MPI.MIN) / mean,
        "newton_iterations": problem.solver.getIterationNumber(),
    }
if comm.rank == 0:
    print(json.dumps(result))
