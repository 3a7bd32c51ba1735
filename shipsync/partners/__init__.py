"""The partner registry: one ``PartnerSpec`` per partner folder.

Each partner lives in ``shipsync/partners/<code>/``:

``inbound.py``     its normalizer (webhook schema included) and its signature preset
``vocabulary.py``  the seed rows of its status map
``outbound.py``    its adapter (rate, book, track, cancel, returns, reports)
``sandbox.py``     its slice of the carrier sandbox (``python -m shipsync.sandbox carrier``)
``README.md``      the partner documents each path and field comes from

The addons and the generic engine know partners only through this registry (the
selections of the Odoo fields are built from it; their keys are the partner codes).
Adding a partner is one folder, one line in ``PARTNERS`` below and its tests.

The parts are named ``"<module>:<attribute>"`` relative to the partner's folder and
imported on first use, so that a partner's dependencies (zeep for the SOAP one) are
only loaded when that partner is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True)
class PartnerSpec:
    """What the suite knows about one partner (empty part: the partner has none)."""

    code: str
    label: str
    #: normalizer class of its webhooks, and the label of its inbound format
    inbound: str = ""
    inbound_label: str = ""
    #: HmacHeader preset of its webhook signature, and the label of that scheme
    signature: str = ""
    signature_label: str = ""
    #: seed rows of its status map (vocabulary ``code``)
    vocabulary: str = ""
    #: adapter class; ``carrier_label``: offered as a delivery carrier adapter
    outbound: str = ""
    carrier_label: str = ""
    #: its slice of the carrier sandbox
    sandbox: str = ""

    def _load(self, ref: str) -> Any:
        if not ref:
            return None
        module, _sep, attr = ref.partition(":")
        return getattr(importlib.import_module(f"{__name__}.{self.code}.{module}"), attr)

    @property
    def normalizer(self):
        cls = self._load(self.inbound)
        return cls() if cls is not None else None

    @property
    def signature_preset(self) -> dict | None:
        return self._load(self.signature)

    @property
    def seed(self) -> tuple:
        return tuple(self._load(self.vocabulary) or ())

    @property
    def adapter(self):
        return self._load(self.outbound)

    @property
    def sandbox_slice(self):
        return self._load(self.sandbox)


PARTNERS: dict[str, PartnerSpec] = {spec.code: spec for spec in (
    PartnerSpec("canonical", "Shipment Sync", inbound="inbound:CanonicalNormalizer",
                inbound_label="Shipment Sync envelope", vocabulary="vocabulary:SEED"),
    PartnerSpec("easypost", "EasyPost", inbound="inbound:EasyPostNormalizer",
                inbound_label="EasyPost events", signature="inbound:SIGNATURE",
                signature_label="EasyPost (X-Hmac-Signature)", vocabulary="vocabulary:SEED",
                outbound="outbound:EasyPostAdapter", carrier_label="EasyPost",
                sandbox="sandbox:EasyPostSlice"),
    PartnerSpec("aftership", "AfterShip", inbound="inbound:AfterShipNormalizer",
                inbound_label="AfterShip webhooks", signature="inbound:SIGNATURE",
                signature_label="AfterShip (aftership-hmac-sha256)",
                vocabulary="vocabulary:SEED", outbound="outbound:AfterShipAdapter",
                sandbox="sandbox:AfterShipSlice"),
    PartnerSpec("shippo", "Shippo", inbound="inbound:ShippoNormalizer",
                inbound_label="Shippo track_updated", vocabulary="vocabulary:SEED"),
    PartnerSpec("sendcloud", "Sendcloud", inbound="inbound:SendcloudNormalizer",
                inbound_label="Sendcloud parcel_status_changed", signature="inbound:SIGNATURE",
                signature_label="Sendcloud (Sendcloud-Signature)",
                vocabulary="vocabulary:SEED", outbound="outbound:SendcloudAdapter",
                carrier_label="Sendcloud", sandbox="sandbox:SendcloudSlice"),
    PartnerSpec("generic_rest", "Generic REST", outbound="outbound:GenericRestAdapter",
                carrier_label="Generic REST (field mapping)"),
    PartnerSpec("generic_soap", "Generic SOAP", outbound="outbound:GenericSoapAdapter",
                carrier_label="Generic SOAP (WSDL)", sandbox="sandbox:SoapSlice"),
    # Sales channel: shipment confirmations (shipment_sync_channel), no carrier parts.
    PartnerSpec("amazon", "Amazon Selling Partner API"),
    # Transport management: the canonical TMS profile (shipment_sync_tms).
    PartnerSpec("tms", "TMS (canonical profile)", inbound="inbound:TmsNormalizer",
                inbound_label="TMS updates (tms-update-v1)"),
)}


def get(code: str) -> PartnerSpec:
    """The spec of a partner code (KeyError if unknown)."""
    try:
        return PARTNERS[code]
    except KeyError:
        raise KeyError(f"unknown partner {code!r}") from None


@cache
def get_normalizer(code: str):
    """The inbound normalizer of a partner format (KeyError if it has none)."""
    spec = PARTNERS.get(code)
    normalizer = spec.normalizer if spec else None
    if normalizer is None:
        raise KeyError(f"unknown normalizer {code!r}")
    return normalizer


def get_adapter(code: str):
    """The outbound adapter class of a partner code (``InvalidInput`` if it has none)."""
    spec = PARTNERS.get(code)
    cls = spec.adapter if spec else None
    if cls is None:
        from shipsync.adapters.base import InvalidInput

        raise InvalidInput(f"unknown adapter {code!r}", code="unknown_adapter")
    return cls


def signature_presets() -> dict[str, dict]:
    """``{code: HmacHeader preset}`` of the partners that sign with one."""
    return {code: spec.signature_preset for code, spec in PARTNERS.items() if spec.signature}


def seed_entries() -> tuple:
    """The status-map seed rows of every partner vocabulary, in registry order."""
    return tuple(entry for spec in PARTNERS.values() for entry in spec.seed)


def inbound_selection() -> list[tuple[str, str]]:
    return [(spec.code, spec.inbound_label) for spec in PARTNERS.values() if spec.inbound]


def signature_selection() -> list[tuple[str, str]]:
    return [(spec.code, spec.signature_label) for spec in PARTNERS.values() if spec.signature]


def vocabulary_selection() -> list[tuple[str, str]]:
    return [(spec.code, spec.label) for spec in PARTNERS.values() if spec.vocabulary]


def carrier_selection() -> list[tuple[str, str]]:
    return [(spec.code, spec.carrier_label) for spec in PARTNERS.values() if spec.carrier_label]


def sandbox_slices() -> list:
    """The sandbox slice classes, in registry order (composed by ``sandbox.carrier``)."""
    return [spec.sandbox_slice for spec in PARTNERS.values() if spec.sandbox]


__all__ = [
    "PARTNERS",
    "PartnerSpec",
    "carrier_selection",
    "get",
    "get_adapter",
    "get_normalizer",
    "inbound_selection",
    "sandbox_slices",
    "seed_entries",
    "signature_presets",
    "signature_selection",
    "vocabulary_selection",
]
