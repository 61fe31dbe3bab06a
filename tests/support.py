"""Helpers for tests that watch asynchronous outcomes on real infrastructure."""

import eventlet


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll `predicate` until it returns a truthy value (returned) or `timeout` passes.

    Waiting for an outcome, not sleeping for time: the test moves on as soon as it holds."""
    deadline = eventlet.hubs.get_hub().clock() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if eventlet.hubs.get_hub().clock() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        eventlet.sleep(interval)


def queue_depth(config, queue_name):
    from kombu import Connection

    with Connection(config["AMQP_URI"]) as conn:
        try:
            return conn.default_channel.queue_declare(queue_name, passive=True).message_count
        except Exception:
            return None


def read_matrix(table):
    """A hand-written access matrix (`rpc col1 col2 ...` then one row per RPC) as
    (columns, {rpc: {column: expected cell}})."""
    header, *rows = [line.split() for line in table.strip().splitlines()]
    columns = header[1:]
    return columns, {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def matrix_mismatches(expected, observed):
    """{(rpc, column): (expected, observed)} for every cell that differs."""
    return {(rpc, column): (cell, observed[rpc][column])
            for rpc, row in expected.items() for column, cell in row.items() if cell != observed[rpc][column]}


def shows_nothing(answer):
    """An answer with nothing visible in it: an empty list, listing or inbox."""
    if isinstance(answer, dict):
        return answer.get("items") == [] or answer.get("messages") == []
    return answer == []


def matrix_cell(call, refusals=None, empty=shows_nothing):
    """The cell a call earns in an access matrix: F forbidden, N not found, E answered with nothing
    visible, A answered or refused by the service's own rules (past access: `Conflict`, and the
    classes `refusals` maps to "A"; it may map a class to a cell of its own)."""
    from shared.errors import Conflict, Forbidden, NotFound

    refusals = {Conflict: "A", **(refusals or {})}
    try:
        answer = call()
    except Forbidden:
        return "F"
    except NotFound:
        return "N"
    except tuple(refusals) as exc:
        return next(cell for cls, cell in refusals.items() if isinstance(exc, cls))
    return "E" if empty(answer) else "A"
