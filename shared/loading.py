"""Loading many records through a service's RPCs (the demo loaders of `make run`): the calls
overlap instead of queueing one round trip after another, and a call refused as `Busy` (write
conflicts that outlasted the service's reruns: nothing was written) is made again after a pause,
so a loaded machine slows a load down rather than aborting it."""

import os
import time
from collections import deque

from shared.errors import Busy


def client_config():
    """A standalone RPC client's nameko config: the broker of `AMQP_URI` (local guest by default)."""
    return {"AMQP_URI": os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/"),
            "serializer": "json"}


def again_if_busy(call, attempts=10):
    """`call()`, made again after a growing pause while it is refused as `Busy`."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Busy:
            if attempt == attempts:
                raise
            time.sleep(attempt)


def _result_or_refusal(reply):
    try:
        return reply.result()
    except Exception as exc:  # noqa: BLE001 -- handed back to the caller, who decides
        return exc


def overlapped(sends, width=16, settle=_result_or_refusal, progress=None):
    """The answers of `sends` in order, with up to `width` in flight. Each send is a thunk that
    sends one call (a standalone proxy's `.call_async`) and returns what `settle` turns into the
    answer; by default the reply, whose answer is its result or the exception refusing it.
    `progress(answer)` hears of each answer as it comes."""
    pending, answers = deque(), []

    def settled(sent):
        answer = settle(sent)
        if progress:
            progress(answer)
        return answer

    for send in sends:
        pending.append(send())
        if len(pending) >= width:
            answers.append(settled(pending.popleft()))
    return answers + [settled(sent) for sent in pending]


def each(method, payloads, width=16, progress=None):
    """`method` over `payloads`, calls overlapping; one refused as `Busy` is made again on its own,
    any other refusal is raised. `progress(result)` hears of each result as it comes."""

    def settle(sent):
        payload, reply = sent
        try:
            return reply.result()
        except Busy:
            return again_if_busy(lambda: method(payload))

    return overlapped([lambda p=p: (p, method.call_async(p)) for p in payloads], width, settle, progress)
