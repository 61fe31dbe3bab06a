"""finance.payment_received clears a vendor's arrears here, once, however often it is delivered."""

from nameko.standalone.events import event_dispatcher

from shared import clock
from shared.events import envelope
from tests.support import wait_until


def payment(payment_id, vendor_id, reference, amount_fen, settled=True):
    return envelope(
        "finance.payment_received",
        {
            "payment_id": payment_id,
            "source": "market",
            "reference": reference,
            "payer": vendor_id,
            "amount_fen": amount_fen,
            "received_at": clock.now(),
            "applied_fen": amount_fen,
            "unapplied_fen": 0,
            "settled": settled,
        },
        source="finance",
        correlation_id="pay-1",
        occurred_at=clock.now(),
    )


def test_a_payment_clears_the_fee_it_names_once(market, fire, mdb, market_config):
    market.lay_out(zones=("A",), per_zone=1, kinds=("goods",))
    vendor_id = market.vendor("goods")
    market.give_stall("S-A001", vendor_id)
    fire("charge_fees")
    assert market.office.vendor_record({"vendor_id": vendor_id})["arrears_fen"] == 25000
    paid = payment("PAY-000001", vendor_id, "FEE-202611-A001", 25000)
    dispatch = event_dispatcher(market_config)
    dispatch("finance", "payment_received", paid)
    dispatch("finance", "payment_received", paid)  # delivered twice
    wait_until(
        lambda: mdb.fees.find_one({"_id": "FEE-202611-A001"})["status"] == "paid", message="fee paid"
    )
    wait_until(lambda: mdb.processed_events.count_documents({}) >= 1, message="claimed")
    record = market.office.vendor_record({"vendor_id": vendor_id})
    assert record["arrears_fen"] == 0 and record["fees"][0]["paid_fen"] == 25000
    # another payment event arriving after both copies proves the duplicate was not applied later
    dispatch(
        "finance", "payment_received", payment("PAY-000002", vendor_id, "FEE-202611-A001", 1, False)
    )
    wait_until(lambda: mdb.payments.count_documents({}) == 2, message="the second payment")
    assert market.office.vendor_record({"vendor_id": vendor_id})["arrears_fen"] == -1
    assert mdb.payments.count_documents({"_id": "PAY-000001"}) == 1
