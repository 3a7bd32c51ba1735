"""sendcloud partner: see README.md."""
