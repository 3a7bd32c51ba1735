"""Fixtures shared by the sandbox tests: one carrier sandbox and one receiver
per module; ``sandbox`` hands the carrier sandbox over freshly reset. A test
module that defines its own ``sandbox`` / ``receiver`` keeps it."""

import pytest
from hypothesis import HealthCheck, settings

from shipsync.sandbox.carrier import CarrierSandbox
from shipsync.sandbox.receiver import Receiver

# Property tests check behaviour, never speed: on a loaded machine input
# generation and single examples can be slow, which is not a failure.
settings.register_profile("shipsync", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shipsync")



@pytest.fixture(scope="module")
def _carrier_server():
    server = CarrierSandbox().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(_carrier_server):
    _carrier_server.reset()
    return _carrier_server


@pytest.fixture(scope="module")
def receiver():
    server = Receiver(port=0).start()
    yield server
    server.stop()
