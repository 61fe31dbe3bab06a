"""The ledger: balanced, immutable, posted once per id, tamper-evident, reconciled."""

import eventlet
import pytest

from shared.errors import Conflict, InvalidInput
from tests.integration.finance.conftest import assert_books_sound

BANK, CASH, INCOME = "community/bank", "community/cash", "community/income_other"


def transfer(entry_id="T-1", amount=12_345, **kw):
    return {
        "entry_id": entry_id,
        "code": "adjustment",
        "debit": BANK,
        "credit": INCOME,
        "amount_fen": amount,
        **kw,
    }


def test_a_transfer_posts_once_per_id_and_a_different_body_is_refused(finance, officer, fdb):
    first = officer.post_transfer(transfer())
    assert officer.post_transfer(transfer()) == first  # the same request again: the same answer
    with pytest.raises(Conflict) as refused:
        officer.post_transfer(transfer(amount=99))
    assert "entry_id" in refused.value.fields
    assert fdb.journal.count_documents({}) == 1
    assert officer.account_balance({"account": BANK})["balance_fen"] == 12_345
    assert officer.account_balance({"account": INCOME})["balance_fen"] == -12_345
    assert_books_sound(fdb, officer)


def test_concurrent_redeliveries_of_one_post_write_it_once(finance, as_actor, fdb):
    clients = [as_actor({"id": "ST-0101", "role": "finance_officer"}).finance for _ in range(6)]
    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda c: c.post_transfer(transfer("T-RACE", 500)), clients))
    assert {a["entry_id"] for a in answers} == {"T-RACE"} and len({a["hash"] for a in answers}) == 1
    assert fdb.journal.count_documents({}) == 1 and fdb.facts.count_documents({}) == 1
    assert fdb.balances.find_one({"_id": BANK})["balance_fen"] == 500
    assert_books_sound(fdb, clients[0])


def test_corrections_are_reversals_never_edits(finance, officer, fdb, listen):
    posted = listen("transfer_posted")
    officer.post_transfer(transfer("T-2", 700))
    undo = officer.reverse_transfer({"entry_id": "T-2", "reversal_id": "T-2-R", "reason": "wrong account"})
    assert undo["reverses"] == "T-2" and [x["amount_fen"] for x in undo["lines"]] == [-700, 700]
    with pytest.raises(Conflict):  # an entry is reversed once
        officer.reverse_transfer({"entry_id": "T-2", "reversal_id": "T-2-R2", "reason": "again"})
    assert officer.account_balance({"account": BANK})["balance_fen"] == 0
    assert fdb.journal.find_one({"_id": "T-2"})["lines"][0]["amount_fen"] == 700  # untouched
    from tests.support import wait_until

    wait_until(lambda: len(posted()) == 2, message="two transfer_posted events")
    assert_books_sound(fdb, officer)


def test_multi_line_entries_balance_across_levels(finance, officer, fdb):
    officer.post_transfer(
        {
            "entry_id": "T-3",
            "code": "transfer_to_group",
            "lines": [
                {"account": "group:第1组/bank", "amount_fen": 1_000},
                {"account": "group:第2组/bank", "amount_fen": 500},
                {"account": BANK, "amount_fen": -1_500},
            ],
        }
    )
    trial = officer.trial_balance()
    assert trial["sum_fen"] == 0 and {a["account"] for a in trial["accounts"]} >= {"group:第1组/bank"}
    assert_books_sound(fdb, officer)


def test_the_hash_chain_names_the_first_edited_entry(finance, officer, fdb):
    for n in range(1, 6):
        officer.post_transfer(transfer(f"T-{n}", n * 100))
    assert officer.verify_journal() == {"ok": True, "first_bad_entry": None, "entries": 5}
    fdb.journal.update_one({"_id": "T-3"}, {"$set": {"lines.0.amount_fen": 1, "lines.1.amount_fen": -1}})
    report = officer.verify_journal()
    assert not report["ok"] and report["first_bad_entry"]["entry_id"] == "T-3"


def test_reconcile_lists_a_fact_without_its_entry(finance, officer, fdb):
    officer.post_transfer(transfer("T-9", 100))
    assert officer.reconcile()["ok"]
    fdb.facts.insert_one(
        {"_id": "stray-fact", "kind": "payment_received", "entry_id": "nowhere", "amount_fen": 5}
    )
    assert officer.reconcile()["facts_without_entry"] == ["stray-fact"]


@pytest.mark.parametrize(
    "payload, field",
    [
        (transfer(amount=12.5), "amount_fen"),  # money is never a float
        (transfer(amount="100"), "amount_fen"),
        (transfer(amount=0), "amount_fen"),
        (transfer(debit="community/yacht"), "debit"),
        (transfer(credit=BANK), "credit"),  # debit and credit must differ
        (transfer(entry_id={"$gt": ""}), "entry_id"),  # no query operators as ids
        (transfer(entry_id="x" * 65), "entry_id"),
        (transfer(memo="a\u202eb"), "memo"),  # bidi override refused
        (
            {
                "entry_id": "T-L",
                "code": "adjustment",
                "lines": [{"account": BANK, "amount_fen": 5}, {"account": CASH, "amount_fen": -4}],
            },
            "lines",
        ),
        ({**transfer(), "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(finance, officer, fdb, payload, field):
    with pytest.raises(InvalidInput) as refused:
        officer.post_transfer(payload)
    assert field in refused.value.fields
    assert fdb.journal.count_documents({}) == 0 and fdb.outbox.count_documents({}) == 0
