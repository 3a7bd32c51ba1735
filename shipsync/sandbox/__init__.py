"""Local partner servers on loopback for the demo, the tests and the benchmarks.

Run one in the foreground with ``python -m shipsync.sandbox <name> --port N``.
"""

from .common import BackgroundServer, SandboxHandler, SandboxHTTPServer
from .receiver import Receiver

__all__ = ["BackgroundServer", "Receiver", "SandboxHTTPServer", "SandboxHandler"]
