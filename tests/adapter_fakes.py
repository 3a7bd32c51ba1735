"""Shared helpers of the adapter tests: documented payload fixtures, canned
HttpResults and an injectable ``http`` callable that records every request.
(The real-HTTP tests run against the sandboxes; these test building/parsing.)"""

import json
from pathlib import Path

from shipsync.retry import classify
from shipsync.transport import HttpResult

FIXTURES = Path(__file__).parent / "fixtures" / "carriers"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def result(status, data=None, body=None, error_class=None):
    raw = body if body is not None else json.dumps(data).encode() if data is not None else b""
    klass = error_class if error_class else classify(status, None)[0]
    return HttpResult(status, {}, raw, 5, klass, "", None)


class FakeHttp:
    """Answers every request with one result, or routes ``(method, url suffix)``
    to a result or a queue of results (the last one repeats)."""

    def __init__(self, routes):
        if routes is None or isinstance(routes, HttpResult):
            routes = {None: routes} if routes is not None else {}
        self.routes = {k: list(v) if isinstance(v, (list, tuple)) else [v]
                       for k, v in routes.items()}
        self.requests = []

    def __call__(self, req):
        self.requests.append(req)
        for key, queue in self.routes.items():
            if key is None or (req.method == key[0] and req.url.endswith(key[1])):
                return queue.pop(0) if len(queue) > 1 else queue[0]
        raise AssertionError(f"unexpected request {req.method} {req.url}")
