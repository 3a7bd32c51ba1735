"""Typed outbox handlers: what runs the jobs of one operation.

The Odoo model keeps the registry (``shipment.sync.job._outbox_handlers``, extended by
each addon through ``super()``); its values are :class:`Handler` records, added with
:func:`register`, which refuses an operation registered twice and anything that is not
a :class:`Handler`. A test of the core addon checks that every method a handler names
exists on its model, for every installed addon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .policy import CHANNELS

#: The model whose methods a handler names when it does not say (the job model).
DEFAULT_MODEL = "shipment.sync.job"
#: The hooks a handler may name, in the order a job meets them.
HOOKS = ("prepare", "done", "dead")


@dataclass(frozen=True)
class Handler:
    """The methods that run one operation's jobs, and how.

    ``prepare`` (required), ``done`` and ``dead`` are method names called on
    ``env[model]`` as ``prepare(job, ctx)``, ``done(job, outcome)`` and
    ``dead(job, outcome)``. ``channel``: the default channel of its jobs;
    ``raise_exception``: a dead job opens a ``sync_failed`` exception on its picking;
    ``savepoint``: ``prepare`` runs in a savepoint (only handlers that cannot break the
    transaction may turn it off).
    """

    prepare: str
    model: str = DEFAULT_MODEL
    done: str | None = None
    dead: str | None = None
    channel: str = "high"
    raise_exception: bool = True
    savepoint: bool = True

    def __post_init__(self) -> None:
        if self.prepare is None:
            raise ValueError("a handler needs a prepare method")
        for hook, name in self.methods():
            if not (isinstance(name, str) and name.isidentifier()):
                raise ValueError(f"handler {hook} must name a method, not {name!r}")
        if not (isinstance(self.model, str) and self.model):
            raise ValueError("a handler needs a model")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown outbox channel {self.channel!r}")

    def methods(self) -> tuple[tuple[str, str], ...]:
        """``(hook, method name)`` of every hook the handler names."""
        return tuple(
            (hook, getattr(self, hook)) for hook in HOOKS if getattr(self, hook) is not None
        )


def register(registry: Mapping[str, Handler], handlers: Mapping[str, Handler]) -> dict:
    """``registry`` plus ``handlers`` (operation -> :class:`Handler`). An operation that
    is already registered, an empty operation name or a value that is not a
    :class:`Handler` raises ValueError: two addons never silently share an operation."""
    merged = dict(registry)
    for operation, handler in handlers.items():
        if not (isinstance(operation, str) and operation):
            raise ValueError(f"an outbox operation needs a name, not {operation!r}")
        if not isinstance(handler, Handler):
            raise ValueError(f"outbox operation {operation!r}: {handler!r} is not a Handler")
        if operation in merged:
            raise ValueError(f"outbox operation {operation!r} is registered twice")
        merged[operation] = handler
    return merged
