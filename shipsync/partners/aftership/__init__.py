"""aftership partner: see README.md."""
