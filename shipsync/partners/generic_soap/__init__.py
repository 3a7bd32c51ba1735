"""generic_soap partner: see README.md."""
