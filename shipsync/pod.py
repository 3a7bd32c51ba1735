"""Proof of delivery (POD): who signed, the delivery photo / document URLs and where, as a
carrier's tracking data gives them (pure, no I/O).

A :class:`PodEvent` is the delivered scan that carries proof; the ledger stores it like any
event and the Odoo side keeps its :class:`ProofOfDelivery` on the transfer. What a customer
may see of it is :func:`customer_safe`: the signer's initial and the delivery city, never
the URLs (a photo may show a person, a signature is personal data).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .normalizers import CanonicalEvent, clean_text


@dataclass(frozen=True)
class ProofOfDelivery:
    signed_by: str = ""
    urls: tuple[str, ...] = ()
    city: str = ""
    location: str = ""

    def __bool__(self) -> bool:
        return bool(self.signed_by or self.urls)


@dataclass(frozen=True)
class PodEvent(CanonicalEvent):
    """A delivered scan with its proof of delivery."""

    pod: ProofOfDelivery = field(default_factory=ProofOfDelivery)


def evidence_urls(items: Iterable[object]) -> tuple[str, ...]:
    """The http(s) URLs among evidence entries: a URL string, or an object's ``url``-like
    values (the entries' shape is not recorded, so only URLs are read, nothing else)."""
    found: list[str] = []
    for item in items or ():
        values = item.values() if isinstance(item, dict) else (item,)
        for value in values:
            text = clean_text(value) if isinstance(value, str) else ""
            if text.lower().startswith(("https://", "http://")):
                found.append(text[:1000])
    return tuple(dict.fromkeys(found))


def signer_initial(name: str) -> str:
    """``"J. Doe"`` -> ``"J."``; empty for no name."""
    text = clean_text(name)
    return f"{text[0].upper()}." if text else ""


def customer_safe(signed_by: str, city: str) -> dict[str, str]:
    """What the tracking page may show: the signer's initial and the city, no URLs."""
    return {"signed_by": signer_initial(signed_by), "city": clean_text(city).title()}
