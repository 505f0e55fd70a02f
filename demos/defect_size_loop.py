# ---
# jupyter:
#   jupytext:
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # A loop over defect sizes
#
# How much the protrusion focuses the plating current as it grows, for NAS and NPS: the tip
# current over the applied current against the radius a. The window stays 40 radii wide, so the
# defect is isolated at every size; each radius is its own mesh, and each mesh serves both
# electrolytes. For many runs, in parallel or on a cluster, a sweep file does the same from the
# command line (`dendrite-fem sweep`, docs/cluster.md).

# %%
import dendrite_fem as df

kinetics, operation = df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2")
rows = []
for radius_um in (2, 5, 10):
    window = df.Window(
        2, f"{40 * radius_um} um", "100 um", defects=[df.Defect("protrusion", df.Round(f"{radius_um} um"))]
    )
    model = df.Model(window, kinetics, operation, degree=2)
    for name in ("NAS", "NPS"):
        tip = model.solve(df.electrolyte(name)).metrics.features[0]
        rows.append((radius_um, name, tip["ratio_to_applied"]))

# %%
if model.comm.rank == 0:
    for radius_um, name, ratio in rows:
        print(f"a = {radius_um:2d} um  {name}: tip / applied = {ratio:.4f}")
