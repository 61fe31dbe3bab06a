"""Vendors and the rule book: registration, bad input refused with nothing written, request ids,
democratic adoption (quorum, majority, one vote each), emergency rules."""

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.integration.market.conftest import OFFICER, RULE_BOOK, id_number, phone


def counts(mdb):
    return {
        c: mdb[c].count_documents({}) for c in ("vendors", "outbox", "rule_books", "votes", "requests")
    }


def test_an_outside_vendor_is_registered_masked_and_announced_with_their_phone(market, emitted):
    number = id_number()
    vendor = market.office.register_vendor(
        {
            "name": " 陈 摊主 ",
            "id_number": number.lower(),
            "phone": "139-1234-0001",
            "goods_category": "goods",
            "business_licence": {"number": "BL1", "expires_on": "2027-06-30"},
        }
    )
    assert (
        vendor["vendor_id"].startswith("V-") and vendor["status"] == "active" and vendor["points"] == 0
    )
    assert vendor["name"] == "陈 摊主"  # stripped
    assert vendor["phone"] == "13912340001"  # the office calls vendors: in clear
    assert vendor["id_number"] == number[:6] + "********" + number[-4:]
    [event] = emitted("market.vendor_registered")
    assert event["payload"]["phone"] == "13912340001" and event["payload"]["resident_id"] is None
    # the inspector sees the phone masked, the vendor their own in full
    assert market.inspector.vendor_record({"vendor_id": vendor["vendor_id"]})["phone"] == "*******0001"
    own = market.vendor_actor(vendor["vendor_id"]).vendor_record({"vendor_id": vendor["vendor_id"]})
    assert own["phone"] == "13912340001" and own["id_number"] == number


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id_number": "350582198005170001"}, "id_number"),  # wrong check digit
        ({"id_number": "35058219800517000"}, "id_number"),  # 17 characters
        ({"id_number": {"$gt": ""}}, "id_number"),  # an operator, not a string
        ({"phone": "12345"}, "phone"),
        ({"name": "   "}, "name"),
        ({"name": "陈\u202e摊主"}, "name"),  # a bidi override
        ({"name": "x" * 61}, "name"),
        ({"goods_category": "weapons"}, "goods_category"),
        (
            {"business_licence": {"number": "BL1", "expires_on": "2026-01-01"}},
            "business_licence.expires_on",
        ),
        ({"food_hygiene_certificate": None, "goods_category": "food_fire"}, "food_hygiene_certificate"),
        ({"resident_id": "R-000001"}, "name"),  # a resident's details are the registry's
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_vendor_input_is_refused_naming_the_field_and_nothing_is_written(market, mdb, change, field):
    payload = {
        "name": "陈摊主",
        "id_number": id_number(),
        "phone": phone(),
        "goods_category": "goods",
        "business_licence": {"number": "BL1", "expires_on": "2027-06-30"},
        **change,
    }
    before = counts(mdb)
    with pytest.raises(InvalidInput) as refused:
        market.office.register_vendor(payload)
    assert field in refused.value.fields or field.split(".")[0] in refused.value.fields, (
        refused.value.fields
    )
    assert counts(mdb) == before


def test_ids_of_the_wrong_shape_never_reach_a_query(market, mdb):
    for bad in ({"$ne": None}, "V-1", "V-000001' or 1", "v-000001", "V-0000001", ["V-000001"], 12):
        with pytest.raises(InvalidInput) as refused:
            market.office.vendor_record({"vendor_id": bad})
        assert "vendor_id" in refused.value.fields
    with pytest.raises(NotFound):
        market.office.vendor_record({"vendor_id": "V-999999"})


def test_a_retried_registration_returns_its_first_result_and_registers_once(market, mdb, config):
    payload = {
        "name": "陈摊主",
        "id_number": id_number(),
        "phone": phone(),
        "goods_category": "goods",
        "business_licence": {"number": "BL1", "expires_on": "2027-06-30"},
    }

    def register(request_id):  # a fresh client each time, as a caller retrying after a timeout
        with ClusterRpcProxy(
            config, context_data={"actor": OFFICER, "request_id": request_id}
        ) as client:
            return client.market.register_vendor(payload)

    first = register("req-vendor-0001")
    assert register("req-vendor-0001") == first
    assert mdb.vendors.count_documents({}) == 1
    with pytest.raises(Conflict):  # the same person again, under another request id
        register("req-vendor-0002")


def test_rules_are_adopted_only_with_quorum_and_majority(market, emitted):
    vendors = [market.vendor("goods") for _ in range(4)]
    voter = {v: market.vendor_actor(v) for v in vendors}

    def vote(book, ballots):
        for vendor_id, ballot in ballots.items():
            voter[vendor_id].vote_on_rules(
                {"rule_book_id": book["rule_book_id"], "vendor_id": vendor_id, "ballot": ballot}
            )
        return market.office.publish_rules({"rule_book_id": book["rule_book_id"]})

    # 1 of 4 voted: below the quorum of half the electorate
    no_quorum = vote(market.office.propose_rules(RULE_BOOK), {vendors[0]: "for"})
    assert no_quorum["status"] == "rejected" and "quorum" in no_quorum["result"]["reason"]
    # 3 of 4 voted, 1 for: no majority
    no_majority = vote(
        market.office.propose_rules(RULE_BOOK),
        {vendors[0]: "for", vendors[1]: "against", vendors[2]: "abstain"},
    )
    assert no_majority["status"] == "rejected" and "majority" in no_majority["result"]["reason"]
    # 3 of 4 voted, 2 for, 1 against: adopted
    adopted = vote(
        market.office.propose_rules(RULE_BOOK),
        {vendors[0]: "for", vendors[1]: "for", vendors[2]: "against"},
    )
    assert adopted["status"] == "adopted"
    assert adopted["result"]["votes_for"] == 2 and adopted["result"]["electorate"] == 4
    [event] = emitted("market.rules_adopted")
    assert (
        event["payload"]["rule_book_id"] == adopted["rule_book_id"] and not event["payload"]["emergency"]
    )
    in_force = market.as_actor({"id": vendors[3], "role": "vendor"}).market.get_rules({})
    assert in_force["rule_book_id"] == adopted["rule_book_id"]
    assert in_force["ballots"] == {"for": 2, "against": 1, "abstain": 0, "cast": 3}


def test_one_vote_per_vendor_of_the_electorate_only(market):
    first = market.vendor("goods")
    book = market.office.propose_rules(RULE_BOOK)
    late = market.vendor("goods")  # registered after the vote opened: not in the electorate
    ballot = {"rule_book_id": book["rule_book_id"], "ballot": "for"}
    market.vendor_actor(first).vote_on_rules({**ballot, "vendor_id": first})
    with pytest.raises(Conflict):
        market.vendor_actor(first).vote_on_rules({**ballot, "vendor_id": first, "ballot": "against"})
    with pytest.raises(Forbidden):
        market.vendor_actor(late).vote_on_rules({**ballot, "vendor_id": late})
    with pytest.raises(NotFound):  # voting in another vendor's name: to this vendor it does not exist
        market.vendor_actor(late).vote_on_rules({**ballot, "vendor_id": first})


def test_emergency_safety_rules_are_published_by_the_office_alone_and_flagged(market, emitted):
    market.vendor("goods")
    book = market.office.propose_rules({**RULE_BOOK, "title": "消防通道紧急规定", "emergency": True})
    with pytest.raises(Conflict):
        market.vendor_actor(market.active_vendors()[0]).vote_on_rules(
            {
                "rule_book_id": book["rule_book_id"],
                "vendor_id": market.active_vendors()[0],
                "ballot": "for",
            }
        )
    published = market.office.publish_rules({"rule_book_id": book["rule_book_id"]})
    assert published["status"] == "adopted" and published["emergency"] is True
    assert emitted("market.rules_adopted")[0]["payload"]["emergency"] is True


def test_a_rule_book_with_a_float_fine_or_bad_thresholds_is_refused(market, mdb):
    before = counts(mdb)
    bad_fine = {
        **RULE_BOOK,
        "violation_types": {"hygiene": {**RULE_BOOK["violation_types"]["hygiene"], "fine_fen": 100.5}},
    }
    with pytest.raises(InvalidInput) as refused:
        market.office.propose_rules(bad_fine)
    assert "violation_types" in refused.value.fields
    with pytest.raises(InvalidInput) as refused:
        market.office.propose_rules(
            {**RULE_BOOK, "thresholds": {**RULE_BOOK["thresholds"], "warning": 30}}
        )
    assert "thresholds" in refused.value.fields
    assert counts(mdb) == before
