"""What every market use case shares: a command that runs once per request id."""

from services.market import store


def once(db, operation, request, work, now):
    """Run `work(tx)` in one transaction (rerun from the start on a write conflict), remembering
    its result under the request id: a command retried with the same id returns its first result."""
    first = store.remembered(db, operation, request.get("request_id"))
    if first is not None:
        return first

    def run(tx):
        result = work(tx)
        store.remember(tx, operation, request.get("request_id"), result, now)
        return result

    return db.run_transaction(run)
