"""Finance's collections, their indexes, and every query the service runs.

The ledger: `journal` (immutable entries, `_id` = the entry id, numbered and hash-chained through
the `chain` head), `balances` (one running balance per account, kept in the posting transaction)
and `facts` (what moved money, `_id` = the fact id, one per entry: reconciliation pairs them).
Every posting updates the chain head, so postings are serialised by the database (a loser of the
race reruns).

Indexes are few on purpose: on SecantusDB each one costs about 0.1 ms per document written (a
journal entry cost 0.40 ms with four secondary indexes, 0.06 ms with none, measured), and a
payout writes thousands.
"""

import threading

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from services.finance import domain
from shared.errors import Busy, Conflict, NotFound

INDEXES = {
    "journal": [
        IndexModel("seq", unique=True, name="seq"),
        # one entry per fact: `facts` is keyed by the fact id and written in the same transaction
        # as the entry (`post`), so its `_id` refuses a second entry; no unique index here too
        # by date (income_report); not by account: a multikey index on every line made each
        # posting measurably dearer, and balances are kept as running totals anyway
        IndexModel("booked_on", name="booked_on"),
        IndexModel(
            "reverses",
            unique=True,
            name="reversed_once",
            partialFilterExpression={"reverses": {"$type": "string"}},
        ),
    ],
    "balances": [],
    "chain": [],
    "facts": [],  # read whole by `unreconciled`, by `_id` otherwise
    "units": [],
    "leases": [IndexModel("unit_id", name="unit"), IndexModel("tenant_id", name="tenant")],
    "invoices": [
        IndexModel(
            [("tenant_id", ASCENDING), ("status", ASCENDING), ("due_on", ASCENDING)], name="tenant_open"
        ),
        IndexModel([("status", ASCENDING), ("due_on", ASCENDING)], name="open"),
    ],
    "receivables": [IndexModel([("payer", ASCENDING), ("status", ASCENDING)], name="payer_open")],
    "payments": [IndexModel([("payer", ASCENDING), ("received_at", DESCENDING)], name="payer")],
    "overdue_notices": [],
    "enterprises": [],
    "residents": [IndexModel("birth_date", name="birth_date"), IndexModel("household_id", name="household")],
    "households": [],
    "shareholders": [IndexModel("resident_id", name="resident"), IndexModel("group", name="group")],
    "dividend_runs": [],
    "dividend_lines": [
        # a run pays in shareholder order from its place (`paid_through`); lines are never rewritten
        IndexModel([("run_id", ASCENDING), ("shareholder_id", ASCENDING)], name="run_order"),
        IndexModel([("shareholder_id", ASCENDING), ("run_id", ASCENDING)], name="shareholder"),
    ],
}


# --- the ledger -------------------------------------------------------------------------------


# Every posting updates the chain head, so two postings of one process would only collide and
# rerun: they take turns here instead (postings of other instances still rerun on conflict).
_POSTING = threading.Lock()  # green under eventlet's monkey patching
TURN_WAIT_SECONDS = 30  # a turn never passed (a bug) refuses postings as Busy rather than hang


def posting(db, work):
    """Run `work(tx)` (which posts to the ledger) in a transaction, one posting transaction
    open at a time. The turn passes when that transaction commits: a command's last transaction
    stays open until its result is recorded with it (shared/idempotency.py), and a posting that
    began meanwhile would meet its uncommitted chain head and only lose write conflicts (seen:
    fines from the market rerunning for their whole budget, turn in hand, while a bank statement
    waited for the turn to commit its previous chunk: 26 s for one statement)."""
    db.commit_held()  # this worker's own earlier posting passes the turn before asking for it
    if not _POSTING.acquire(timeout=TURN_WAIT_SECONDS):
        raise Busy("the ledger is busy: try again")
    try:
        result = db.run_transaction(work)
    except BaseException:
        _POSTING.release()
        raise
    if not db.when_settled(_POSTING.release):
        _POSTING.release()
    return result


def post(tx, entries, posted_at):
    """Post `entries` (from `domain.entry`) in transaction `tx`; return the ones newly posted.

    An id already in the journal with the same body is a no-op (a redelivery or a retried
    command); with a different body it is refused, and nothing of this transaction is written."""
    if not entries:
        return []
    existing = {d["_id"]: d for d in _in_journal(tx, [e["_id"] for e in entries])}
    new, seen = [], set()
    for doc in entries:
        stored = existing.get(doc["_id"])
        if stored is not None or doc["_id"] in seen:
            if stored is not None and not domain.same_body(stored, doc):
                raise Conflict(
                    f"entry {doc['_id']} was posted with a different body",
                    {"entry_id": ["already used for a different transfer"]},
                )
            continue
        seen.add(doc["_id"])
        new.append(doc)
    if not new:
        return []
    head = tx.chain.find_one({"_id": "head"}) or {"seq": 0, "hash": domain.GENESIS}
    head = domain.chain(new, head)
    for doc in new:
        doc["posted_at"] = posted_at
    tx.journal.insert_many(new)
    tx.facts.insert_many(
        [
            {
                "_id": d["fact_id"],
                "kind": d["fact_kind"],
                "entry_id": d["_id"],
                "amount_fen": domain.amount_of(d),
                "at": posted_at,
            }
            for d in new
        ]
    )
    totals = {}
    for doc in new:
        for line in doc["lines"]:
            totals[line["account"]] = totals.get(line["account"], 0) + line["amount_fen"]
    tx.balances.bulk_write(
        [UpdateOne({"_id": a}, {"$inc": {"balance_fen": v}}, upsert=True) for a, v in sorted(totals.items())],
        ordered=False,
    )
    tx.chain.update_one({"_id": "head"}, {"$set": head}, upsert=True)
    return new


def _in_journal(db_or_tx, entry_ids, projection=None, chunk=100):
    """The journal's entries among `entry_ids`. In chunks: SecantusDB checks each document it
    finds against the whole `$in` list, so one long list costs its length squared (2,000 ids
    found took 40 times as long as 200, measured)."""
    for start in range(0, len(entry_ids), chunk):
        yield from db_or_tx.journal.find({"_id": {"$in": entry_ids[start : start + chunk]}}, projection)


def posted(db_or_tx, entry_ids):
    """Which of `entry_ids` are in the journal (a set)."""
    return {d["_id"] for d in _in_journal(db_or_tx, list(entry_ids), {"_id": 1})}


def load_entry(db, entry_id):
    doc = db.journal.find_one({"_id": entry_id})
    if doc is None:
        raise NotFound(f"no entry {entry_id}", {"entry_id": ["unknown entry"]})
    return doc


def balance(db, code):
    doc = db.balances.find_one({"_id": code})
    return doc["balance_fen"] if doc else 0


def balances(db, prefix=None):
    query = {"_id": {"$regex": f"^{prefix}"}} if prefix else {}
    return {d["_id"]: d["balance_fen"] for d in db.balances.find(query).sort("_id", 1)}


def journal_in_order(db, batch=2000):
    return db.journal.find({}, {"posted_at": 0}).sort("seq", 1).batch_size(batch)


def journal_page(db, query, page, page_size):
    total = db.journal.count_documents(query)
    docs = db.journal.find(query).sort("seq", -1).skip((page - 1) * page_size).limit(page_size)
    return total, list(docs)


def unreconciled(db):
    """Facts with no entry (or a wrong amount) and entries with no fact."""
    entries = {d["_id"]: d for d in db.journal.find({}, {"lines": 1, "fact_id": 1})}
    facts = {d["_id"]: d for d in db.facts.find({})}
    by_fact = {d["fact_id"]: d for d in entries.values()}
    facts_without = [
        f["_id"] for f in facts.values() if f["_id"] not in by_fact or f.get("entry_id") not in entries
    ]
    entries_without = [e["_id"] for e in entries.values() if e["fact_id"] not in facts]
    mismatched = [
        f["_id"]
        for f in facts.values()
        if f["_id"] in by_fact and domain.amount_of(by_fact[f["_id"]]) != f["amount_fen"]
    ]
    return {
        "facts_without_entry": sorted(facts_without),
        "entries_without_fact": sorted(entries_without),
        "amounts_differ": sorted(mismatched),
    }


def income_by_source(db, year):
    """Income booked in `year` by income account (credits positive), over all scopes."""
    pipeline = [
        {"$match": {"booked_on": {"$gte": f"{year}-01-01", "$lte": f"{year}-12-31"}}},
        {"$unwind": "$lines"},
        {"$group": {"_id": "$lines.account", "total": {"$sum": "$lines.amount_fen"}}},
    ]
    totals = {}
    for row in db.journal.aggregate(pipeline):
        name = row["_id"].rsplit("/", 1)[1]
        if name in domain.INCOME_SOURCES:
            source = domain.INCOME_SOURCES[name]
            totals[source] = totals.get(source, 0) - row["total"]
    return totals


# --- read models fed by registry events -------------------------------------------------------


def shareholders(db, query=None):
    return list(db.shareholders.find(query or {}, {"_id": 0}))


def residents_60_plus(db, first):
    """Residents who may be 60 by `first` (the exact rule is domain.allowance)."""
    born_by = f"{first.year - 60:04d}-{first.month:02d}-01"  # (29 February: 60 on 1 March)
    return list(
        db.residents.find(
            {"birth_date": {"$lte": born_by}, "status": "active", "residence_type": "registered"},
            {"_id": 1, "birth_date": 1, "status": 1, "residence_type": 1},
        )
    )


# --- rents ------------------------------------------------------------------------------------


def open_invoices(db_or_tx, tenant_id=None, reference=None):
    query = {"status": "open"}
    if tenant_id:
        query["tenant_id"] = tenant_id
    if reference:
        query["_id"] = reference
    return list(db_or_tx.invoices.find(query).sort([("due_on", 1), ("_id", 1)]))


def load(db, collection, key, what, field):
    doc = getattr(db, collection).find_one({"_id": key})
    if doc is None:
        raise NotFound(f"no {what} {key}", {field: [f"unknown {what}"]})
    return doc


def stats(db):
    return {"units": db.units.count_documents({}), "leases": db.leases.count_documents({}),
            "entries": db.journal.count_documents({}), "residents": db.residents.count_documents({}),
            "shareholders": db.shareholders.count_documents({"status": "active"}),
            "groups": sorted(db.shareholders.distinct("group", {"status": "active"}))}
