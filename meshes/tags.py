"""Fixed names and integer tags of the Gmsh physical groups (docs/model.md §1).

The solver reads these numbers; every geometry builder writes them.  They are
fixed so that a mesh written by one version can be read by another.
"""

from __future__ import annotations

#: cell groups (subdomains)
ELECTROLYTE = 1
INTERLAYER = 2

#: facet groups (boundaries)
ANODE = 11  #: SE/anode interface Γa, flat parts and metal-filled defect walls
COUNTER = 12  #: top of the window Γc, where the applied current enters
PORE = 13  #: insulating pore/void walls Γv
SIDE = 14  #: lateral window sides (mirror symmetry, zero flux)

CELL_TAGS = {"electrolyte": ELECTROLYTE, "interlayer": INTERLAYER}
FACET_TAGS = {"anode": ANODE, "counter": COUNTER, "pore": PORE, "side": SIDE}
