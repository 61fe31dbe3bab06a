"""The fault suite: bursts of real commands through real services while things break.

    python -m tests.faults.suite [--commands 1000]      (`make faults`; `make test` runs a short one)

On a private RabbitMQ node and a private database server (started and stopped here), two
`nameko run` instances each of the registry (the producer) and notifications (a consumer of
`registry.resident_registered`) serve a burst of `register_resident` commands, sent by eight
callers that retry each command with its request id until it is answered (what the gateway's
`Idempotency-Key` gives a client). A third of the way into each burst one fault strikes:

    producer kill -9     both registry instances, restarted by the supervisor (this suite)
    consumer kill -9     both notifications instances, restarted likewise
    one of two killed    one instance of each, left down for the rest of the burst
    broker stop/start    `rabbitmqctl stop_app`, an outage, `start_app`
    database kill -9     the server, restarted on the same files
    broker pause         SIGSTOP of the broker for an outage, then SIGCONT (a network freeze)

Then it counts, from the databases: sent, acknowledged, persisted (the resident is in the
registry), delivered downstream (notifications learned of them), lost (acknowledged but not
persisted, or persisted but never delivered), applied twice (a command carried out again: a
refusal of its own effect, a second resident, a second welcome), the seconds from the end of the
fault until everything that waited has arrived downstream and new commands go through end to end,
and the manual restarts needed (a process that died by itself, or lives without consuming).
"""

import eventlet

eventlet.monkey_patch()  # noqa: E402

import argparse  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from shared.errors import CommandRefused  # noqa: E402
from tests.faults.infra import ROOT, PrivateBroker, PrivateDatabase, ServiceProcess, wait_for  # noqa: E402

ADMIN = {"id": "fault-suite", "role": "community_admin"}
RPC_QUEUE = "rpc-registry"
EVENT_QUEUE = "evt-registry-resident_registered--notifications.on_resident_registered"
DLQ = "notifications.dlq"
CALLERS = 8
CALL_TIMEOUT = 15  # > the services' database timeout (10 s): a call waits out a db restart
RETRYABLE_CODES = {"unavailable", "in_progress", "busy"}


# --- the platform under test ---------------------------------------------------------------

class Platform:
    def __init__(self, base, outage, fixed_ports=True, event_retry_ms=None, transaction_lifetime=60.0):
        self.base = base
        self.outage = outage
        self.event_retry_ms = event_retry_ms
        self.broker = PrivateBroker(os.path.join(base, "rabbit"), fixed_ports)
        self.database = PrivateDatabase(os.path.join(base, "db"), transaction_lifetime)
        self.processes = []
        self.manual_restarts = 0
        self.dead_lettered = 0  # the DLQ depth after the previous fault

    def start(self):
        self.broker.start()
        self.database.start()
        env = {**os.environ, "AMQP_URI": self.broker.uri, "MONGO_URI": self.database.uri,
               "MONGO_DB_PREFIX": "faults_", "LOG_LEVEL": "WARNING",
               "PYTHONWARNINGS": "ignore"}
        logs = os.path.join(self.base, "logs")
        os.makedirs(logs, exist_ok=True)
        config = ROOT / "deploy" / "nameko.yaml"
        if self.event_retry_ms:  # the short run: the same config with a quicker retry schedule
            config = Path(self.base) / "nameko.yaml"
            config.write_text(re.sub(r"schedule_ms: \[[^\]]*\]", f"schedule_ms: {list(self.event_retry_ms)}",
                                     (ROOT / "deploy" / "nameko.yaml").read_text()))
        self.processes = [ServiceProcess(service, n, env, logs, config)
                          for service in ("registry", "notifications") for n in (1, 2)]
        for process in self.processes:
            process.start()
        self.wait_ready()
        self.db = MongoClient(self.database.uri, tz_aware=True, serverSelectionTimeoutMS=3000)

    def instances(self, service):
        return [p for p in self.processes if p.service == service]

    def consumers(self, queue):
        try:
            with Connection(self.broker.uri, connect_timeout=2) as conn:
                return conn.default_channel.queue_declare(queue, passive=True).consumer_count
        except Exception:  # noqa: BLE001 -- not declared yet, or the broker is away
            return 0

    def wait_ready(self, timeout=90):
        expected = {RPC_QUEUE: len([p for p in self.instances("registry") if p.alive()]),
                    EVENT_QUEUE: len([p for p in self.instances("notifications") if p.alive()])}
        wait_for(lambda: all(self.consumers(q) >= n for q, n in expected.items()), timeout,
                 f"service instances to consume ({expected})")

    def check_unattended(self, grace=60):
        """Count what needs a hand: a process that died by itself, or one that lives but has not
        consumed again within `grace` seconds. Restart those (and what a fault left down)."""
        for process in self.processes:
            if not process.alive() and not process.killed_by_us:
                print(f"  !! {process.name} exited by itself (code {process.process.returncode})")
                self.manual_restarts += 1
                process.start()
        try:
            self.wait_ready(grace)
        except RuntimeError:
            for queue, service in ((RPC_QUEUE, "registry"), (EVENT_QUEUE, "notifications")):
                live = [p for p in self.instances(service) if p.alive()]
                if self.consumers(queue) < len(live):
                    print(f"  !! {queue}: fewer consumers than live {service} instances")
                    self.manual_restarts += 1
                    for process in live:
                        process.stop()
                        process.start()
        for process in self.processes:  # the supervisor brings back what a fault left down
            if not process.alive():
                process.start()
        self.wait_ready()

    def stop(self):
        for process in self.processes:
            process.stop()
        self.database.stop()
        self.broker.stop()


# --- the faults ------------------------------------------------------------------------------

def restart_after_kill(processes, delay=0.5):
    for process in processes:
        process.kill()
    time.sleep(delay)  # the supervisor notices and restarts (systemd / Kubernetes would)
    for process in processes:
        process.start()


def fault_producer_kill(platform):
    restart_after_kill(platform.instances("registry"))


def fault_consumer_kill(platform):
    restart_after_kill(platform.instances("notifications"))


def fault_one_instance_killed(platform):
    for service in ("registry", "notifications"):
        platform.instances(service)[1].kill()  # left down until the burst is over


def fault_broker_restart(platform):
    platform.broker.stop_app()
    time.sleep(platform.outage)
    platform.broker.start_app()


def fault_database_kill(platform):
    platform.database.kill()
    time.sleep(1.0)
    platform.database.start()


def fault_broker_pause(platform):
    platform.broker.pause()
    time.sleep(platform.outage)
    platform.broker.resume()


FAULTS = [
    ("producer kill -9", fault_producer_kill),
    ("consumer kill -9", fault_consumer_kill),
    ("one of two killed", fault_one_instance_killed),
    ("broker stop/start", fault_broker_restart),
    ("database kill -9", fault_database_kill),
    ("broker pause", fault_broker_pause),
]


# --- the burst -------------------------------------------------------------------------------

@dataclass
class Command:
    index: int
    request_id: str
    payload: dict
    first_sent: float = None
    acked_at: float = None
    resident_id: str = None
    outcome: str = "unanswered"
    delivered_at: float = None


@dataclass
class Result:
    fault: str
    sent: int = 0
    acknowledged: int = 0
    persisted: int = 0
    delivered: int = 0
    lost: int = 0
    twice: int = 0
    unanswered: int = 0
    dead_lettered: int = 0  # parked in notifications.dlq (replayable, so not lost; still a failure)
    recover_seconds: float = None
    manual_restarts: int = 0
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        return not (self.lost or self.twice or self.manual_restarts or self.unanswered
                    or self.dead_lettered)


_serial = itertools.count(1)


def id_number(serial):
    born = date(1985, 1, 1) + timedelta(days=serial // 400)  # adults, not elderly (no home visits)
    base = f"110102{born:%Y%m%d}{serial % 400 * 2 + 1:03d}"
    return base + ric.calc_check_digit(base + "0")


def make_commands(tag, household_ids, count):
    commands = []
    for index in range(count):
        serial = next(_serial)
        commands.append(Command(index, f"{tag}-{index}", {
            "name": f"测试{serial}", "id_number": id_number(serial),
            "household_id": household_ids[index % len(household_ids)], "residence_type": "registered"}))
    return commands


class Caller:
    """One client greenthread: its own RPC connection, renewed whenever it breaks."""

    def __init__(self, uri):
        self.config = {"AMQP_URI": uri}
        self.proxy = None
        self.cluster = None

    def call(self, method, payload, request_id):
        if self.cluster is None:
            self.proxy = ClusterRpcProxy(self.config, context_data={"actor": ADMIN}, timeout=CALL_TIMEOUT)
            self.cluster = self.proxy.start()
        self.proxy._worker_ctx.data["request_id"] = request_id
        try:
            return getattr(self.cluster.registry, method)(payload)
        except CommandRefused:
            raise
        except Exception:
            self.close()
            raise

    def close(self):
        if self.proxy is not None:
            try:
                self.proxy.stop()
            except Exception:  # noqa: BLE001 -- a broken connection: nothing to save
                pass
        self.proxy = self.cluster = None


def send_all(uri, commands, deadline):
    """Send every command, each retried with its request id until answered or `deadline`."""
    pending = list(commands)

    def worker():
        caller = Caller(uri)
        while pending:
            command = pending.pop(0)
            command.first_sent = time.monotonic()
            while time.monotonic() < deadline:
                try:
                    result = caller.call("register_resident", command.payload, command.request_id)
                except CommandRefused as exc:
                    if exc.code in RETRYABLE_CODES:
                        eventlet.sleep(0.2)
                        continue
                    command.outcome = f"refused: {exc.code} {exc}"
                    break
                except Exception:  # noqa: BLE001 -- broker away, timeout: send it again
                    eventlet.sleep(0.3 + random.random() * 0.3)
                    continue
                command.outcome, command.acked_at = "ok", time.monotonic()
                command.resident_id = result["resident_id"]
                break
        caller.close()

    threads = [eventlet.spawn(worker) for _ in range(CALLERS)]
    return threads


def watch_deliveries(platform, commands, stop):
    """Note when each acknowledged command's resident reaches notifications."""
    people = platform.db["faults_notifications"]["people"]
    while not stop.ready():
        waiting = {c.resident_id: c for c in commands if c.resident_id and c.delivered_at is None}
        if waiting:
            try:
                now = time.monotonic()
                for doc in people.find({"_id": {"$in": list(waiting)}}, {"_id": 1}):
                    waiting[doc["_id"]].delivered_at = now
            except Exception:  # noqa: BLE001 -- the database is the fault right now
                pass
        eventlet.sleep(0.1)


def dead_lettered(platform):
    """Messages in the consumer's dead-letter queue (0 if it does not exist yet)."""
    with Connection(platform.broker.uri, connect_timeout=5) as conn:
        try:
            return conn.default_channel.queue_declare(DLQ, passive=True).message_count
        except Exception:  # noqa: BLE001 -- not declared yet: nothing dead-lettered
            return 0


def run_fault(platform, name, inject, household_ids, count, settle):
    commands = make_commands(f"{name.split()[0]}-{int(time.time())}", household_ids, count)
    result = Result(name, sent=count)
    deadline = time.monotonic() + settle + 60
    stop = eventlet.event.Event()
    watcher = eventlet.spawn(watch_deliveries, platform, commands, stop)
    threads = send_all(platform.broker.uri, commands, deadline)

    wait_for(lambda: sum(c.acked_at is not None for c in commands) >= count // 3, 600, "a third acked")
    fault_started = time.monotonic()
    inject(platform)
    fault_ended = time.monotonic()
    for thread in threads:
        thread.wait()
    platform.check_unattended()
    result.manual_restarts = platform.manual_restarts
    platform.manual_restarts = 0

    acked = [c for c in commands if c.outcome == "ok"]
    try:
        wait_for(lambda: all(c.delivered_at is not None for c in acked), settle, "deliveries")
    except RuntimeError as exc:
        result.notes.append(str(exc))
    stop.send(None)
    watcher.wait()
    parked = dead_lettered(platform)
    result.dead_lettered, platform.dead_lettered = parked - platform.dead_lettered, parked

    registry = platform.db["faults_registry"]
    notifications = platform.db["faults_notifications"]
    numbers = [c.payload["id_number"] for c in commands]
    residents = list(registry.residents.find({"id_number": {"$in": numbers}},
                                             {"id_number": 1, "resident_id": 1}))
    by_number = {}
    for doc in residents:
        by_number.setdefault(doc["id_number"], []).append(doc["resident_id"])
    resident_ids = [doc["resident_id"] for doc in residents]
    delivered = {d["_id"] for d in notifications.people.find({"_id": {"$in": resident_ids}}, {"_id": 1})}
    welcomes = {}
    for record in notifications.notifications.find(
            {"recipient": {"$in": resident_ids}, "event_type": "registry.resident_registered"},
            {"recipient": 1, "event_id": 1}):
        welcomes.setdefault(record["recipient"], set()).add(record["event_id"])

    result.acknowledged = len(acked)
    result.unanswered = sum(c.outcome == "unanswered" for c in commands)
    result.persisted = len(by_number)
    result.delivered = len(delivered)
    not_persisted = [c for c in acked if c.payload["id_number"] not in by_number]
    not_delivered = [r for r in resident_ids if r not in delivered]
    result.lost = len(not_persisted) + len(not_delivered)
    # a command refused for clashing with what it did itself was carried out twice; any other
    # refusal is a bug of the suite or the service, and counts as unanswered
    refused = [c for c in commands if c.outcome.startswith("refused: conflict")]
    result.unanswered += sum(c.outcome.startswith("refused") for c in commands) - len(refused)
    for c in [c for c in commands if c.outcome.startswith("refused") and c not in refused][:3]:
        result.notes.append(f"{c.request_id}: {c.outcome}")
    result.twice = (len(refused) + sum(len(ids) - 1 for ids in by_number.values())
                    + sum(len(events) - 1 for events in welcomes.values()))
    for c in refused[:3]:
        result.notes.append(f"{c.request_id}: {c.outcome}")

    before = [c for c in acked if c.first_sent < fault_ended]
    after = [c for c in acked if c.first_sent >= fault_ended and c.delivered_at]
    if all(c.delivered_at for c in before):
        caught_up = max((c.delivered_at for c in before), default=fault_ended)
        first_new = min((c.delivered_at for c in after), default=caught_up)
        result.recover_seconds = max(0.0, max(caught_up, first_new) - fault_ended)
    result.notes.append(f"fault lasted {fault_ended - fault_started:.1f} s")
    return result


# --- the run ---------------------------------------------------------------------------------

def setup_community(platform, households=20):
    caller = Caller(platform.broker.uri)
    try:
        caller.call("define_grid", {"code": "G9", "name": "故障网格", "buildings": ["B90"]}, "setup-grid")
        return [caller.call("register_household", {"building": "B90", "room": str(100 + n), "kind": "owner"},
                            f"setup-household-{n}")["household_id"] for n in range(households)]
    finally:
        caller.close()


def measure_takeover(platform):
    """Kill -9 the registry instance holding the relay lease; seconds until the other holds it."""
    locks = platform.db["faults_registry"]["locks"]
    for victim in platform.instances("registry"):  # which one holds it shows when it dies
        wait_for(lambda: locks.find_one({"_id": "outbox_relay"}), 30, "a relay lease")
        holder = locks.find_one({"_id": "outbox_relay"})["owner"]
        victim.kill()
        killed = time.monotonic()
        owner = holder
        while owner == holder and time.monotonic() - killed < 6:
            owner = (locks.find_one({"_id": "outbox_relay"}) or {}).get("owner", holder)
            time.sleep(0.02)
        took = time.monotonic() - killed
        victim.start()
        platform.wait_ready()
        if owner != holder:
            return took
    return None


def print_table(results):
    columns = ("fault", "sent", "acked", "persisted", "delivered", "lost", "twice", "unanswered",
               "dead-lettered", "recover s", "manual restarts")
    rows = [(r.fault, r.sent, r.acknowledged, r.persisted, r.delivered, r.lost, r.twice,
             r.unanswered, r.dead_lettered, "-" if r.recover_seconds is None else f"{r.recover_seconds:.1f}",
             r.manual_restarts) for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows, strict=False)]
    line = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    print(line.format(*columns))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))


def run(commands=1000, outage=10.0, settle=90.0, faults=None, keep=False, fixed_ports=True,
        takeover=True, event_retry_ms=None, transaction_lifetime=60.0):
    base = tempfile.mkdtemp(prefix="sunshine-faults-")
    os.chmod(base, 0o755)  # the broker runs as its own user
    platform = Platform(base, outage, fixed_ports, event_retry_ms, transaction_lifetime)
    results = []
    started = time.monotonic()
    try:
        platform.start()
        print(f"[faults] private broker {platform.broker.uri}, database {platform.database.uri}, "
              f"2 x registry + 2 x notifications ({time.monotonic() - started:.0f} s to start)")
        household_ids = setup_community(platform)
        for name, inject in FAULTS:
            if faults and name not in faults:
                continue
            result = run_fault(platform, name, inject, household_ids, commands, settle)
            results.append(result)
            print(f"[faults] {name}: {'ok' if result.ok else 'FAILED'}; " + "; ".join(result.notes))
        takeover = measure_takeover(platform) if takeover else None
    finally:
        platform.stop()
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"[faults] logs kept in {base}")
    print_table(results)
    print(f"relay takeover after a kill -9 of its holder: "
          f"{'n/a' if takeover is None else f'{takeover:.2f} s'}; "
          f"total {time.monotonic() - started:.0f} s")
    return results, takeover


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000, help="commands per fault")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the broker stays away")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data")
    parser.add_argument("--only", action="append", help="run only this fault (repeatable)")
    args = parser.parse_args(argv)
    results, _ = run(args.commands, args.outage, faults=args.only, keep=args.keep)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
