"""The short fault suite (`make faults` runs the long one): every fault heals by itself.

30 commands per fault, on a private broker node and database server of this run's own (free
ports, so parallel runs do not collide). About a minute: a killed process's open transactions live
on for the server's transaction lifetime, 10 s here (60 s in `make faults`, mongod's default: three
kills took 3.5 minutes with it, each recovering in 60 s)."""

import pytest

from tests.faults import suite

# A killed instance's open transactions block what it was writing for their lifetime, so a
# redelivered event loses write conflicts until then: its retries must outlast that with room to
# spare (with the 60 s lifetime, a schedule summing ~10 s dead-lettered 5 of 50 in a clean-clone
# run; this one sums to ~4 lifetimes), and settle must cover the retries.
TRANSACTION_LIFETIME_SECONDS = 10


@pytest.mark.timeout(600)
def test_every_fault_heals_itself_no_command_lost_or_applied_twice():
    results, _ = suite.run(commands=30, outage=2.0, settle=90.0, fixed_ports=False, takeover=False,
                           event_retry_ms=(500, 1000, 2000, 5000, 10000, 20000),
                           transaction_lifetime=TRANSACTION_LIFETIME_SECONDS)

    assert [r.fault for r in results] == [name for name, _ in suite.FAULTS]
    failed = {r.fault: {"lost": r.lost, "twice": r.twice, "unanswered": r.unanswered,
                        "dead-lettered": r.dead_lettered,
                        "manual restarts": r.manual_restarts, "notes": r.notes}
              for r in results if not r.ok}
    assert failed == {}
    assert all(r.persisted == r.sent and r.delivered == r.sent for r in results)
