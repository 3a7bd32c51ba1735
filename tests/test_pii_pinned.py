"""shipsync.pii, pinned: the key vocabularies and limits by literal values (never
read from the module), and exact outputs at the edges of every masking rule
(phone length, dates, quoted values, street lines, nesting depth, metrics labels,
the log filter)."""

import json
import logging

import pytest

from shipsync import pii

MASK = "***"

PII = [
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
]
POSTCODE = ["zip", "zipcode", "zip_code", "postcode", "postal_code", "postalcode", "post_code"]
LOCATION = ["location", "scan_location", "checkpoint_location", "place"]
SAFE = ["city", "country", "country_code", "country_iso2", "country_iso3", "country_region",
        "country_region_name", "state", "province", "region"]


def test_limits_are_pinned():
    assert pii.MASK == "***"
    assert pii.POSTCODE_PREFIX == 2
    assert pii.MAX_DEPTH == 32
    assert pii.PII_KEYS == frozenset(PII)
    assert pii.POSTCODE_KEYS == frozenset(POSTCODE)
    assert pii.LOCATION_KEYS == frozenset(LOCATION)
    assert pii.SAFE_KEYS == frozenset(SAFE)


@pytest.mark.parametrize("key", PII)
def test_each_personal_key_is_masked_in_json_and_in_free_text(key):
    assert pii.mask_value({key: "Ada Lovelace"}) == {key: MASK}
    assert pii.is_pii_key(key.upper())
    # in free text, the words of the key may be separated by spaces
    spoken = key.replace("_", " ")
    assert pii.mask_text(f"{spoken}: Ada Lovelace") == f"{spoken}: {MASK}"


@pytest.mark.parametrize("key", POSTCODE)
def test_each_postcode_key_keeps_a_prefix(key):
    assert pii.mask_value({key: "75008"}) == {key: "75***"}
    assert pii.mask_value({key: 75008}) == {key: "75***"}
    assert pii.mask_text(f'"{key}": "SW1A 1AA"') == f'"{key}": "SW***"'


@pytest.mark.parametrize("key", LOCATION)
def test_each_location_key_is_reduced_to_the_place(key):
    value = "12 Baker Street, London, SW1A 1AA, GB"
    assert pii.mask_value({key: value}) == {key: "London, SW***, GB"}
    assert pii.mask_text(f"{key}: {value}") == f"{key}: London, SW***, GB"


@pytest.mark.parametrize("key", SAFE)
def test_each_safe_key_ends_the_value_before_it_and_stays_readable(key):
    # "name: Ada Lovelace, city: Paris": the comma before a known key ends the name
    # (in free text, "country_region_name" still reads as a name by its last word)
    assert pii.mask_text(f"name: Ada Lovelace, {key}: Somewhere").startswith(
        f"name: {MASK}, {key}: ")
    assert pii.mask_value({key: "Somewhere"}) == {key: "Somewhere"}
    assert not pii.is_pii_key(key)


def test_keys_are_read_case_and_separator_insensitively():
    masked = pii.mask_value({" E-Mail ": "x", "Phone Number": "y", "ZIP": "75008",
                             "Country": "FR", "Scan-Location": "Apt 4, Lyon"})
    assert masked == {" E-Mail ": MASK, "Phone Number": MASK, "ZIP": "75***",
                      "Country": "FR", "Scan-Location": "Lyon"}
    assert pii.is_pii_key("Phone-Number") and not pii.is_pii_key("tracking_code")


# --- free text -----------------------------------------------------------------------

@pytest.mark.parametrize("text, masked", [
    # the shortest phone number masked: 7 digits; its last two digits stay
    ("call 555-1234", "call ***34"),
    ("call +44 20 7946 0958 now", "call ***58 now"),
    # 6 digits in a phone-like run is not a phone number
    ("ref 12 34 56 ok 7", "ref 12 34 56 ok 7"),
    # dates look like phone numbers and are kept
    ("delivered on 2026-11-02 at depot", "delivered on 2026-11-02 at depot"),
    ("delivered 02/11/2026 ok", "delivered 02/11/2026 ok"),
    ("delivered 2.11.2026 ok", "delivered 2.11.2026 ok"),
    # the mailbox goes, the domain stays
    ("contact ada.l+shop@mail.example.co.uk please", "contact ***@mail.example.co.uk please"),
    # a key of several words counts by its last words
    ("Billing address line: Rue de Rivoli", f"Billing address line: {MASK}"),
    ("Customer phone: +44 20 7946 0958", f"Customer phone: {MASK}"),
    ("Delivery postcode: 75008", "Delivery postcode: 75***"),
    ("name_: Ada", f"name_: {MASK}"),
    ("_name: Ada", f"_name: {MASK}"),
    ("zip: 75001", "zip: 75***"),
    ("name=Ada Lovelace", f"name={MASK}"),
    ("tracking: 1Z999, status: ok", "tracking: 1Z999, status: ok"),
    # a quoted value runs to its closing quote, escaped quotes included
    ('{"name": "A\\"", "city": "Paris"}', f'{{"name": "{MASK}", "city": "Paris"}}'),
    ('"name": "Ada \\"The\\" Lovelace", "city": "Paris"', f'"name": "{MASK}", "city": "Paris"'),
    ("name: 'Ada Lovelace' city: Paris", f"name: '{MASK}' city: Paris"),
    # cut inside a quoted value: masked to the end
    ("name: 'Ada", f"name: '{MASK}"),
    ('"name": "Ada Lo', f'"name": "{MASK}'),
    ('"name": "', '"name": "'),
    ('"name": ""', '"name": ""'),
    ("name:   ", "name:   "),
    # an unquoted value ends at the end of the line; its trailing blanks stay
    ("name: Ada   \nnext", f"name: {MASK}   \nnext"),
    ("name: Ada&city=Paris", f"name: {MASK}&city=Paris"),
    ("name: Ada Lovelace; city: Paris", f"name: {MASK}; city: Paris"),
    ("name: Ada Lovelace, Paris", f"name: {MASK}"),
    ('location: "12 Baker Street, Leeds"', 'location: "Leeds"'),
])
def test_free_text_masking_edges(text, masked):
    assert pii.mask_text(text) == masked


def test_free_text_without_anything_personal_is_returned_as_is():
    for text in ("", "ok", "status=200", "id: 1234567890abc"):
        assert pii.mask_text(text) == text
    for value in (None, 5, b"name: Ada"):
        assert pii.mask_text(value) == value


def test_postcode_prefix():
    assert pii.mask_postcode(" 75008 ") == "75***"
    assert pii.mask_postcode(75008) == "75***"
    assert pii.mask_postcode("SW1A 1AA") == "SW***"
    assert pii.mask_postcode(None) == ""
    assert pii.mask_postcode("   ") == ""


# --- locations -----------------------------------------------------------------------

@pytest.mark.parametrize("text, reduced", [
    ("Saint Martin de Re", "Saint Martin de Re"),       # four words: a place name
    ("Le Petit Village de Bois", ""),                    # five words: not a place
    ("SW1A 1AA", "SW***"),                               # a split postcode
    ("SW1AB 1AA", ""),
    ("75008 Paris Rive Gauche", "75*** Paris Rive Gauche"),
    ("75008 Paris Rive Gauche Nord", ""),
    ("75008 12345 Paris", ""),
    ("ada@example.com, Paris", "Paris"),
    ("Baker St., Leeds", "Leeds"),
    ("#4 Paris", ""),
    ("+33 6 12, Paris", "Paris"),
    ("12/3 Main, Paris", "Paris"),
    ("Paris\nFR", "Paris, FR"),
    ("Reno;NV,, 89501", "Reno, NV, 89***"),
    ("", ""),
    ("  ", ""),
    (5, ""),
    (None, ""),
])
def test_reduce_location(text, reduced):
    assert pii.reduce_location(text) == reduced


# --- structured values ---------------------------------------------------------------

def _nested_dicts(levels):
    value = "ada@example.com"
    for _ in range(levels):
        value = {"a": value}
    return value


def _nested_lists(levels):
    value = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_is_masked_as_a_whole_from_depth_32():
    inner = _nested_dicts(32)
    for _ in range(31):
        inner = inner["a"]
    assert inner == {"a": "ada@example.com"}
    masked = pii.mask_value(_nested_dicts(32))
    for _ in range(31):
        masked = masked["a"]
    assert masked == {"a": "***@example.com"}
    masked = pii.mask_value(_nested_dicts(33))
    for _ in range(32):
        masked = masked["a"]
    assert masked == MASK
    masked = pii.mask_value(_nested_lists(32))
    for _ in range(31):
        masked = masked[0]
    assert masked == ["x"]
    masked = pii.mask_value(_nested_lists(33))
    for _ in range(32):
        masked = masked[0]
    assert masked == MASK


def test_values_of_personal_keys():
    masked = pii.mask_value({
        "phone": ["0612345678", "0698765432"], "name": "", "email": None, "fax": 612345678,
        "notes": 1.5, "company": {"id": 7, "city": "Lyon"}, "zip": None, "postcode": 7.5,
        "place": 12, "contact": [], "recipient": True,
    })
    assert masked == {
        "phone": [MASK, MASK], "name": "", "email": None, "fax": MASK, "notes": MASK,
        "company": {"id": 7, "city": "Lyon"}, "zip": None, "postcode": 7.5, "place": 12,
        "contact": [], "recipient": MASK,
    }


def test_json_text_keeps_key_order_and_non_ascii():
    body = '{"z": 1, "name": "Zoë", "city": "Besançon", "a": [2]}'
    assert pii.mask_json_text(body) == '{"z": 1, "name": "***", "city": "Besançon", "a": [2]}'
    assert pii.mask_json_text(body.encode()) == pii.mask_json_text(body)
    assert pii.mask_json_text(bytearray(b'"\xff name: Ada"')) == '"\ufffd name: ***"'
    assert pii.mask_json_text("not json, name: Ada") == "not json, name: ***"
    assert pii.mask_json_text("") == "" and pii.mask_json_text(None) is None


def test_headers():
    assert pii.mask_headers({"X-Note": "call 0612345678", "X-Count": 5}) == {
        "X-Note": "call ***78", "X-Count": 5}
    assert pii.mask_headers(None) == {}


def test_metrics_labels():
    text = ('m{zip="75008",detail="x}y",recipient="Ada \\"Q\\" L"} 1\n'
            'n{partner="ep",note="call 0612345678"} 2\n'
            "# TYPE m counter\n"
            "plain 3")
    assert pii.mask_metrics_text(text) == (
        'm{zip="75***",detail="x}y",recipient="***"} 1\n'
        'n{partner="ep",note="***"} 2\n'
        "# TYPE m counter\n"
        "plain 3")
    assert pii.mask_metrics_text('n{detail="call 0612345678"} 2\n') == \
        'n{detail="call ***78"} 2\n'
    assert pii.mask_metrics_text(None) == ""


# --- logging -------------------------------------------------------------------------

def _record(msg, args):
    return logging.LogRecord("shipsync.x", logging.INFO, __file__, 1, msg, args, None)


def test_log_filter_masks_and_keeps_every_record():
    masking = pii.MaskingFilter()
    record = _record("mail from %s", ("ada@example.com",))
    assert masking.filter(record) is True
    assert record.getMessage() == "mail from ***@example.com"
    assert record.args == ()
    clean = _record("count %s", (5,))
    assert masking.filter(clean) is True
    assert (clean.msg, clean.args) == ("count %s", (5,))  # nothing to mask: untouched
    broken = _record("count %d", ("x",))
    assert masking.filter(broken) is True
    assert (broken.msg, broken.args) == ("count %d", ("x",))


def test_install_log_masking_reaches_child_loggers_once():
    child = logging.getLogger("shipsync_pinned.child")
    other = logging.getLogger("shipsync_pinnedother")
    names = pii.install_log_masking("shipsync_pinned")
    assert names == ["shipsync_pinned", "shipsync_pinned.child"]
    assert pii.install_log_masking("shipsync_pinned") == names
    for logger in (child, logging.getLogger("shipsync_pinned")):
        assert sum(isinstance(f, pii.MaskingFilter) for f in logger.filters) == 1
    assert not any(isinstance(f, pii.MaskingFilter) for f in other.filters)


def test_masked_json_is_json():
    body = json.dumps({"events": [{"location": "Apt 4, 1010 Wien, AT", "phone": "0612345678"}]})
    assert json.loads(pii.mask_json_text(body)) == {
        "events": [{"location": "10*** Wien, AT", "phone": MASK}]}


STREET = [
    "street", "st", "str", "strasse", "straße", "road", "rd", "avenue", "ave", "av",
    "boulevard", "blvd", "lane", "ln", "drive", "dr", "way", "court", "ct", "place", "pl",
    "square", "sq", "terrace", "close", "crescent", "highway", "hwy", "parkway", "pkwy",
    "rue", "chemin", "allee", "allée", "impasse", "quai", "cours", "via", "viale", "piazza",
    "calle", "avenida", "plaza", "paseo", "weg", "gasse", "platz", "ring", "damm", "ufer",
    "straat", "laan", "plein", "gracht", "apt", "apartment", "suite", "unit", "floor",
    "flat", "building", "bldg", "po", "box", "c/o",
]


def test_street_words_are_pinned():
    assert pii.STREET_WORDS == frozenset(STREET)


@pytest.mark.parametrize("word", STREET)
def test_a_part_with_a_street_word_is_dropped(word):
    # without the street word, "Victor Hugo" would be kept as a place name
    assert pii.reduce_location("Victor Hugo, Lyon") == "Victor Hugo, Lyon"
    assert pii.reduce_location(f"{word.title()} Victor Hugo, Lyon") == "Lyon"
    assert pii.reduce_location(f"Victor Hugo {word.upper()}., Lyon") == "Lyon"


def test_a_po_box_never_leaks_its_number():
    assert pii.reduce_location("P.O. BOX 4471, Lyon") == "Lyon"
    assert pii.reduce_location("#BOX# 4471, Lyon") == "Lyon"


def test_single_quoted_values_end_at_their_own_quote():
    assert pii.mask_text("name: 'Ada' city: 'Paris'") == "name: '***' city: 'Paris'"


def test_metrics_labels_split_at_the_first_brace_and_comments_stay():
    assert pii.mask_metrics_text('m{recipient="Ada{x"} 1\n') == 'm{recipient="***"} 1\n'
    comment = '# HELP m{recipient="label"} counts exceptions by recipient label\n'
    assert pii.mask_metrics_text(comment) == comment


def test_a_reduced_location_keeps_its_quotes_escaped_and_the_json_parses():
    text = '{"location": "Depot \\"North\\", Lyon 69001, FR", "status": "in_transit"}'
    masked = pii.mask_text(text)
    assert masked == '{"location": "Depot \\"North\\", Lyon 69***, FR", "status": "in_transit"}'
    assert json.loads(masked) == {"location": 'Depot "North", Lyon 69***, FR',
                                  "status": "in_transit"}
    # masked again, the value still ends at its own quote: the rest stays as it was
    assert json.loads(pii.mask_text(masked))["status"] == "in_transit"
    # an unquoted value keeps its escapes too; a single-quoted one has none to restore
    unquoted = 'location: Depot \\"North\\", Lyon'
    assert pii.mask_text(unquoted) == unquoted
    single = "location: 'Depot \"North\", Lyon'"
    assert pii.mask_text(single) == single


def test_a_separator_before_a_key_of_several_words_ends_the_value_before_it():
    # "house number" is the key house_number written with a blank ("number" alone is no key)
    assert pii.mask_text("name: Ada Lovelace, house number: 12, city: Paris") == (
        "name: ***, house number: ***, city: Paris")


def test_an_empty_quoted_value_ends_at_its_own_closing_quote():
    assert pii.mask_text('"name": "", "city": "Paris"') == '"name": "", "city": "Paris"'
    assert pii.mask_text("name: '', city: 'Paris'") == "name: '', city: 'Paris'"


@pytest.mark.parametrize("text, reduced", [
    # an empty part (leading separator, blanks between two) is skipped, not the end
    (", Lyon, FR", "Lyon, FR"),
    ("Lyon, , FR", "Lyon, FR"),
    # a part dropped for its many words or its two numbers does not end the location
    ("Zone Industrielle Nord Est 69001, Lyon", "Lyon"),
    ("75001 75002 Paris, Lyon", "Lyon"),
])
def test_reduce_location_goes_on_after_a_part_it_drops(text, reduced):
    assert pii.reduce_location(text) == reduced


def test_reduce_location_keeps_nothing_when_it_fails(monkeypatch):
    def broken(value):
        raise RuntimeError("broken")

    monkeypatch.setattr(pii, "mask_postcode", broken)
    assert pii.reduce_location("Lyon 69001, FR") == ""
