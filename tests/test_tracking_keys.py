from hypothesis import given
from hypothesis import strategies as st

from shipsync.tracking import keys_field, tracking_key, tracking_keys


def test_case_and_spacing_do_not_matter():
    assert tracking_key(" 1z 999 aa1\t0123456784 ") == tracking_key("1Z999AA10123456784")
    assert tracking_key(None) == tracking_key("") == ""


def test_a_multi_parcel_reference_gives_one_key_per_number():
    assert tracking_keys("ez1 , EZ2,, ez1") == ["EZ1", "EZ2"]
    assert keys_field("ez1, ez 2") == ",EZ1,EZ2,"
    assert keys_field(" , ") is None


@given(st.text(alphabet="abcXYZ019 -", max_size=20))
def test_the_key_is_idempotent(value):
    assert tracking_key(tracking_key(value)) == tracking_key(value)
