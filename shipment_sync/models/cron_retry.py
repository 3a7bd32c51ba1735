"""One home for the rule "a cron retries a serialization conflict instead of
failing its run"; every cron of the suite goes through :func:`retry_conflicts`."""

import functools
import logging
import random
import time

from psycopg2 import errorcodes

from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE, PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

_logger = logging.getLogger(__name__)

#: Context key set while a cron's work runs under :func:`retry_conflicts` (an
#: override calling ``super()`` must not start a second, nested retry loop:
#: its rollback would drop the outer work already done).
RETRYING = "shipment_sync_cron_retrying"


def retry_conflicts(method):
    """Decorate a cron method: when its transaction hits a serialization failure
    or a deadlock (a webhook updating the same pickings, another worker, a user),
    the transaction is rolled back and the work runs again in a fresh one, the
    way Odoo retries a JSON-RPC request (``odoo.service.model.retrying``: same
    errors, up to 5 tries, random exponential wait), but without committing:
    the cron's caller commits as usual. A cron that commits its batches as it
    goes only redoes the batch that conflicted. Any other error still fails the
    run."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.env.context.get(RETRYING):
            return method(self, *args, **kwargs)
        me = self.with_context(**{RETRYING: True})
        env = self.env
        for tryno in range(1, MAX_TRIES_ON_CONCURRENCY_FAILURE + 1):
            try:
                result = method(me, *args, **kwargs)
                env.flush_all()  # a conflict surfaces here, inside the loop
                return result
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as exc:
                if env.cr.closed or tryno == MAX_TRIES_ON_CONCURRENCY_FAILURE:
                    raise
                env.cr.rollback()
                env.reset()
                env.registry.reset_changes()
                wait = random.uniform(0.0, 2**tryno)
                _logger.info("%s: %s, try %s again in %.2f s", method.__qualname__,
                             errorcodes.lookup(exc.pgcode), tryno + 1, wait)
                time.sleep(wait)
        raise RuntimeError("unreachable")  # pragma: no cover

    wrapper.shipment_sync_retry_conflicts = True
    return wrapper
