"""``python -m shipsync.sandbox <server> [--port N] [--verbose] [--set knob=value ...]``.

Add a server with one line in :data:`COMMANDS`: ``name -> callable(args) -> exit code``.
Every subcommand gets the common options ``--host``, ``--port``, ``--verbose`` and
``--set`` (repeatable ``name=value``, value parsed as JSON when it can be, available as
``args.options``). The servers print ``<name> listening on <url>`` on stdout once bound.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable


def _options(pairs: list[str]) -> dict:
    options = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects name=value, got {pair!r}")
        try:
            options[name] = json.loads(value)
        except ValueError:
            options[name] = value
    return options


def _serve(server, name: str) -> int:
    server._bind()
    print(f"{name} listening on {server.url}", flush=True)
    server.serve_forever()
    return 0


def run_receiver(args: argparse.Namespace) -> int:
    """Controllable webhook/API receiver (see shipsync.sandbox.receiver)."""
    from .receiver import Receiver

    server = Receiver(port=args.port, host=args.host, verbose=args.verbose, **args.options)
    return _serve(server, "receiver")


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "receiver": run_receiver,
    "carrier": lambda args: __import__("shipsync.sandbox.carrier", fromlist=["run"]).run(args),
    "wms": lambda args: __import__("shipsync.sandbox.wms", fromlist=["run"]).run(args),
    "amazon": lambda args: __import__("shipsync.partners.amazon.sandbox",
                                      fromlist=["run"]).run(args),
    "tms": lambda args: __import__("shipsync.partners.tms.sandbox", fromlist=["run"]).run(args),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shipsync.sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in COMMANDS.items():
        cmd = sub.add_parser(name, help=(func.__doc__ or name).strip().splitlines()[0])
        cmd.add_argument("--host", default="127.0.0.1", help="bind address (loopback)")
        cmd.add_argument("--port", type=int, default=0, help="port (0: any free port)")
        cmd.add_argument("--verbose", action="store_true", help="one line per call on stderr")
        cmd.add_argument("--set", dest="set", action="append", default=[], metavar="NAME=VALUE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.options = _options(args.set)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
