"""The partner registry: one folder per partner, one PartnerSpec line each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipsync import mapping, partners, signatures
from shipsync.adapters.base import CarrierAdapter, InvalidInput
from shipsync.normalizers import Normalizer, get_normalizer
from shipsync.sandbox.carrier import DEFAULT_KNOBS, CarrierSandbox
from shipsync.sandbox.slices import CarrierSlice

ROOT = Path(__file__).resolve().parent.parent
PARTNERS_DIR = ROOT / "shipsync" / "partners"


def test_codes_of_the_registry():
    assert {"easypost", "sendcloud", "aftership", "shippo", "canonical", "generic_rest",
            "generic_soap"} <= set(partners.PARTNERS)


def test_every_folder_is_registered_and_every_code_has_a_folder_with_a_readme():
    folders = {p.name for p in PARTNERS_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(partners.PARTNERS)
    for code in folders:
        assert (PARTNERS_DIR / code / "README.md").is_file(), code


@pytest.mark.parametrize("code", sorted(partners.PARTNERS))
def test_every_named_part_loads_with_the_right_type(code):
    spec = partners.get(code)
    assert spec.code == code and spec.label
    if spec.inbound:
        normalizer = spec.normalizer
        assert isinstance(normalizer, Normalizer) and normalizer.name == code
        assert get_normalizer(code) is partners.get_normalizer(code)
        assert spec.inbound_label
    if spec.signature:
        assert spec.signature_label
        assert signatures.make_verifier(code, ["s3cret"]).header == spec.signature_preset["header"]
    if spec.vocabulary:
        assert all(entry.vocabulary == code for entry in spec.seed)
    if spec.outbound:
        assert issubclass(spec.adapter, CarrierAdapter) and spec.adapter.code == code
        assert partners.get_adapter(code) is spec.adapter
    if spec.sandbox:
        assert issubclass(spec.sandbox_slice, CarrierSlice)
        assert spec.sandbox_slice.code == code
        assert spec.sandbox_slice in CarrierSandbox.__mro__


def test_unknown_codes_are_refused():
    with pytest.raises(InvalidInput) as exc:
        partners.get_adapter("shippo")  # a partner without an adapter
    assert exc.value.code == "unknown_adapter"
    with pytest.raises(KeyError):
        get_normalizer("generic_rest")  # a partner without an inbound format
    with pytest.raises(ValueError):
        signatures.make_verifier("shippo", ["x"])


def test_selection_keys_are_those_stored_in_existing_databases():
    # The Odoo selections are built from the registry; their keys must not move.
    assert [c for c, _ in partners.inbound_selection()] == [
        "canonical", "easypost", "aftership", "shippo", "sendcloud", "tms"]
    assert [c for c, _ in partners.signature_selection()] == [
        "easypost", "aftership", "sendcloud"]
    assert [c for c, _ in partners.carrier_selection()] == [
        "easypost", "sendcloud", "generic_rest", "generic_soap"]
    assert [c for c, _ in partners.vocabulary_selection()] == [
        "canonical", "easypost", "aftership", "shippo", "sendcloud"]
    assert set(signatures.HMAC_PRESETS) == {"easypost", "aftership", "sendcloud", "shopify",
                                            "github"}


def test_seed_rows_come_from_the_partner_folders_and_the_standards():
    vocabularies = {entry.vocabulary for entry in mapping.SEED_ENTRIES}
    assert vocabularies == {"easypost", "aftership", "shippo", "sendcloud", "epcis"}
    sendcloud = {e.code: e for e in mapping.seed_for("sendcloud")}
    assert sendcloud["11"].milestone == "delivered"
    assert sendcloud["62993"].note == "known code, no change"


def test_the_carrier_sandbox_is_composed_of_the_slices_and_their_knobs():
    for spec in partners.PARTNERS.values():
        if spec.sandbox:
            for knob, default in spec.sandbox_slice.KNOBS.items():
                assert DEFAULT_KNOBS[knob] == default


def test_carrier_options_are_the_adapters_own():
    sendcloud = partners.get_adapter("sendcloud")
    assert sendcloud.carrier_options(service="8", api_version="v2") == {
        "api_version": "v2", "shipping_method_id": 8}
    assert sendcloud.carrier_options(service="Priority", api_version="v2") == {
        "api_version": "v2"}
    # v3 keeps the shipping option code: its carrier is what address validation names
    assert sendcloud.carrier_options(service="postnl:standard") == {
        "api_version": "v3", "service": "postnl:standard"}
    assert sendcloud.carrier_options() == {"api_version": "v3"}
    assert partners.get_adapter("easypost").carrier_options(service="Priority") == {}
    assert partners.get_adapter("generic_soap").carrier_options(soap_wsdl="http://x/w") == {
        "wsdl": "http://x/w"}
    with pytest.raises(InvalidInput) as exc:
        partners.get_adapter("generic_rest").carrier_options(rest_config="{nope")
    assert exc.value.code == "bad_config"


_SPECIAL_CASE = re.compile(
    r"""(inbound_format|shipsync_adapter|signature_scheme|vocabulary)\s*[!=]=\s*["']"""
    r"""(easypost|sendcloud|shippo)["']""")


def test_the_addons_do_not_special_case_partners():
    offenders = []
    for path in ROOT.glob("shipment_sync*/**/*.py"):
        if "tests" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _SPECIAL_CASE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
