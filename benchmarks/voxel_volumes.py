"""Meshing time, size, memory and 1 vs N ranks for segmented voxel volumes (issue 19), for
docs/performance.md "Voxel volumes".

A synthetic volume (``dendrite_fem.geometry.synthetic.interface_volume``, seed 0: a rough anode
with porespy's overlapping spheres as voids at the interface), 0.5 µm voxels, P1, NAS and NPS at
0.51 mA/cm²; one line per run with the phases, the sizes and the metrics to 9 digits::

    .venv/bin/mpiexec -n 2 .venv/bin/python benchmarks/voxel_volumes.py 128 256 256

(z, y, x voxels).  Run it under ``/usr/bin/time -f "%e s %M kB"`` for the wall time and the
largest resident set of one rank.
"""

from __future__ import annotations

import sys
import time

start = time.perf_counter()

import dendrite_fem as df  # noqa: E402
from dendrite_fem.geometry.synthetic import ELECTROLYTE, METAL, VOID, interface_volume  # noqa: E402
from dendrite_fem.geometry.volume import VoxelVolume  # noqa: E402


def main() -> int:
    shape = tuple(int(n) for n in sys.argv[1:4]) if len(sys.argv) >= 4 else (64, 64, 64)
    volume = VoxelVolume(interface_volume(shape, seed=0), "0.5 um", METAL, ELECTROLYTE, VOID)
    model = df.Model(volume, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=1)
    comm = model.comm
    t = time.perf_counter()
    mesh = model.mesh.mesh  # Gmsh on rank 0, then distributed
    meshing = time.perf_counter() - t
    dofs, cells = model.num_dofs, mesh.topology.index_map(3).size_global
    lines = [
        f"{shape} on {comm.size} rank(s): set-up {t - start:.1f} s, meshing + distribution "
        f"{meshing:.1f} s, {cells} cells, {dofs} DOFs"
    ]
    for name in ("NAS", "NPS"):
        t = time.perf_counter()
        m = model.solve(df.electrolyte(name)).metrics
        lines.append(
            f"  {name}: max/mean {m.max_over_mean:.9f}, CV {m.coefficient_of_variation:.9f}, charge "
            f"balance {m.charge_balance_error:.1e}, solve {time.perf_counter() - t:.1f} s"
        )
    lines.append(f"  whole process {time.perf_counter() - start:.1f} s")
    if comm.rank == 0:
        print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
