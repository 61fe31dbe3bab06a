"""Market fees and fines become receivables, once per fact even under a redelivery storm; a payment
clears them and tells the market; a reversed violation takes its fine back."""

from datetime import date

import eventlet
from kombu import Exchange

from shared import clock
from shared.events import envelope
from tests.integration.finance.conftest import RegistryEvents, assert_books_sound
from tests.support import wait_until

SETTLE = 0.5  # seconds for the duplicates of a storm to arrive (each is refused as already applied)


def market_event(type, payload):
    return envelope(type, payload, source="market", correlation_id="test", occurred_at=clock.now())


FEE = {
    "vendor_id": "V-0007",
    "resident_id": None,
    "fee_id": "FEE-S12-2026-11",
    "stall_id": "S12",
    "period": "2026-11",
    "items": {"management": 30_000, "sanitation": 5_000},
    "amount_fen": 35_000,
    "due_on": date(2026, 11, 10),
}
FINE = {
    "vendor_id": "V-0007",
    "resident_id": None,
    "violation_id": "VIO-0001",
    "stall_id": "S12",
    "zone": "A",
    "grid_code": "G2",
    "violation_type": "hygiene",
    "description": "油污未清理",
    "rule_book_id": "RB-1",
    "points": 2,
    "fine_fen": 20_000,
    "public_order": False,
    "points_total": 2,
    "escalation": "none",
    "inspector_id": "ST-0300",
    "night_id": "N-2026-11-20",
}


def test_market_money_under_a_redelivery_storm(finance, officer, fdb, config, listen):
    received = listen("payment_received")
    publisher = RegistryEvents(config["AMQP_URI"])
    publisher.publisher.declare(Exchange("market.events", type="topic", durable=True))
    fee, fine = market_event("market.fee_charged", FEE), market_event("market.violation_recorded", FINE)
    storm = [fee, fine] * 5  # every fact delivered five times
    publisher.publisher.publish_batch([("market.events", e["type"].split(".", 1)[1], e, {}) for e in storm])
    wait_until(lambda: fdb.receivables.count_documents({}) == 2, message="two receivables")
    wait_until(lambda: fdb.processed_events.count_documents({}) >= 2, message="both facts handled")
    eventlet.sleep(SETTLE)  # let the duplicates arrive and be refused
    assert fdb.journal.count_documents({}) == 2
    assert officer.account_balance({"account": "community/fees_receivable"})["balance_fen"] == 35_000
    assert officer.account_balance({"account": "community/income_market_fines"})["balance_fen"] == -20_000

    # the vendor pays the fee in full and half the fine
    officer.record_payment(
        {
            "payment_id": "PAY-M1",
            "source": "market",
            "payer": "V-0007",
            "amount_fen": 35_000,
            "reference": "FEE-S12-2026-11",
        }
    )
    officer.record_payment(
        {
            "payment_id": "PAY-M2",
            "source": "market",
            "payer": "V-0007",
            "amount_fen": 10_000,
            "reference": "VIO-0001",
        }
    )
    wait_until(lambda: len(received()) == 2, message="payment_received for the market")
    first = received()[0]["payload"]
    assert (first["reference"], first["applied_fen"], first["settled"]) == ("FEE-S12-2026-11", 35_000, True)

    # the appeal is upheld: the open half leaves the receivable, the paid half is the vendor's credit
    reversed_ = market_event(
        "market.violation_reversed",
        {
            "vendor_id": "V-0007",
            "resident_id": None,
            "violation_id": "VIO-0001",
            "points": 2,
            "fine_fen": 20_000,
            "points_total": 0,
            "reason": "appeal upheld",
        },
    )
    publisher.publisher.publish_batch([("market.events", "violation_reversed", reversed_, {})] * 3)
    wait_until(
        lambda: fdb.receivables.find_one({"_id": "VIO-0001", "status": "reversed"}), message="reversal"
    )
    eventlet.sleep(SETTLE)
    publisher.publisher.close()
    assert officer.account_balance({"account": "community/income_market_fines"})["balance_fen"] == 0
    assert officer.account_balance({"account": "community/fines_receivable"})["balance_fen"] == 0
    assert officer.account_balance({"account": "community/unapplied_payments"})["balance_fen"] == -10_000
    facts = {d["_id"] for d in fdb.facts.find({"kind": {"$regex": "^market"}})}
    assert facts == {fee["event_id"], fine["event_id"], reversed_["event_id"]}  # keyed by the event id
    assert_books_sound(fdb, officer)


def test_fines_arriving_during_a_long_bank_statement_wait_their_turn(finance, officer, fdb, config, caplog):
    """A command's last posting stays uncommitted until its result is recorded with it. Fines
    posted meanwhile wait for the ledger's turn; they used to take it, meet the statement's
    uncommitted chain head and lose write conflicts for their whole budget (then Busy and a
    backoff), while the statement waited for the turn to commit its chunk."""
    publisher = RegistryEvents(config["AMQP_URI"])
    publisher.publisher.declare(Exchange("market.events", type="topic", durable=True))
    statement = [{"payment_id": f"PAY-B{n:04d}", "source": "rent", "payer": f"T-{n:04d}", "amount_fen": 1_000}
                 for n in range(1_000)]  # five chunks; unknown payers, held unapplied
    reply = officer.import_payments.call_async({"payments": statement})
    wait_until(lambda: fdb.payments.count_documents({}) > 0, message="the statement's first chunk")
    fines = [market_event("market.violation_recorded", {**FINE, "violation_id": f"VIO-B{n}"})
             for n in range(5)]
    publisher.publisher.publish_batch([("market.events", "violation_recorded", e, {}) for e in fines])
    assert reply.result()["recorded"] == 1_000
    wait_until(lambda: fdb.receivables.count_documents({}) == 5, message="the five fines")
    refused = [r.getMessage() for r in caplog.records if "failed on attempt" in r.getMessage()]
    assert refused == []
    assert_books_sound(fdb, officer)
