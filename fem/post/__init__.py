"""Post-processing: interface metrics and profile, derived fields, ParaView output."""
