"""What the console pages show, worked out without I/O: strings by language, who sees which page,
queue history and its sparkline, SLA risk, the incidents board, and a trace as a causation tree."""

import json
from collections import deque
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.access import (
    COMMUNITY_ADMIN,
    FINANCE_APPROVER,
    FINANCE_OFFICER,
    GRID_LIAISON,
    GRID_WORKER,
    MARKET_OFFICER,
    OPERATOR,
    PARTY_SECRETARY,
    POLICE_DESK,
    STREET_OFFICE,
)

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_STRINGS = {lang: json.loads((Path(__file__).parent / "strings" / f"{lang}.json").read_text("utf-8"))
            for lang in LANGUAGES}


def language_of(requested, cookie):
    for lang in (requested, cookie):
        if lang in LANGUAGES:
            return lang
    return DEFAULT_LANGUAGE


def translator(lang):
    strings = _STRINGS[lang]
    return lambda key: strings.get(key, key)


def labeller(lang):
    """`label("category", "noise")` → 噪音扰民: a code a person reads, by its name in their language
    (the code itself when the catalogue has no name for it)."""
    strings = _STRINGS[lang]
    return lambda field, code: strings.get(f"{field}.{code}", code)


# ---------------------------------------------------------------- pages and roles

STAFF_BOARD = (GRID_WORKER, GRID_LIAISON, PARTY_SECRETARY, COMMUNITY_ADMIN, POLICE_DESK, STREET_OFFICE)
PAGES = {  # page → roles that may open it (the services behind it still scope what it shows)
    "queues": (OPERATOR,),
    "dlq": (OPERATOR,),
    "health": (OPERATOR,),
    "trace": (OPERATOR,),
    "sla": (OPERATOR, COMMUNITY_ADMIN),
    "incidents": STAFF_BOARD,
    "stats": STAFF_BOARD,
    # market_stats is the office's and the community admin's; an inspector reads stalls and
    # violations only, so the night view is theirs (market's domain.POLICY)
    "night": (MARKET_OFFICER, COMMUNITY_ADMIN),
    # the run is read by the books' readers; preview is the officer's (the maker), approval the
    # approver's (the checker), statements the two of theirs (finance's domain.POLICY)
    "dividends": (FINANCE_OFFICER, FINANCE_APPROVER, COMMUNITY_ADMIN),
}


def pages_for(role):
    return [page for page, roles in PAGES.items() if role in roles]


def home_page(role):
    pages = pages_for(role)
    return pages[0] if pages else None


# ---------------------------------------------------------------- queues over time


class QueueHistory:
    """Depth samples per queue over the last minutes (one process's memory: it starts empty)."""

    def __init__(self, keep=60):
        self.keep = keep
        self.samples = {}

    def add(self, at, rows):
        for row in rows:
            self.samples.setdefault(row["queue"], deque(maxlen=self.keep)).append((at, row["depth"]))

    def depths(self, queue):
        return [depth for _, depth in self.samples.get(queue, ())]


def sparkline_points(depths, width=120, height=24):
    """SVG polyline points for a depth series: oldest at the left, the scale from 0 to the max."""
    if not depths:
        return ""
    top = max(depths) or 1
    step = width / max(len(depths) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - depth / top * (height - 2) - 1:.1f}"
                    for i, depth in enumerate(depths))


# ---------------------------------------------------------------- periods, SLA and the board


def period(from_date, to_date, tz="+08:00"):
    """A stats period from the page's two dates (local days, both included), as grid_events takes it."""
    found = {}
    for key, value, time in (("reported_from", from_date, "00:00:00"), ("reported_to", to_date, "23:59:59")):
        if value:
            try:
                found[key] = datetime.fromisoformat(f"{value}T{time}{tz}").isoformat()
            except ValueError:
                continue  # a malformed date is ignored, as an empty one is
    return found


def deadline_of(incident):
    """The earlier of the incident's two running clocks (its state's, and the overall one)."""
    clocks = [incident.get(k) for k in ("state_deadline", "due_at") if incident.get(k)]
    return min(clocks) if clocks else None


def sla_risk(incidents, now, near=timedelta(minutes=30)):
    """Per grid: open incidents past a deadline, and those within `near` of one."""
    grids = {}
    for incident in incidents:
        deadline = deadline_of(incident)
        if deadline is None:
            continue
        grid = grids.setdefault(incident.get("grid_code"), {"breached": [], "at_risk": []})
        if now > deadline:
            grid["breached"].append({**incident, "deadline": deadline})
        elif deadline - now <= near:
            grid["at_risk"].append({**incident, "deadline": deadline})
    return dict(sorted(grids.items(), key=lambda kv: str(kv[0])))


def feeding_lag(queue_rows, service="grid_events"):
    """Messages waiting in the queues a service consumes (its RPC queue and event queues)."""
    feeds = [r for r in queue_rows if r["queue"] == f"rpc-{service}" or f"--{service}." in r["queue"]]
    return {"messages": sum(r["depth"] + r["unacked"] for r in feeds), "queues": len(feeds)}


BOARD_COLUMNS = ("new", "dispatched", "overdue", "escalated")


def board(incidents, now):
    """The board's four columns; an incident stands in the first that fits it."""
    columns = {c: [] for c in BOARD_COLUMNS}
    for incident in incidents:
        deadline = deadline_of(incident)
        if incident.get("escalation_level"):
            columns["escalated"].append(incident)
        elif deadline is not None and now > deadline:
            columns["overdue"].append(incident)
        elif incident["status"] in ("reported", "reopened"):
            columns["new"].append(incident)
        else:
            columns["dispatched"].append(incident)
    return columns


# ---------------------------------------------------------------- trace


def parse_time(value):
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def trace(events, log_lines):
    """One request's story in time order, each entry knowing what caused it.

    `events` are envelopes seen on the bus (event_id, type, source, causation_id, occurred_at);
    `log_lines` are JSON log records with the same correlation id (RPCs served, events handled).
    An event's cause is the event its handler was handling (causation_id); a handler line's cause
    is the event it handled."""
    entries = []
    known = {e["event_id"] for e in events}
    for e in events:
        entries.append({"at": parse_time(e["occurred_at"]), "kind": "event", "what": e["type"],
                        "service": e.get("source"), "id": e["event_id"],
                        "cause": e.get("causation_id") if e.get("causation_id") in known else None})
    for line in log_lines:
        msg = line.get("msg", "")
        if msg.startswith("rpc "):
            kind = "rpc"
        elif msg.startswith("handled by "):
            kind = "handled"
        elif line.get("logger") == "gateway.access":
            kind = "http"
        else:
            continue
        entries.append({"at": parse_time(line["ts"]), "kind": kind, "what": msg,
                        "service": line.get("service"), "id": None,
                        "cause": line.get("event_id") if kind == "handled" else None})
    entries.sort(key=lambda e: e["at"])
    depth = {}
    for entry in entries:
        entry["depth"] = depth.get(entry["cause"], -1) + 1 if entry["cause"] else 0
        if entry["id"]:
            depth[entry["id"]] = entry["depth"]
    return entries


def log_lines_for(correlation_id, paths, limit=500):
    """Lines of JSON log files that carry `correlation_id` (a plain scan: logs are local files)."""
    found = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for text in f:
                    if correlation_id in text:
                        try:
                            found.append(json.loads(text))
                        except ValueError:
                            continue
                        if len(found) >= limit:
                            return found
        except OSError:
            continue
    return found


# ---------------------------------------------------------------- night market and dividends

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_day(now):
    """The community's calendar day (a market night is named by its local date)."""
    return now.astimezone(LOCAL_TZ).date()


def day_or(value, default):
    """A `YYYY-MM-DD` from the page, or `default` when it is missing or malformed."""
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def year_or(value, default):
    """A year from the page (2000-2100), or `default`."""
    return int(value) if value and value.isdigit() and 2000 <= int(value) <= 2100 else default


def zones(stalls, present):
    """Stalls by zone for the night view: each stall `present` (checked in), `absent` (held but
    not checked in) or `vacant`, with each zone's counts."""
    present = set(present or ())
    found = {}
    for stall in sorted(stalls, key=lambda s: (s["zone"], s["number"])):
        zone = found.setdefault(stall["zone"], {"stalls": [], "allocated": 0, "present": 0})
        if stall["stall_id"] in present:
            state = "present"
        elif stall["status"] == "allocated":
            state = "absent"
        else:
            state = "vacant"
        zone["stalls"].append({**stall, "state": state})
        zone["allocated"] += state != "vacant"
        zone["present"] += state == "present"
    return found


def yuan(fen):
    """Fen as yuan for display: 123456 → "1,234.56"."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def fen_of(text):
    """Yuan as typed in a form ("1,000", "1000.5") → integer fen; ValueError when it is not an
    amount of at most two decimals, or negative."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(cleaned)
        if not amount.is_finite() or not 0 <= amount < 10**12 or amount != amount.quantize(Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    return int(amount * 100)


def progress(run):
    """A dividend run's payment progress, in percent of its lines paid."""
    total = run.get("shareholders") or 0
    done = run.get("lines_paid", run.get("paid", 0)) or 0
    return 100 if total == 0 else min(100, round(done * 100 / total))
