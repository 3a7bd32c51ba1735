"""The canonical vocabulary is the suite's own milestone codes: no seed rows."""

SEED: tuple = ()
