{
    "name": "Bench dispatch: OCA queue_job target",
    "summary": "Benchmark only (tools/bench_dispatch.py): the same outbound POST as an "
    "outbox http_call job, run as an OCA queue_job job. Never a dependency of the suite.",
    "version": "18.0.1.0.0",
    "license": "LGPL-3",
    "author": "Shipment Sync",
    "depends": ["queue_job"],
    "data": [],
    "installable": True,
}
