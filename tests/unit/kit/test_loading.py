"""The demo loaders' overlapping calls, with replies that stand in for nameko's (no broker)."""

import pytest

from shared import loading
from shared.errors import Busy, Conflict


class Reply:
    def __init__(self, outcome, log):
        self.outcome, self.log = outcome, log

    def result(self):
        self.log.append(("settled", self.outcome))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class Method:
    """`call_async(p)` answers p * 10, or refuses p when a refusal is listed for it (once)."""

    def __init__(self, refusals=None):
        self.refusals, self.log = dict(refusals or {}), []

    def call_async(self, payload):
        self.log.append(("sent", payload))
        return Reply(self.refusals.pop(payload, payload * 10), self.log)

    def __call__(self, payload):
        self.log.append(("again", payload))
        return payload * 10


def test_answers_come_in_order_with_at_most_width_in_flight():
    method = Method()
    assert loading.each(method, [1, 2, 3, 4, 5], width=2) == [10, 20, 30, 40, 50]
    in_flight = peak = 0
    for kind, _ in method.log:
        in_flight += 1 if kind == "sent" else -1
        peak = max(peak, in_flight)
    assert peak == 2


def test_a_busy_call_is_made_again_and_any_other_refusal_is_raised(monkeypatch):
    monkeypatch.setattr(loading.time, "sleep", lambda seconds: None)
    heard = []
    method = Method({2: Busy("busy")})
    assert loading.each(method, [1, 2, 3], progress=heard.append) == [10, 20, 30]
    assert ("again", 2) in method.log and heard == [10, 20, 30]
    with pytest.raises(Conflict):
        loading.each(Method({1: Conflict("taken")}), [1, 2])


def test_overlapped_hands_refusals_back_to_the_caller():
    method = Method({2: Conflict("taken")})
    heard = []
    answers = loading.overlapped([lambda p=p: method.call_async(p) for p in (1, 2, 3)], width=2,
                                 progress=heard.append)
    assert answers[0] == 10 and isinstance(answers[1], Conflict) and answers[2] == 30
    assert heard == answers  # each answer, refusals too, as it is settled
