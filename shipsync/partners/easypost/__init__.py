"""easypost partner: see README.md."""
