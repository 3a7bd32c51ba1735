"""Typed outbox handlers (shipsync.outbox.handlers): what a registration accepts."""

import pytest

from shipsync import outbox
from shipsync.outbox import Handler, register


def test_defaults_are_the_job_model_high_channel_savepoint_and_exception():
    handler = Handler(prepare="_p")
    assert handler.model == "shipment.sync.job"
    assert (handler.channel, handler.savepoint, handler.raise_exception) == ("high", True, True)
    assert handler.methods() == (("prepare", "_p"),)


def test_methods_lists_the_named_hooks_in_order():
    handler = Handler(prepare="_p", dead="_d", done="_o", model="x.y")
    assert handler.methods() == (("prepare", "_p"), ("done", "_o"), ("dead", "_d"))


@pytest.mark.parametrize("kwargs", [
    {"prepare": ""}, {"prepare": "not a name"}, {"prepare": None},
    {"prepare": "_p", "done": "a-b"}, {"prepare": "_p", "dead": 3},
    {"prepare": "_p", "channel": "urgent"}, {"prepare": "_p", "model": ""},
])
def test_a_malformed_handler_is_refused(kwargs):
    with pytest.raises(ValueError):
        Handler(**kwargs)


def test_register_adds_and_never_overwrites():
    base = register({}, {"a": Handler(prepare="_a")})
    merged = register(base, {"b": Handler(prepare="_b", channel="low")})
    assert list(merged) == ["a", "b"] and list(base) == ["a"]
    with pytest.raises(ValueError, match="registered twice"):
        register(merged, {"a": Handler(prepare="_other")})


@pytest.mark.parametrize("operation, handler", [
    ("", Handler(prepare="_a")), (None, Handler(prepare="_a")),
    ("op", {"prepare": "_a"}), ("op", "_a"),
])
def test_register_refuses_untyped_entries(operation, handler):
    with pytest.raises(ValueError):
        register({}, {operation: handler})


def test_channels_are_the_outbox_channels():
    for channel in outbox.CHANNELS:
        assert Handler(prepare="_p", channel=channel).channel == channel
