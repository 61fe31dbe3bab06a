"""The capacity model of docs/scale.md: load at peak and what serves it, from measured figures.

    .venv/bin/python bench/capacity.py          prints the tables docs/scale.md shows

Two inputs, kept apart:
- MEASURED: per-instance and per-server throughput measured on this project's machines (2 shared
  cores, SecantusDB, one RabbitMQ node): docs/stack.md's quiet-machine baselines, scaled where a
  later bench measured a ratio to them (README, "Throughput"). Each number names where it comes
  from. Re-measure with `make bench` and update here.
- DEMAND: what one community does in a day, from its own numbers (12,000 residents, 4,000
  households, 7 grids, the staff it has); everything else scales by the number of communities.
Nothing is timed here: it is arithmetic, so docs/scale.md can be checked against it
(tests/unit/deploy/test_capacity_model.py).
"""

import math

MEASURED = {
    # docs/stack.md: grid_events `report_incident` (2-3 registry RPCs, a duplicate query, one
    # transaction), 5-10 concurrent clients: 25-55 /s. The low end is the planning figure.
    "commands_per_instance": 25,
    # docs/stack.md: RPC round trip 1.7-2.0 ms (median of 500) -> 1 / 2.0 ms.
    "reads_per_instance": 500,
    # docs/stack.md: idempotent consumer transaction (claim + effect), 10 greenthreads: ~250 /s.
    "events_per_consumer_instance": 250,
    # README, bench_kit (issue 15): the relay, bound by its per-event outbox deletes, runs at
    # 0.30x bare dispatch; bare dispatch with confirms is ~640 /s quiet (docs/stack.md).
    # One relay per service publishes (the lease).
    "events_per_relay": round(0.30 * 640),
    # docs/stack.md: one RabbitMQ node, 2 cores: ~5,200 publishes/s without confirms and
    # ~5,800 deliveries/s; the smaller is the node's planning figure.
    "messages_per_broker_node": 5200,
    # docs/stack.md: SecantusDB, one transaction (unique claim + $inc) at a time: ~350 /s. A
    # replica set takes every write on its primary, so this is a replica set's (shard's) figure.
    "write_transactions_per_shard": 350,
}

UTILISATION = 0.5       # plan every server at half its measured rate: room for a failed peer
MIN_INSTANCES = 2       # two of each service: one can be drained, upgraded or die
SERVICES = 6            # registry, grid_events, notifications, market, finance, gateway
PEAK_HOUR_SHARE = 0.2   # a fifth of a day's work in its busiest hour (morning rounds, evening market)
BURST = 3               # the busiest second of that hour against its mean

RESIDENTS_PER_COMMUNITY = 12_000
HOUSEHOLDS_PER_COMMUNITY = 4_000

# One community's day (demand), from its own numbers: 7 grids with two workers each reporting
# ~8 items, residents' own reports; each incident passes report, assign, accept, progress, close,
# rate. Registry changes, visits, the night market's ~120 stalls, payments. Reads: ~60 staff at
# ~300 screens a day, 15 % of residents opening the app ~8 times.
COMMUNITY_DAY = {
    "commands": 150 * 6 + 60 + 200 + 120 * 2 + 150,
    "reads": 60 * 300 + int(RESIDENTS_PER_COMMUNITY * 0.15) * 8,
    # each command emits about one fact; each fact reaches two consumers on average
    # (notifications and the service keeping statistics or follow-up work)
    "event_deliveries_per_command": 2,
}

# Bursts that do not follow the day: a notice to every resident (one delivery each), the
# cooperative's year-end dividend to every household; each to be through within BURST_MINUTES.
BURSTS = {"notice to all residents": RESIDENTS_PER_COMMUNITY,
          "year-end dividend": HOUSEHOLDS_PER_COMMUNITY}
BURST_MINUTES = 10

SCALES = {"one community": 1, "street office (50)": 50,
          "city (2 million)": math.ceil(2_000_000 / RESIDENTS_PER_COMMUNITY)}


def per_second_at_peak(per_day):
    return per_day * PEAK_HOUR_SHARE / 3600 * BURST


def load(communities):
    commands = per_second_at_peak(COMMUNITY_DAY["commands"]) * communities
    reads = per_second_at_peak(COMMUNITY_DAY["reads"]) * communities
    events = commands * COMMUNITY_DAY["event_deliveries_per_command"]
    # a burst in a tenth of the communities at once (a district-wide notice, year-end)
    bursting = max(1, communities // 10)
    burst = sum(BURSTS.values()) * bursting / (BURST_MINUTES * 60)
    # published: one fact per command, one per burst item (deliveries fan them out to consumers)
    return {"commands": commands, "reads": reads, "events": events + burst, "burst": burst,
            "published": commands + burst}


def servers(rates):
    m, u = MEASURED, UTILISATION

    def count(rate, capacity):
        return math.ceil(rate / (capacity * u))

    writes = rates["commands"] + rates["events"]               # one transaction each
    messages = rates["commands"] * 2 + rates["reads"] * 2 + rates["events"]  # RPC = call + reply
    shards = max(1, math.ceil(writes / (m["write_transactions_per_shard"] * u)))
    return {
        "command instances": count(rates["commands"], m["commands_per_instance"]),
        "read instances": count(rates["reads"], m["reads_per_instance"]),
        "consumer instances": count(rates["events"], m["events_per_consumer_instance"]),
        "relay load": rates["published"] / m["events_per_relay"],
        "pods": max(SERVICES * MIN_INSTANCES,
                    count(rates["commands"], m["commands_per_instance"])
                    + count(rates["reads"], m["reads_per_instance"])
                    + count(rates["events"], m["events_per_consumer_instance"])),
        "broker nodes": 3 * max(1, math.ceil(messages / (m["messages_per_broker_node"] * u))),
        "messages": messages,
        "writes": writes,
        "database shards": shards,
        "database members": 3 * shards,
    }


def table():
    rows = ["| | " + " | ".join(SCALES) + " |", "|---|" + "---|" * len(SCALES)]
    results = {name: (load(n), servers(load(n))) for name, n in SCALES.items()}

    def row(label, value):
        rows.append(f"| {label} | " + " | ".join(value(*results[name]) for name in SCALES) + " |")

    row("communities", lambda r, s: f"{next(n for k, n in SCALES.items() if results[k][0] is r):,}")
    row("commands /s at peak", lambda r, s: f"{r['commands']:,.1f}")
    row("reads (queries) /s at peak", lambda r, s: f"{r['reads']:,.1f}")
    row("event deliveries /s at peak (of which bursts)",
        lambda r, s: f"{r['events']:,.0f} ({r['burst']:,.0f})")
    row("broker messages /s (RPC call + reply, events)", lambda r, s: f"{s['messages']:,.0f}")
    row("database write transactions /s", lambda r, s: f"{s['writes']:,.0f}")
    row("instances busy with commands / queries / events", lambda r, s:
        f"{s['command instances']} / {s['read instances']} / {s['consumer instances']}")
    row(f"service pods ({SERVICES} services, at least {MIN_INSTANCES} each)", lambda r, s: f"{s['pods']}")
    row("one relay's share of its measured rate", lambda r, s: f"{s['relay load']:.0%}")
    row("RabbitMQ nodes (quorum: 3 per cluster)", lambda r, s: f"{s['broker nodes']}")
    row("MongoDB shards × 3 members", lambda r, s: f"{s['database shards']} × 3 = {s['database members']}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
