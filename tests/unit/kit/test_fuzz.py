"""The fuzz helper (tests/fuzz.py) itself: it passes a service that refuses junk and writes nothing,
and fails one that accepts junk, answers without naming the field, or writes."""

import pytest
from marshmallow import ValidationError

from shared.errors import InvalidInput
from shared.fields import Code, Id, Strict, Text
from tests.fuzz import field_paths, refuses_bad_input


class Register(Strict):
    person_id = Id("P", required=True)
    name = Text(required=True)
    building = Code(load_default=None)


BASE = {"person_id": "P-1", "name": "陈", "building": "B1"}


class FakeDb:
    """A database of one collection whose count `writes` bumps."""

    def __init__(self):
        self.docs = 0

    def list_collection_names(self):
        return ["people"]

    def __getitem__(self, name):
        return self

    def count_documents(self, query):
        return self.docs


def service(db, write=False, fields_of=lambda exc: exc.normalized_messages()):
    def call(payload):
        if write:
            db.docs += 1
        try:
            return Register().load(payload)
        except ValidationError as exc:
            raise InvalidInput("invalid input", fields_of(exc)) from None
    return call


def test_a_service_that_refuses_junk_and_writes_nothing_passes():
    db = FakeDb()
    tried = refuses_bad_input(service(db), Register(), BASE, db, max_examples=40)
    assert len(tried) > 5


def test_a_batch_is_wrapped_and_its_items_fields_named():
    db = FakeDb()

    def batch(items):
        try:
            return Register(many=True).load(items)
        except ValidationError as exc:
            errors = exc.normalized_messages()
            named = {f"items.{i}.{k}": v for i, errs in errors.items() for k, v in errs.items()}
            raise InvalidInput("items refused", named) from None
    assert refuses_bad_input(batch, Register(), BASE, db, wrap=lambda item: [item], max_examples=10)


@pytest.mark.parametrize("broken", [
    {"write": True},
    {"fields_of": lambda exc: {}},
    {"fields_of": lambda exc: {"something_else": ["bad"]}},
])
def test_a_service_that_writes_or_does_not_name_the_field_fails(broken):
    db = FakeDb()
    with pytest.raises(AssertionError):
        refuses_bad_input(service(db, **broken), Register(), BASE, db, max_examples=10)


def test_a_service_that_accepts_junk_fails():
    db = FakeDb()
    with pytest.raises(AssertionError, match="accepted"):
        refuses_bad_input(lambda payload: payload, Register(), BASE, db, max_examples=10)


def test_an_invalid_base_payload_is_a_mistake_in_the_test():
    with pytest.raises(AssertionError, match="base payload"):
        refuses_bad_input(lambda p: p, Register(), {**BASE, "name": ""}, FakeDb())


def test_field_paths_flatten_nested_errors():
    assert field_paths({"items": {"0": {"name": ["blank"]}}, "x": ["bad"]}) == ["items.0.name", "x"]
