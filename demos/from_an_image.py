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
