"""Which insert errors the bus recorder ignores: a duplicate event id (a redelivery) only."""

from pymongo.errors import BulkWriteError

from services.gateway.console.recorder import only_duplicates


def _error(*codes, concern=()):
    errors = [{"index": n, "code": code, "errmsg": "x"} for n, code in enumerate(codes)]
    return BulkWriteError({"writeErrors": errors, "writeConcernErrors": list(concern), "nInserted": 0})


def test_only_duplicate_keys_are_ignored():
    assert only_duplicates(_error(11000, 11000))
    assert not only_duplicates(_error(11000, 2))  # one refused for another reason: the batch is redone
    assert not only_duplicates(_error(11000, concern=[{"code": 64, "errmsg": "waiting for replication"}]))
