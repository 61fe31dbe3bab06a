"""Postings of one finance process take turns, and the turn passes when the posting's transaction
commits: for an RPC command that is when its result is recorded, after the method returns."""

import pytest

from services.finance import store


class Command:
    """Stands in for the kit's database as an RPC command sees it (shared/mongo.Database)."""

    def __init__(self, holds=True):
        self.holds, self.held, self.settled, self.log = holds, False, [], []

    def commit_held(self):
        if self.held:
            self.log.append("commit held")
            self.held = False
            for callback in self.settled:
                callback()
            self.settled = []

    def when_settled(self, callback):
        if not self.held:
            return False
        self.settled.append(callback)
        return True

    def run_transaction(self, work):
        self.log.append(f"turn taken: {store._POSTING.locked()}")
        result = work(None)
        self.held = self.holds
        return result


@pytest.fixture(autouse=True)
def free_turn():
    yield
    if store._POSTING.locked():
        store._POSTING.release()
        pytest.fail("a test left the ledger's turn taken")


def test_a_commands_turn_passes_when_its_held_transaction_commits():
    command = Command()
    assert store.posting(command, lambda tx: "posted") == "posted"
    assert store._POSTING.locked()  # the method has returned, its result is not recorded yet
    command.commit_held()  # what the kit does with the result (or when another transaction opens)
    assert not store._POSTING.locked()


def test_a_second_posting_of_the_same_command_commits_its_first_before_asking_for_the_turn():
    command = Command()
    store.posting(command, lambda tx: 1)
    store.posting(command, lambda tx: 2)  # a bank statement's second chunk: no deadlock
    assert command.log == ["turn taken: True", "commit held", "turn taken: True"]
    command.commit_held()
    assert not store._POSTING.locked()


def test_a_handler_or_timer_posting_passes_the_turn_at_once_and_on_failure():
    store.posting(Command(holds=False), lambda tx: None)
    assert not store._POSTING.locked()

    def fails(tx):
        raise ValueError("refused")

    with pytest.raises(ValueError):
        store.posting(Command(), fails)
    assert not store._POSTING.locked()
