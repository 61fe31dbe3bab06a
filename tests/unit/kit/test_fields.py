"""The kit's fields: clean text and id shapes are the default, not a habit."""

import pytest
from marshmallow import ValidationError, fields

from shared.errors import InvalidInput
from shared.fields import Code, Id, Strict, Text, argument


class Person(Strict):
    name = Text(required=True)
    note = Text(max_length=20, min_length=0, multiline=True, load_default="")
    incident_id = Id("INC", load_default=None)
    grid_code = Code(load_default=None)


def refusal(payload):
    with pytest.raises(ValidationError) as refused:
        Person().load(payload)
    return refused.value.normalized_messages()


def test_text_is_normalised_and_stripped():
    # "e" + combining acute accent is stored as one precomposed "é" (NFC)
    assert Person().load({"name": "  Jose\u0301 王 "})["name"] == "José 王"
    assert Person().load({"name": "a", "note": "line one\nline two\t"})["note"] == "line one\nline two"


@pytest.mark.parametrize("name, reason", [
    ("   ", "must not be blank"),
    ("", "must not be blank"),
    ("a" * 201, "at most 200 characters"),
    ("bad\x00name", "U+0000"),
    ("evil\u202egnp.exe", "U+202E"),          # right-to-left override
    ("zero\u200bwidth", "U+200B"),            # zero-width space
    ("two\nlines", "U+000A"),                 # a name is one line
    ("bom\ufeff", "U+FEFF"),
])
def test_text_refuses_blank_long_and_invisible(name, reason):
    assert reason in refusal({"name": name})["name"][0]


@pytest.mark.parametrize("value", [{"$gt": ""}, {"$ne": None}, ["INC-1"], 7, True])
def test_an_id_is_a_string_never_an_operator(value):
    assert "incident_id" in refusal({"name": "a", "incident_id": value})


@pytest.mark.parametrize("value, ok", [
    ("INC-261102-7F3A9C", True), (" INC-1 ", True), ("VT-261102-7F3A9C", False), ("INC-", False),
    ("INC-" + "A" * 40, False), ("INC-1;drop", False), ("INC-\u0661", False),  # Arabic-Indic digit
])
def test_an_id_has_its_declared_prefix_length_and_charset(value, ok):
    if ok:
        assert Person().load({"name": "a", "incident_id": value})["incident_id"] == value.strip()
    else:
        assert "incident_id" in refusal({"name": "a", "incident_id": value})


def test_codes_take_the_id_charset_without_a_prefix():
    assert Person().load({"name": "a", "grid_code": "G3"})["grid_code"] == "G3"
    assert "grid_code" in refusal({"name": "a", "grid_code": "G 3"})


def test_unknown_fields_are_refused():
    assert refusal({"name": "a", "admin": True}) == {"admin": ["Unknown field."]}


INCIDENT_ID = Id("INC", required=True)


def test_a_bare_argument_loads_through_its_field_and_refuses_under_its_name():
    assert argument(INCIDENT_ID, "INC-1", "incident_id") == "INC-1"
    with pytest.raises(InvalidInput) as refused:
        argument(INCIDENT_ID, {"$gt": ""}, "incident_id")
    assert list(refused.value.fields) == ["incident_id"]
    with pytest.raises(InvalidInput):
        argument(INCIDENT_ID, None, "incident_id")


def test_plain_strings_are_not_kit_fields():
    assert not isinstance(fields.Str(), (Text, Id))
