# ---
# jupyter:
#   jupytext:
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # From a segmented image to NAS vs NPS
#
# A cross-section segmented into labels — here `cases/data/section.png`, metal 0 below and SE
# 255 above, 0.25 µm pixels — becomes the window: the smoothed boundary of the metal pixels is the
# anode interface, the SE reaches up to the top of the image (docs/case-files.md,
# `[geometry.image]`). The same model then compares the two electrolytes at that interface.

# %%
from pathlib import Path

import dendrite_fem as df
from dendrite_fem.geometry.image import read_labels, section_interface
from dendrite_fem.geometry.volume import VoxelVolume

image = Path(__file__).resolve().parents[1] / "cases" / "data" / "section.png"
labels = read_labels(image)
window = section_interface(labels, "0.25 um", metal=0, electrolyte=255)
model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)

# %% [markdown]
# The tip is the interface's highest point; where the SE conducts worse (NPS), more of the
# current goes to it:

# %%
for name in ("NAS", "NPS"):
    m = model.solve(df.electrolyte(name)).metrics
    tip = m.features[0]
    if model.comm.rank == 0:
        print(
            f"{name}: tip at {tip['point_m'][0] * 1e6:.1f} um, {tip['point_m'][1] * 1e6:.2f} um high, "
            f"tip/mean {tip['ratio_to_mean']:.4f}, max/mean {m.max_over_mean:.4f}, CV {m.coefficient_of_variation:.4f}"
        )

# %% [markdown]
# ## In 3D: a segmented voxel volume
#
# A tomography volume labelled metal 1, SE 2, void 3 — here `cases/data/volume.tif`, a 64³
# synthetic sample (`dendrite_fem.geometry.synthetic.interface_volume`) with voids where contact
# is lost — becomes a 3D window the same way (docs/case-files.md, `[geometry.volume]`): its
# interface is the marching-cubes surface of the SE, anode where metal lies beyond it and pore
# wall where a void does. The voids take part of the contact away, so the mean plating current
# on the anode exceeds the applied one:

# %%
stack = image.parent / "volume.tif"
volume = VoxelVolume(read_labels(stack, ndim=3), "0.5 um", metal=1, electrolyte=2, void=3)
model3d = df.Model(volume, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"))
for name in ("NAS", "NPS"):
    m = model3d.solve(df.electrolyte(name)).metrics
    if model3d.comm.rank == 0:
        print(
            f"{name} (volume): contact {m.anode_area / (m.anode_area + m.pore_area):.3f}, "
            f"mean/applied {m.mean_plating_current_density / m.applied_current * m.counter_area:.4f}, "
            f"max/mean {m.max_over_mean:.4f}, CV {m.coefficient_of_variation:.4f}"
        )
