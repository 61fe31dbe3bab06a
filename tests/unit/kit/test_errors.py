from marshmallow import Schema, ValidationError, fields
from nameko.exceptions import deserialize, serialize
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.errors import Conflict, InvalidInput, NotFound
from shared.rpc import structured


def test_structured_errors_come_back_to_the_caller_as_the_same_class():
    sent = InvalidInput("invalid input", {"id_number": ["wrong check digit"]})
    received = deserialize(serialize(sent))
    assert isinstance(received, InvalidInput)
    assert received.to_dict() == {"code": "invalid_input", "message": "invalid input",
                                  "fields": {"id_number": ["wrong check digit"]}}
    assert received.http_status == 400
    assert isinstance(deserialize(serialize(NotFound("no such resident"))), NotFound)


def test_marshmallow_errors_become_invalid_input_naming_each_field():
    class Payload(Schema):
        name = fields.Str(required=True)
        age = fields.Int(required=True)

    try:
        Payload().load({"age": "old"})
    except ValidationError as exc:
        error = structured(exc)
    assert isinstance(error, InvalidInput)
    assert set(error.fields) == {"name", "age"}


def test_a_unique_index_race_becomes_a_conflict_on_the_field():
    exc = DuplicateKeyError("E11000", 11000, {"keyValue": {"id_number": "x"}})
    error = structured(exc)
    assert isinstance(error, Conflict) and error.fields == {"id_number": ["already exists"]}


def test_a_batch_racing_another_on_a_unique_index_becomes_a_conflict():
    exc = BulkWriteError({"writeErrors": [
        {"index": 0, "code": 11000, "keyValue": {"resident_id": "R-000001"}},
        {"index": 1, "code": 11000, "keyValue": {"resident_id": "R-000002"}}]})
    error = structured(exc)
    assert isinstance(error, Conflict) and error.fields == {"resident_id": ["already exists"]}
    other = BulkWriteError({"writeErrors": [{"index": 0, "code": 11000}, {"index": 1, "code": 121}]})
    assert structured(other) is other  # a document failing validation is a bug, not a refusal
