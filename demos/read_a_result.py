# ---
# jupyter:
#   jupytext:
#     text_representation:
#       format_name: percent
# ---

# %% [markdown]
# # Reading a result directory back
#
# A finished result of `dendrite-fem run` (or of `Solution.write`) is a folder: summary.json,
# interface_profile.csv and the ParaView files. `read_result` gives them back as Python objects,
# here for the result the first demo wrote (or any other; pass its path as the first argument).

# %%
import sys

import dendrite_fem as df

path = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "results/demo-nas-vs-nps"
result = df.read_result(path)
for name in result.electrolytes:
    m = result.metrics(name)
    print(f"{name}: max/mean {m.max_over_mean:.4f}, mean plating {m.mean_plating_current_density:.4g} A/m2")

# %% [markdown]
# The profile as columns (SI; `boundary` says anode or pore wall), and the fields with meshio:

# %%
profile = result.profile
name = result.electrolytes[0]
i_dep = profile[f"i_dep_{name}_A_per_m2"]
print(
    f"{len(i_dep)} points along the interface, peak {i_dep.max():.4g} A/m2 at x = {profile['x_m'][i_dep.argmax()]:.3g} m"
)
if result.fields:
    import meshio

    grid = meshio.read(result.fields[name])
    print(f"fields_{name}.vtu: {len(grid.points)} points, cell data {sorted(grid.cell_data)}")
