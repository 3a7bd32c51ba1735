"""`make bench-poll`: tracking polls of BENCH_N (10,000) non-terminal shipments against
the carrier sandbox on loopback, three ways in the same run:

* shipsync poller: ``shipsync.carrier_poll.plan`` (due shipments, batches of
  BENCH_BATCH tracking numbers) + ``EasyPostAdapter.track_batch`` (EasyPost's
  ``POST /v2/trackers/batch``) on one pooled
  keep-alive session;
* naive: one ``POST /v2/trackers`` per shipment, a new connection each time;
* naive pooled: one request per shipment on one keep-alive session (to separate the
  gain of batching from the gain of connection reuse).

Each way parses the answers into canonical events (the same work the Odoo cron hands
to the ledger). Reports shipments/s, HTTP requests (counted by the sandbox) and events.
The Odoo side (ledger insert + state machine) is not part of this measure."""

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from shipsync import carrier_poll as cp  # noqa: E402
from shipsync import transport  # noqa: E402
from shipsync.partners.easypost.outbound import EasyPostAdapter  # noqa: E402
from shipsync.sandbox.carrier import CarrierSandbox  # noqa: E402


def run(name, sandbox, work):
    before = sandbox.requests
    started = time.perf_counter()
    events = work()
    seconds = time.perf_counter() - started
    return {"method": name, "seconds": round(seconds, 3), "requests": sandbox.requests - before,
            "events": events}


def main():
    n = int(os.environ.get("BENCH_N", "10000"))
    batch = int(os.environ.get("BENCH_BATCH", "100"))
    sandbox = CarrierSandbox().start()
    try:
        codes = sandbox.seed_trackers(n, steps=2)
        now = datetime(2026, 11, 2, 12, 0)
        shipments = [cp.Shipment(key=i, tracking_numbers=(c,), milestone="in_transit")
                     for i, c in enumerate(codes)]
        policy = cp.PollPolicy(batch_size=batch, max_shipments=n)

        def poller():
            session = transport.new_session(pool_size=2)
            adapter = EasyPostAdapter(sandbox.url, "bench-key",
                                      http=lambda r: transport.send(session, r))
            plan = cp.plan(policy, shipments, now)
            events = 0
            for chunk in plan.batches:
                found = adapter.track_batch(list(chunk))
                found.pop(None, None)
                events += sum(len(v) for v in found.values())
            session.close()
            return events

        def naive():
            def fresh(req):
                with requests.Session() as session:  # a new TCP connection per request
                    return transport.send(session, req)

            adapter = EasyPostAdapter(sandbox.url, "bench-key", http=fresh)
            return sum(len(adapter.track([code])) for code in codes)

        def naive_pooled():
            session = transport.new_session(pool_size=2)
            adapter = EasyPostAdapter(sandbox.url, "bench-key",
                                      http=lambda r: transport.send(session, r))
            events = sum(len(adapter.track([code])) for code in codes)
            session.close()
            return events

        results = [run("shipsync poller (batched, pooled)", sandbox, poller),
                   run("naive (1 request/shipment, new connection)", sandbox, naive),
                   run("naive pooled (1 request/shipment, keep-alive)", sandbox, naive_pooled)]
    finally:
        sandbox.stop()
    print(f"bench-poll: {n} non-terminal shipments, batch {batch}, sandbox on loopback")
    print(f"{'method':48} {'seconds':>8} {'shipments/s':>12} {'requests':>9} {'events':>8}")
    for r in results:
        r["shipments_per_s"] = round(n / r["seconds"], 1) if r["seconds"] else None
        print(f"{r['method']:48} {r['seconds']:8.2f} {r['shipments_per_s']:12.1f} "
              f"{r['requests']:9d} {r['events']:8d}")
    base = results[1]
    print(f"speed-up vs naive: {results[0]['shipments_per_s'] / base['shipments_per_s']:.1f}x, "
          f"requests: {results[0]['requests']} vs {base['requests']}")
    print("json " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
