from odoo import models  # noqa: F401 (filled by the notifications work)
