"""generic_rest partner: see README.md."""
