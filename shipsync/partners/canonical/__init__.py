"""canonical partner: see README.md."""
