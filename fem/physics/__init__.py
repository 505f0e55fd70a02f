"""The physics: materials, Butler–Volmer kinetics, ohmic conduction, mechanics and the stress
coupling, the mixed-conducting interphase, sharp-interface growth and the phase-field model."""
