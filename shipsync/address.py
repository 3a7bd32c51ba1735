"""The postal address value shared by the carrier adapters and the WMS messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Address:
    name: str = ""
    company: str = ""
    street: str = ""
    street2: str = ""
    city: str = ""
    zip: str = ""
    state_code: str = ""
    country_code: str = ""
    phone: str = ""
    email: str = ""

    def to_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_mapping(cls, data: Mapping) -> Address:
        """Known keys only, every value as text ('' for missing or empty)."""
        return cls(**{f.name: str(data.get(f.name) or "") for f in fields(cls)})


ADDRESS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Address))


#: The verdicts of an address check.
ADDRESS_CHECK_STATES = ("valid", "corrected", "invalid")


@dataclass(frozen=True)
class AddressCheck:
    """A partner's verdict on an address: ``valid`` (deliverable as is), ``corrected``
    (deliverable, the partner suggests ``suggestion``) or ``invalid`` (``reasons``)."""

    state: str
    suggestion: Address | None = None
    reasons: tuple[str, ...] = ()
    partner_ref: str = ""

    def __post_init__(self):
        if self.state not in ADDRESS_CHECK_STATES:
            raise ValueError(f"state must be one of {ADDRESS_CHECK_STATES}, not {self.state!r}")


def corrected_fields(original: Address, suggestion: Address) -> tuple[str, ...]:
    """The fields a suggestion changes, compared case- and space-insensitively (partners
    answer in capitals: "388 TOWNSEND ST"); empty suggested fields change nothing."""
    def norm(value: str) -> str:
        return " ".join((value or "").upper().replace(",", " ").split())

    return tuple(
        f for f in ADDRESS_FIELDS
        if f not in ("phone", "email") and getattr(suggestion, f)
        and norm(getattr(suggestion, f)) != norm(getattr(original, f))
    )
