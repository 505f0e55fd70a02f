# ---
# jupyter:
#   jupytext:
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # A geometry built in Python
#
# Two defects on one interface: a pore (a semicircular void, its walls insulating) and a conical
# protrusion with a rounded tip, in a 2D window; the mesh is refined near both by the builders'
# size fields. Lengths are SI numbers or strings with units.

# %%
import dendrite_fem as df

window = df.Window(
    2,
    width="300 um",
    thickness="80 um",
    defects=[
        df.Defect("pore", df.Round("8 um"), x="-60 um"),
        df.Defect("protrusion", df.Cone(height="12 um", half_angle="20 deg", tip_radius="1 um"), x="60 um"),
    ],
)
model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)
s = model.solve(df.electrolyte("NPS"))

# %% [markdown]
# Each defect reports the plating current at its tip or rim, and its ratio to the mean:

# %%
if model.comm.rank == 0:
    print(f"{model.num_dofs} DOFs, charge balance {s.metrics.charge_balance_error:.1e}")
    for f in s.metrics.features:
        print(
            f"{f['name']}: {f['plating_current_A_per_m2'] * df.units.TO_MA_PER_CM2:.3f} mA/cm2, "
            f"{f['ratio_to_mean']:.3f} x mean"
        )
