"""shippo partner: see README.md."""
