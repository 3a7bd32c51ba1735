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
