"""Who signs the suite's automatic chatter. A partner's webhook runs as
Odoo's public user; its milestones, tracked changes and exception notes must
not read "Public user" in the transfer's chatter: OdooBot signs them, as it
signs what the crons do."""

from odoo import models


def automatic_author(env, author_id, email_from):
    """``author_id`` for ``_message_compute_author``: OdooBot's partner when
    nobody chose an author and the current user is the public user, else
    ``author_id`` unchanged."""
    if author_id is None and not email_from and env.user._is_public():
        return env.ref("base.partner_root").id
    return author_id


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        return super()._message_compute_author(
            automatic_author(self.env, author_id, email_from), email_from, raise_on_email)
