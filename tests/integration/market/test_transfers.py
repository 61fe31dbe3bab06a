"""Transfers (转让): a stall passes only through the office, to the holder's close family, for the
rest of its term, once a term; everything else is refused with the field named and nothing moved."""

import pytest

from shared.errors import Conflict, InvalidInput


@pytest.fixture
def held(market):
    market.lay_out(zones=("A",), per_zone=2, kinds=("goods",))
    holder, relative, other_holder = (market.vendor("goods") for _ in range(3))
    market.adopt()
    market.give_stall("S-A001", holder)
    market.give_stall("S-A002", other_holder)
    return holder, relative, other_holder


def transfer(market, holder, receiver, **extra):
    return market.office.transfer_stall({"stall_id": "S-A001", "from_vendor_id": holder,
                                         "to_vendor_id": receiver, "relation": "child",
                                         "reason": "old_age", **extra})


def test_a_stall_passes_to_a_relative_for_the_rest_of_its_term(market, held, emitted, mdb):
    holder, relative, _ = held
    done = transfer(market, holder, relative)

    assert (done["to_vendor_id"], done["term_end"]) == (relative, "2027-10-31")  # the same term
    stall = market.office.list_stalls({"status": "allocated"})["items"][0]
    assert (stall["stall_id"], stall["vendor_id"]) == ("S-A001", relative)
    assert market.office.vendor_record({"vendor_id": holder})["stall_id"] is None
    assert market.office.vendor_record({"vendor_id": relative})["stall_id"] == "S-A001"
    [fact] = emitted("market.stall_transferred")
    assert fact["payload"]["from_vendor_id"] == holder and fact["payload"]["relation"] == "child"
    assert mdb.transfers.count_documents({"stall_id": "S-A001"}) == 1


def test_once_a_term_and_never_to_someone_who_holds_a_stall(market, held, mdb):
    holder, relative, other_holder = held
    with pytest.raises(Conflict) as refused:
        transfer(market, holder, other_holder)
    assert refused.value.fields == {"to_vendor_id": ["already holds a stall"]}

    transfer(market, holder, relative)
    with pytest.raises(Conflict) as refused:
        transfer(market, relative, holder, relation="parent")
    assert refused.value.fields == {"stall_id": ["already transferred once this term"]}
    assert mdb.transfers.count_documents({}) == 1


def test_arrears_and_private_transfers_are_refused_and_nothing_moves(market, held, mdb):
    holder, relative, _ = held
    mdb.vendors.update_one({"_id": holder}, {"$set": {"arrears_fen": 5000}})
    with pytest.raises(Conflict) as refused:
        transfer(market, holder, relative)
    assert "arrears" in refused.value.fields["from_vendor_id"][0]
    with pytest.raises(InvalidInput) as refused:  # a friend, a buyer: not a relation the rules know
        transfer(market, holder, relative, relation="friend")
    assert "relation" in refused.value.fields
    assert mdb.stalls.find_one({"_id": "S-A001"})["vendor_id"] == holder
    assert mdb.transfers.count_documents({}) == 0
