# ---
# jupyter:
#   jupytext:
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # NAS vs NPS at a protrusion
#
# The default case of the README with the Python API: a semicircular Na protrusion of radius
# 10 µm reaching into a 100 µm thick solid electrolyte, Butler–Volmer kinetics with
# i0 = 1.3 mA/cm² and galvanostatic plating at 0.51 mA/cm² (Table 1 of Yuan et al., Energy
# Environ. Sci. 18, 4288 (2025), doi:10.1039/d4ee06171c). The SE potential φ solves
# ∇·(σ∇φ) = 0 with i·n = −i_ct(η), η = −φ on the anode (docs/model.md §2); the lower σ of
# Na3PS4 (NPS) lets the geometry decide where the current goes: its Wagner number ℓ_W/a ≈ 2,
# against ≈ 18 for Na3SbS4 (NAS).
#
# Run it as a script (`python demos/nas_vs_nps.py`, or under `mpiexec -n 2`) or open it as a
# notebook with jupytext.

# %%
import dendrite_fem as df

window = df.Window(2, "400 um", "100 um", defects=[df.Defect("protrusion", df.Round("10 um"))])
model = df.Model(window, df.Kinetics("1.3 mA/cm2"), df.Galvanostatic("0.51 mA/cm2"), degree=2)
solutions = {name: model.solve(df.electrolyte(name)) for name in ("NAS", "NPS")}

# %% [markdown]
# The metrics are a dataclass (SI units); the table of the README:

# %%
if model.comm.rank == 0:
    for name, s in solutions.items():
        m = s.metrics
        tip = m.features[0]["plating_current_A_per_m2"]
        print(
            f"{name}: max/mean {m.max_over_mean:.4f}  min/mean {m.min_over_mean:.4f}  "
            f"CV {m.coefficient_of_variation:.4f}  tip {tip * df.units.TO_MA_PER_CM2:.3f} mA/cm2  "
            f"charge balance {m.charge_balance_error:.1e}"
        )

# %% [markdown]
# φ is a DOLFINx function on the model's mesh, the current density i = −σ∇φ a cell field; both
# can go into any DOLFINx post-processing.  `write` lays out the same files as `dendrite-fem run`
# (summary.json, the profile, ParaView fields and figures).

# %%
phi = solutions["NPS"].phi
i_vec, i_mag = solutions["NPS"].current_density
solutions["NPS"].write("results/demo-nas-vs-nps")
