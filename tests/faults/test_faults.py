"""The short fault suite (`make faults` runs the long one): every fault heals by itself.

30 commands per fault, on a private broker node and database server of this run's own (free
ports, so parallel runs do not collide); about 3.5 minutes, most of it the minute a killed
process's open transactions live on the server."""

import pytest

from tests.faults import suite


# A killed instance's open transactions block what it was writing for their lifetime (60 s on
# SecantusDB), so a redelivered event loses write conflicts for up to a minute: its retries must
# outlast that (a schedule summing ~10 s dead-lettered 5 of 50 in a clean-clone run), and settle
# must cover the retries.
@pytest.mark.timeout(900)
def test_every_fault_heals_itself_no_command_lost_or_applied_twice():
    results, _ = suite.run(commands=30, outage=2.0, settle=150.0, fixed_ports=False, takeover=False,
                           event_retry_ms=(1000, 5000, 20000, 40000, 60000))

    assert [r.fault for r in results] == [name for name, _ in suite.FAULTS]
    failed = {r.fault: {"lost": r.lost, "twice": r.twice, "unanswered": r.unanswered,
                        "dead-lettered": r.dead_lettered,
                        "manual restarts": r.manual_restarts, "notes": r.notes}
              for r in results if not r.ok}
    assert failed == {}
    assert all(r.persisted == r.sent and r.delivered == r.sent for r in results)
