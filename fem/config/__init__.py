"""Configuration, translated once at the edge: a case file is read and overridden
(:mod:`~dendrite_fem.config.load`), checked against the schema (:mod:`~dendrite_fem.config.schema`)
and resolved into the domain objects a model runs on (:mod:`~dendrite_fem.config.resolve`)."""
