"""Bad calls come back as structured refusals, logged in one line, before any worker runs."""

import logging

import pytest

from shared.access import ANYONE, Policy
from shared.errors import InvalidInput
from shared.fields import Id, Strict, argument
from shared.rpc import rpc

RECORD_ID = Id("REC", required=True)


class Lookup(Strict):
    record_id = Id("REC", required=True)


class RefusingService:
    name = "kit_refusing"
    policy = Policy({"get_record": ANYONE, "find": ANYONE})
    calls = []

    @rpc
    def get_record(self, record_id):
        RefusingService.calls.append(record_id)
        return {"record_id": argument(RECORD_ID, record_id, "record_id")}

    @rpc
    def find(self, payload):
        return Lookup().load(payload)


@pytest.fixture
def client(container_factory, config, as_actor):
    RefusingService.calls = []
    container = container_factory(RefusingService, {**config, "RPC_MAX_PAYLOAD_BYTES": 4096})
    container.start()
    return as_actor({"id": "S1", "role": "community_admin"}).kit_refusing


def test_wrong_argument_counts_and_names_are_invalid_input(client):
    for call in (lambda: client.get_record("REC-1", "extra"), lambda: client.get_record(),
                 lambda: client.get_record(record="REC-1")):
        with pytest.raises(InvalidInput) as refused:
            call()
        assert list(refused.value.fields) == ["payload"]
    assert RefusingService.calls == []


def test_an_oversized_request_is_refused_before_any_worker(client):
    with pytest.raises(InvalidInput) as refused:
        client.get_record("REC-" + "1" * 5000)
    assert refused.value.fields == {"payload": ["at most 4096 bytes"]}
    assert RefusingService.calls == []


def test_operators_and_wrong_types_are_refused_on_the_callers_field(client, caplog):
    with caplog.at_level(logging.INFO):
        for bad in ({"$gt": ""}, {"$ne": None}, ["REC-1"], 7):
            with pytest.raises(InvalidInput) as refused:
                client.get_record(bad)
            assert list(refused.value.fields) == ["record_id"]
            with pytest.raises(InvalidInput) as refused:
                client.find({"record_id": bad})
            assert list(refused.value.fields) == ["record_id"]
        with pytest.raises(InvalidInput):
            client.find("REC-1")
    # each refusal is one INFO line; nameko's WARNING with a trace is filtered out
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
