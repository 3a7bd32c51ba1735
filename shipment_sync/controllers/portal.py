from odoo import http  # noqa: F401 (filled by the tracking pages work)
