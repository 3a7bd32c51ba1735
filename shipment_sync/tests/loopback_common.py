"""The one setup of the tests that talk to a sandbox over real HTTP on loopback (the
outbox, WMS, TMS and sales-channel tests): import it from any addon's tests as
``odoo.addons.shipment_sync.tests.loopback_common``."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from odoo.tests.common import BlockedRequest, _super_send

from odoo.addons.shipment_sync.models.shipment_sync_job import utcnow


class LoopbackMixin:
    """Mix before ``TransactionCase`` / ``HttpCase``: loopback-only outbound HTTP,
    tracking off, sandboxes stopped with the class, and the outbox worker run inside
    the test (``run_worker``)."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Odoo's test guard against external requests assumes a single number as
        timeout (it compares ``timeout < 10``); the outbox always passes ``(connect,
        read)``. Same guard, loopback only, timeouts untouched."""
        if urlsplit(r.url).hostname not in ("127.0.0.1", "localhost"):
            raise BlockedRequest(f"External requests verboten (was {r.method} {r.url})")
        return _super_send(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))

    @classmethod
    def start_sandbox(cls, sandbox):
        """Start ``sandbox`` (a ``BackgroundServer``) for the class; stopped after it."""
        sandbox.start()
        cls.addClassCleanup(sandbox.stop)
        return sandbox

    @classmethod
    def make_sandbox_partner(cls, name, kind, sandbox, **vals):
        """A partner whose outbound calls go to ``sandbox``."""
        return cls.env["shipment.sync.partner"].create({
            "name": name, "code": f"{kind}-{uuid.uuid4().hex[:8]}", "kind": kind,
            "outbox_base_url": sandbox.url, "outbox_connect_timeout": 2.0,
            "outbox_read_timeout": 10.0, "outbox_retry_max_attempts": 3, **vals})

    def setUp(self):
        super().setUp()
        self.t0 = utcnow() + timedelta(seconds=1)

    def run_worker(self, seconds=0.0):
        """Flush (the worker's cursor has a cache of its own, like another transaction)
        and run the worker once. Jobs enqueued after setUp are due at their own enqueue
        time: on a loaded machine that can be past t0, so its clock is never before now."""
        self.env.flush_all()
        now = max(self.t0, utcnow() + timedelta(seconds=1))
        stats = self.env["shipment.sync.job"]._outbox_work(
            channels=("high",), now=now + timedelta(seconds=seconds))
        self.env.invalidate_all()
        return stats
