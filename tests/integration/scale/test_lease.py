"""The lease that lets one instance of a service do a job at a time, on the real database."""

import time

import eventlet

from shared.lease import Lease


def test_one_owner_at_a_time_renewed_by_the_holder(mongo_client, db_prefix):
    db = mongo_client[db_prefix + "lease"]
    first, second = Lease(db, "job", seconds=30), Lease(db, "job", seconds=30)

    assert first.hold()
    assert not second.hold()
    assert first.hold()  # the holder renews
    assert first.holder() == first.owner


def test_released_lease_is_taken_at_once_and_an_expired_one_taken_over(mongo_client, db_prefix):
    db = mongo_client[db_prefix + "lease"]
    first, second = Lease(db, "job", seconds=0.3), Lease(db, "job", seconds=0.3)
    assert first.hold()
    first.release()
    assert second.hold()  # no wait after a clean stop

    time.sleep(0.4)  # the holder "died": its lease runs out
    assert first.hold()
    assert not second.hold()


def test_many_contenders_on_first_use_one_wins(mongo_client, db_prefix):
    db = mongo_client[db_prefix + "lease"]
    leases = [Lease(db, "job", seconds=30) for _ in range(8)]
    pool = eventlet.GreenPool()
    won = list(pool.imap(lambda lease: lease.hold(), leases))
    assert won.count(True) == 1
    assert db.locks.count_documents({}) == 1
