"""The rule book (规章制度): proposed by the office, voted on by the active vendors (one vote each,
quorum and majority from config), published only when adopted; emergency safety rules are
published by the office alone, flagged as such. A version applies from its effective date and
never rewrites a past violation (each violation keeps the rule-book id, points and fine it got)."""

from services.market import domain, schemas, store
from shared.errors import Conflict, Forbidden, NotFound


def propose_rules(db, request, actor_id, now):
    thresholds = domain.Thresholds(**request["thresholds"])
    domain.check_rule_book(request["violation_types"], thresholds)

    def work(tx):
        version = store.next_number(tx, "rule_book")
        book = {
            "_id": f"RB-{version:04d}",
            "version": version,
            "title": request["title"],
            "status": "proposed",
            "effective_on": request["effective_on"].isoformat(),
            "emergency": request["emergency"],
            "violation_types": request["violation_types"],
            "thresholds": request["thresholds"],
            "proposed_by": actor_id,
            "proposed_at": now,
            # the electorate is fixed when the vote opens: the vendors active at that moment
            "electorate": [] if request["emergency"] else store.active_vendor_ids(tx),
            "result": None,
        }
        tx.rule_books.insert_one(book)
        return schemas.RuleBookView().dump(book)

    return db.run_transaction(work)


def vote_on_rules(db, request, grant, now):
    grant.check(owners=request["vendor_id"], what="vendor_id", ref=request["vendor_id"])

    def work(tx):
        book = store.load(tx, "rule_books", request["rule_book_id"])
        if book["status"] != "proposed" or book["emergency"]:
            raise Conflict(
                "this rule book is not open for a vote", {"rule_book_id": [f"status {book['status']}"]}
            )
        if request["vendor_id"] not in book["electorate"]:
            raise Forbidden(
                "only vendors active when the vote opened may vote",
                {"vendor_id": ["not in the electorate"]},
            )
        key = f"{book['_id']}:{request['vendor_id']}"
        store.insert_once(
            tx,
            "votes",
            {
                "_id": key,
                "rule_book_id": book["_id"],
                "vendor_id": request["vendor_id"],
                "ballot": request["ballot"],
                "at": now,
            },
            Conflict("already voted", {"vendor_id": ["one vote per vendor"]}),
        )
        return {
            "rule_book_id": book["_id"],
            "vendor_id": request["vendor_id"],
            "ballot": request["ballot"],
        }

    return db.run_transaction(work)


def publish_rules(db, request, settings, actor_id, now):
    """Count the votes and adopt (or reject) the book; an emergency book is adopted as it stands."""

    def work(tx):
        book = store.load(tx, "rule_books", request["rule_book_id"])
        if book["status"] != "proposed":
            raise Conflict("already decided", {"rule_book_id": [f"status {book['status']}"]})
        if book["emergency"]:
            adopted, votes_for, votes_against, reason = (
                True,
                0,
                0,
                "emergency safety rules, published by the office",
            )
        else:
            votes = {v["vendor_id"]: v["ballot"] for v in tx.votes.find({"rule_book_id": book["_id"]})}
            adopted, votes_for, votes_against, reason = domain.tally(
                set(book["electorate"]), votes, settings.adoption_quorum, settings.adoption_majority
            )
        result = {
            "adopted": adopted,
            "electorate": len(book["electorate"]),
            "votes_for": votes_for,
            "votes_against": votes_against,
            "reason": reason,
            "quorum": settings.adoption_quorum,
            "majority": settings.adoption_majority,
            "decided_by": actor_id,
            "decided_at": now.isoformat(),
        }
        status = "adopted" if adopted else "rejected"
        tx.rule_books.update_one({"_id": book["_id"]}, {"$set": {"status": status, "result": result}})
        if adopted:
            tx.emit(
                "market.rules_adopted",
                {
                    "rule_book_id": book["_id"],
                    "version": book["version"],
                    "effective_on": book["effective_on"],
                    "emergency": book["emergency"],
                    "electorate": len(book["electorate"]),
                    "votes_for": votes_for,
                    "votes_against": votes_against,
                    "violation_types": sorted(book["violation_types"]),
                },
            )
        return schemas.RuleBookView().dump({**book, "status": status, "result": result})

    return db.run_transaction(work)


def get_rules(db, params, now):
    if params.get("rule_book_id"):
        book = store.load(db, "rule_books", params["rule_book_id"])
    else:
        book = domain.rule_book_in_force(
            store.rule_books(db), params.get("on") or domain.local_date(now)
        )
        if book is None:
            raise NotFound("no rule book in force", {"on": ["no adopted rule book yet"]})
    # the vote record is kept; who voted how is the office's, the counts are everyone's
    ballots = [v["ballot"] for v in db.votes.find({"rule_book_id": book["_id"]}, {"ballot": 1})]
    counts = {b: ballots.count(b) for b in ("for", "against", "abstain")}
    return {**schemas.RuleBookView().dump(book), "ballots": {**counts, "cast": len(ballots)}}
