from odoo import models  # noqa: F401 (filled by issue 7 work)
