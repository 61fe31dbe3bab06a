"""Bad input to any RPC is refused with the field named, and nothing is written: query operators
where an id belongs (every id-taking RPC), junk found by hypothesis (every writing RPC), someone
unknown (refused, never created), and concurrent writes that collide (rerun, never lost)."""

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.notifications import schemas
from shared.errors import InvalidInput
from tests.fuzz import counts, field_paths, refuses_bad_input
from tests.support import wait_until

ADMIN = {"id": "CA1", "role": "community_admin"}
OPERATORS = [{"$gt": ""}, {"$ne": None}]
SEND = {"target": {"kind": "grid_households", "grid_code": "3"}, "title": "停水通知", "body": "周二停水。"}

# (rpc, arguments with a placeholder X for the operator, the field the refusal must name)
INJECTIONS = [
    ("send", lambda x: {**SEND, "target": {"kind": "person", "person_id": x}}, "target.person_id"),
    ("send", lambda x: {**SEND, "target": {"kind": "grid_staff", "grid_code": x}}, "target.grid_code"),
    ("send", lambda x: {**SEND, "request_id": x}, "request_id"),
    ("announcement_progress", lambda x: {"announcement_id": x}, "announcement_id"),
    ("inbox", lambda x: {"person_id": x}, "person_id"),
    ("mark_read", lambda x: {"person_id": x, "message_ids": ["NTF-1"]}, "person_id"),
    ("mark_read", lambda x: {"person_id": "R1", "message_ids": [x]}, "message_ids"),
    ("get_preferences", lambda x: x, "person_id"),
    ("set_preferences", lambda x: {"person_id": x, "language": "en"}, "person_id"),
    ("delivery_log", lambda x: {"event_id": x}, "event_id"),
    ("delivery_log", lambda x: {"recipient": x}, "recipient"),
    ("delivery_log", lambda x: {"grid_code": x}, "grid_code"),
    ("delivery_log", lambda x: {"household_id": x}, "household_id"),
]


@pytest.fixture
def quiet(start_service):
    """The service with its outbox relay off: the outbox only changes if something was written."""
    return start_service(OUTBOX_RELAY=False)


@pytest.fixture
def welcomed(quiet, events, ndb):
    """R1 of grid 3, welcomed in the inbox (what an injection that got through would show)."""
    events.resident("R1", "3", email="r1@example.org")
    wait_until(lambda: ndb.inbox.find_one({"recipient": "R1"}), message="R1 welcomed")
    wait_until(lambda: ndb.notifications.count_documents({"status": "queued"}) == 0)
    return "R1"


@pytest.mark.parametrize("operator", OPERATORS, ids=["gt", "ne"])
@pytest.mark.parametrize("rpc, argument, field", INJECTIONS, ids=[f"{c[0]}-{c[2]}" for c in INJECTIONS])
def test_an_operator_as_an_id_is_refused_with_the_field_named(welcomed, as_actor, ndb, rpc, argument,
                                                                field, operator):
    before = counts(ndb)
    with pytest.raises(InvalidInput) as refused:
        getattr(as_actor(ADMIN).notifications, rpc)(argument(operator))
    paths = field_paths(refused.value.fields)
    assert any(path == field or path.startswith(field + ".") for path in paths), paths
    assert counts(ndb) == before


def test_preferences_of_someone_unknown_are_refused_and_no_one_is_created(welcomed, rpc, ndb):
    before = counts(ndb)
    for person_id in ("R-INVENTED", "x" * 100_000):
        with pytest.raises(InvalidInput) as refused:
            rpc("notifications").set_preferences({"person_id": person_id, "language": "en"})
        assert list(refused.value.fields) == ["person_id"]
    assert counts(ndb) == before
    assert ndb.people.count_documents({}) == 1
    # someone known is still served
    assert rpc("notifications").set_preferences({"person_id": "R1", "language": "en"})["language"] == "en"


def test_every_writing_rpc_refuses_junk_with_the_field_named_and_writes_nothing(welcomed, rpc, ndb):
    client = rpc("notifications")
    refuses_bad_input(client.send, schemas.SendAnnouncement(), SEND, ndb)
    refuses_bad_input(client.mark_read, schemas.MarkRead(), {"person_id": "R1", "message_ids": ["NTF-1"]},
                      ndb)
    refuses_bad_input(client.set_preferences, schemas.SetPreferences(), {
        "person_id": "R1", "channels": ["in_app"], "opt_outs": ["digest"], "language": "en",
        "quiet_hours": {"start": "22:00", "end": "07:00"}}, ndb)


def _concurrently(config, calls):
    """Each call on its own client (nameko 2.x: one per greenthread), all at once."""
    def run(call):
        with ClusterRpcProxy(config, context_data={"actor": ADMIN}) as cluster:
            return call(cluster.notifications)
    return list(eventlet.GreenPool(len(calls)).imap(run, calls))


def test_concurrent_preference_changes_of_one_person_all_succeed(service, events, ndb, config):
    events.resident("R1", "3", email="r1@example.org")
    wait_until(lambda: ndb.people.find_one({"_id": "R1"}), message="R1 known")
    topics = ["incident", "rating", "visit", "welcome", "announcement", "digest", "market", "finance"]

    answers = _concurrently(config, [
        lambda n, t=topic: n.set_preferences({"person_id": "R1", "opt_outs": [t]}) for topic in topics])

    assert sorted(a["opt_outs"][0] for a in answers) == sorted(topics)  # none failed, none lost
    assert ndb.people.find_one({"_id": "R1"})["preferences"]["opt_outs"][0] in topics


def test_concurrent_mark_reads_of_one_inbox_mark_each_message_once(service, events, ndb, config, rpc):
    events.resident("R1", "3", email="r1@example.org")
    wait_until(lambda: ndb.inbox.find_one({"recipient": "R1"}), message="R1 welcomed")
    for n in range(4):
        rpc("notifications").send({"target": {"kind": "person", "person_id": "R1"}, "title": f"通知{n}",
                                   "body": "请留意。"})
    ids = [m["_id"] for m in ndb.inbox.find({"recipient": "R1"})]
    assert len(ids) == 5

    answers = _concurrently(config, [lambda n: n.mark_read({"person_id": "R1", "message_ids": ids})] * 6)

    assert sum(a["marked"] for a in answers) == 5  # every call answered; no message counted twice
    assert ndb.inbox.count_documents({"recipient": "R1", "read_at": None}) == 0
