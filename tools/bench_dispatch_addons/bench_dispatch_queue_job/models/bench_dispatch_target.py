import requests

from odoo import api, models

from odoo.addons.queue_job.exception import RetryableJobError


class BenchDispatchTarget(models.AbstractModel):
    """The job body of the queue_job side of the benchmark: one POST with an
    Idempotency-Key, like an outbox ``http_call`` job."""

    _name = "bench.dispatch.target"
    _description = "Benchmark dispatch target"

    @api.model
    def post(self, url, key, body):
        resp = requests.post(url, json=body, headers={"Idempotency-Key": key},
                             timeout=(5, 30))
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RetryableJobError(f"HTTP {resp.status_code}")
        resp.raise_for_status()
        return resp.status_code
