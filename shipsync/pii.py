"""Personal data masking for stored payload copies, logs, chatter and metrics.

Only the city, a postcode prefix and the country stay readable. Names, street
lines, phone numbers, e-mail addresses and free-text delivery instructions are
replaced by ``MASK`` (or, for phones and e-mails found inside free text, by a
short masked form). Pure functions, no Odoo import; every function accepts any
value and never raises on odd input (a masker must not break a webhook).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

MASK = "***"
POSTCODE_PREFIX = 2

# Keys (lower-case, '-' and ' ' read as '_') whose value is personal data.
PII_KEYS = frozenset({
    "name", "first_name", "last_name", "firstname", "lastname", "full_name", "fullname",
    "contact", "contact_name", "company_name", "company", "recipient", "recipient_name",
    "attention", "attn", "signed_by", "signer", "signature_name", "to_name", "from_name",
    "customer_name", "consignee", "consignee_name", "receiver", "receiver_name",
    "street", "street1", "street2", "street3", "street_1", "street_2", "street_3",
    "address", "address1", "address2", "address3", "address_1", "address_2", "address_3",
    "address_line", "address_line1", "address_line2", "address_line_1", "address_line_2",
    "line1", "line2", "line3", "house_number", "house_no", "building", "apartment",
    "phone", "phone_number", "telephone", "tel", "mobile", "mobile_phone", "fax",
    "email", "email_address", "e_mail", "mail",
    "instructions", "delivery_instructions", "delivery_instruction", "special_instructions",
    "instruction", "note", "notes", "comment", "comments", "remarks", "delivery_note",
    "courier_note", "message_to_courier",
})
# Keys of a postcode: only a prefix stays.
POSTCODE_KEYS = frozenset({"zip", "zipcode", "zip_code", "postcode", "postal_code", "postalcode",
                           "post_code"})
# Keys of a free-text location: reduced to city, postcode prefix and country.
LOCATION_KEYS = frozenset({"location", "scan_location", "checkpoint_location", "place"})
# Keys kept as they are even when a parent looks personal (an address object).
SAFE_KEYS = frozenset({"city", "country", "country_code", "country_iso2", "country_iso3",
                       "country_region", "country_region_name", "state", "province",
                       "region"})

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# A phone number: optional +, then at least 7 digits with common separators.
_PHONE = re.compile(r"(?<![\w.\-/:+])\+?\(?\d[\d\s().\-/]{5,}\d(?![\w\-:])")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
# ``key: value`` / ``key=value`` / ``"key": "value"`` inside free text (a JSON excerpt,
# possibly cut in the middle, a query string, a log line, a delivery note).
_KEY = re.compile(r"""(?P<q>["']?)(?P<key>[A-Za-z_][A-Za-z0-9_\- ]{0,40}?)(?P=q)\s*[:=]\s*""")
_KNOWN_KEYS = sorted(PII_KEYS | POSTCODE_KEYS | SAFE_KEYS | LOCATION_KEYS, key=len,
                     reverse=True)
_KNOWN_KEY = "|".join(re.escape(k).replace("_", "[_\\- ]") for k in _KNOWN_KEYS)
# Where an unquoted value ends: end of line, a query-string or JSON delimiter, or a
# separator followed by another known ``key:`` (a plain comma is part of the value:
# "Ring twice, door code 4821B" is one instruction).
_UNQUOTED_END = re.compile(
    r"[\n\r&{}\[\]]|(?<!\\)\"|[,;](?=\s*(?:[A-Za-z]+ ){0,2}[\"']?(?:"
    + _KNOWN_KEY + r")[\"']?\s*[:=])",
    re.IGNORECASE)


def _norm_key(key: Any) -> str:
    return str(key).strip().lower().replace("-", "_").replace(" ", "_")


def is_pii_key(key: Any) -> bool:
    return _norm_key(key) in PII_KEYS


def _key_kind(key: str) -> str | None:
    """``"pii"``, ``"postcode"``, ``"location"`` or None for a key found in free
    text; a key of several words counts by its last words too ("Customer phone",
    "Delivery instructions")."""
    words = _norm_key(key).strip("_").split("_")
    for index in range(len(words)):
        name = "_".join(words[index:])
        if name in PII_KEYS:
            return "pii"
        if name in POSTCODE_KEYS:
            return "postcode"
        if name in LOCATION_KEYS:
            return "location"
    return None


def mask_postcode(value: Any) -> str:
    """``"75008"`` -> ``"75***"``, ``"SW1A 1AA"`` -> ``"SW***"``."""
    text = "" if value is None else str(value).strip()
    if not text:
        return text
    return text[:POSTCODE_PREFIX] + MASK


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if len(digits) < 7 or _DATE_LIKE.match(match.group(0).strip()):
        return match.group(0)
    return MASK + digits[-2:]


def _mask_email(match: re.Match) -> str:
    domain = match.group(0).rsplit("@", 1)[1]
    return f"{MASK}@{domain}"


def _value_end(text: str, start: int) -> int:
    """Index just past the value that starts at ``start``: a quoted value runs to its
    closing quote (or to the end of a text cut inside it), an unquoted one to the end
    of the line, a delimiter or the next known ``key:``."""
    quote = text[start:start + 1]
    if quote == '"':
        index = start + 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == '"':
                return index + 1
            index += 1
        return len(text)
    if quote == "'":
        close = text.find("'", start + 1)
        return len(text) if close < 0 else close + 1
    found = _UNQUOTED_END.search(text, start)
    return found.start() if found else len(text)


def _mask_value_text(value: str, kind: str) -> str:
    quote = value[:1] if value[:1] in ('"', "'") else ""
    inner = value[len(quote):]
    closing = quote if quote and len(inner) and inner.endswith(quote) else ""
    if closing:
        inner = inner[:-1]
    if not inner.strip():
        return value
    trail = inner[len(inner.rstrip()):]
    if kind == "postcode":
        masked = mask_postcode(inner)
    elif kind == "location":
        # Its quotes are escaped in the text (a JSON string, an excerpt of one): read
        # without the escapes, written back with them, so that the text still parses.
        masked = reduce_location(inner.replace('\\"', '"'))
        if quote != "'":
            masked = masked.replace('"', '\\"')
    else:
        masked = MASK
    return f"{quote}{masked}{trail}{closing}"


def _mask_pairs(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        match = _KEY.search(text, index)
        if not match:
            break
        kind = _key_kind(match.group("key"))
        out.append(text[index:match.end()])
        index = match.end()
        if kind is None:
            continue
        end = _value_end(text, index)
        out.append(_mask_value_text(text[index:end], kind))
        index = max(end, index)
    out.append(text[index:])
    return "".join(out)


def mask_text(text: Any) -> Any:
    """Mask e-mail addresses, phone numbers and personal ``key: value`` pairs in free
    text (log lines, error messages, response excerpts, a body cut anywhere). The whole
    value is masked, to its end (not to its first comma). Non-strings come back as is;
    never raises (on an unexpected failure the whole text is masked)."""
    if not isinstance(text, str) or not text:
        return text
    try:
        # Cheap pre-checks first: most values (ids, codes, dates) need no regex.
        if ":" in text or "=" in text:
            text = _mask_pairs(text)
        if "@" in text:
            text = _EMAIL.sub(_mask_email, text)
        if sum(ch.isdigit() for ch in text) >= 7:
            text = _PHONE.sub(_mask_phone, text)
    except Exception:  # noqa: BLE001 - a masker must not break a webhook: fail closed
        return MASK
    return text


# Words that make a location part a street line (dropped at ingest).
STREET_WORDS = frozenset({
    "street", "st", "str", "strasse", "straße", "road", "rd", "avenue", "ave", "av",
    "boulevard", "blvd", "lane", "ln", "drive", "dr", "way", "court", "ct", "place", "pl",
    "square", "sq", "terrace", "close", "crescent", "highway", "hwy", "parkway", "pkwy",
    "rue", "chemin", "allee", "allée", "impasse", "quai", "cours", "via", "viale", "piazza",
    "calle", "avenida", "plaza", "paseo", "weg", "gasse", "platz", "ring", "damm", "ufer",
    "straat", "laan", "plein", "gracht", "apt", "apartment", "suite", "unit", "floor",
    "flat", "building", "bldg", "po", "box", "c/o",
})
_POSTCODE_WORD = re.compile(r"^(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{3,10}$")


def reduce_location(text: Any) -> str:
    """A location reduced to what the README promises: city, postcode prefix, state
    and country. Parts (split on commas / new lines) that read like a street line
    (a street word, or a short house number beside words) are dropped, postcodes cut
    to their prefix, e-mails and phones masked. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return ""
    try:
        kept = []
        for part in re.split(r"[,\n\r;]+", text):
            words = part.split()
            if not words:
                continue
            lowered = {w.strip(".#").lower() for w in words}
            if lowered & STREET_WORDS or _EMAIL.search(part):
                continue
            digit_words = [w for w in words if any(ch.isdigit() for ch in w)]
            alpha_words = [w for w in words if w not in digit_words]
            if not digit_words:
                if len(words) <= 4:
                    kept.append(" ".join(words))
                continue
            if any(not _POSTCODE_WORD.match(w) for w in digit_words):
                continue  # a house number, a phone, an apartment: not a place
            if len(digit_words) == 2 and len(alpha_words) == 0 and all(
                    len(w) <= 4 for w in digit_words):
                kept.append(mask_postcode(" ".join(digit_words)))  # "SW1A 1AA"
                continue
            if len(digit_words) > 1 or len(alpha_words) > 3:
                continue
            kept.append(" ".join(mask_postcode(w) if w in digit_words else w for w in words))
        return ", ".join(kept)
    except Exception:  # noqa: BLE001 - never break an ingest: keep nothing
        return ""


MAX_DEPTH = 32


def mask_value(value: Any, key: Any = None, _depth: int = 0) -> Any:
    """Mask a decoded JSON value: personal keys blanked, postcodes cut to a prefix,
    every other string scanned for e-mails and phone numbers. Anything nested deeper
    than ``MAX_DEPTH`` is replaced by ``MASK`` as a whole (no payload is that deep)."""
    nkey = _norm_key(key) if key is not None else None
    if isinstance(value, (dict, list)) and _depth >= MAX_DEPTH:
        return MASK
    if isinstance(value, dict):
        return {k: mask_value(v, k, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, key, _depth + 1) for v in value]
    if nkey in SAFE_KEYS:
        return value
    if nkey in POSTCODE_KEYS and isinstance(value, (str, int)):
        return mask_postcode(value)
    if nkey in LOCATION_KEYS and isinstance(value, str):
        return reduce_location(value)
    if nkey in PII_KEYS and value not in (None, "", [], {}):
        return MASK if isinstance(value, (str, int, float)) else value
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_json_text(text: Any) -> Any:
    """Mask a stored body: JSON is masked structurally (and re-serialized with its
    keys in their original order), anything else as free text."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text:
        return text
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return mask_text(text)
    out = json.dumps(mask_value(data), ensure_ascii=False)
    # A lone surrogate (valid in a JSON escape, not in UTF-8) becomes "?".
    return out.encode("utf-8", errors="replace").decode("utf-8")


def mask_headers(headers: dict | None) -> dict:
    return {k: mask_text(v) if isinstance(v, str) else v for k, v in (headers or {}).items()}


def mask_metrics_text(text: str) -> str:
    """Mask label values of a Prometheus text exposition (``name{k="v"} 1``)."""
    def label(match: re.Match) -> str:
        key, val = match.group(1), match.group(2)
        if _norm_key(key) in PII_KEYS:
            return f'{key}="{MASK}"'
        if _norm_key(key) in POSTCODE_KEYS:
            return f'{key}="{mask_postcode(val)}"'
        return f'{key}="{mask_text(val)}"'

    out = []
    for line in (text or "").splitlines(keepends=True):
        if line.startswith("#") or "{" not in line:
            out.append(line)
            continue
        head, brace, rest = line.partition("{")
        labels, close, tail = rest.rpartition("}")
        out.append(head + brace + re.sub(r'(\w+)="((?:[^"\\]|\\.)*)"', label, labels)
                   + close + tail)
    return "".join(out)


class MaskingFilter(logging.Filter):
    """A logging filter that masks the formatted message of every record it sees
    (attach it to a logger: records logged on that very logger are masked)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string stays the logger's business
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_FILTER = MaskingFilter()


def install_log_masking(*prefixes: str) -> list[str]:
    """Attach the masking filter to every existing logger whose name starts with one
    of ``prefixes`` (and to the prefix loggers themselves). Returns their names."""
    names = set(prefixes)
    names.update(
        name for name in list(logging.root.manager.loggerDict)
        if any(name == p or name.startswith(p + ".") for p in prefixes)
    )
    for name in sorted(names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    return sorted(names)
