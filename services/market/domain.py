"""The night market's rules (阳光夜市), with no I/O: who may do what, the rule book and its vote,
points and escalation, the stall lottery, fees, licences, masking.

Everything here takes plain values and returns plain values (or raises a `CommandRefused`), so the
unit tests exercise it without a broker or a database.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from shared.access import (
    ALL,
    ANYONE,
    COMMUNITY_ADMIN,
    GRID_WORKER,
    INSPECTOR,
    MARKET_OFFICER,
    OWN,
    OWN_GRID,
    POLICE_DESK,
    STREET_OFFICE,
    SYSTEM,
    VENDOR,
    Policy,
)
from shared.errors import Conflict, Forbidden, invalid
from shared.events.market import FEE_ITEMS, STALL_KINDS, VIOLATION_TYPES
from shared.personal import mask_id_number, mask_phone

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# --- who may do what ------------------------------------------------------------------------
# A vendor's actor id is their vendor id: OWN means their own records. A grid worker sees what
# happens in the grid containing the market (OWN_GRID over the stall zone's grid). The office
# (market_officer) runs the market; inspectors walk the rounds; the community office, street
# office and police desk read. Roles a row does not name are refused by the kit.

READERS = {MARKET_OFFICER: ALL, INSPECTOR: ALL, COMMUNITY_ADMIN: ALL, SYSTEM: ALL}
POLICY = Policy(
    {
        "register_vendor": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "renew_licence": {MARKET_OFFICER: ALL, VENDOR: OWN, SYSTEM: ALL},
        "lay_out_stalls": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "apply_for_stall": {MARKET_OFFICER: ALL, VENDOR: OWN, SYSTEM: ALL},
        "allocate_stall": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "release_stall": {MARKET_OFFICER: ALL, VENDOR: OWN, SYSTEM: ALL},
        "transfer_stall": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "propose_rules": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "vote_on_rules": {VENDOR: OWN, SYSTEM: ALL},
        "publish_rules": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "get_rules": {**READERS, VENDOR: ALL, GRID_WORKER: ALL, POLICE_DESK: ALL},
        "open_night": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "check_in": {MARKET_OFFICER: ALL, VENDOR: OWN, SYSTEM: ALL},
        "record_footfall": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "report_takings": {VENDOR: OWN, MARKET_OFFICER: ALL, SYSTEM: ALL},
        "close_night": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "start_inspection": {INSPECTOR: ALL, MARKET_OFFICER: ALL, SYSTEM: ALL},
        "record_violation": {INSPECTOR: ALL, SYSTEM: ALL},
        "appeal_violation": {VENDOR: OWN, SYSTEM: ALL},
        "decide_appeal": {MARKET_OFFICER: ALL, SYSTEM: ALL},
        "vendor_record": {**READERS, VENDOR: OWN},
        "list_vendors": {MARKET_OFFICER: ALL, INSPECTOR: ALL, COMMUNITY_ADMIN: ALL, SYSTEM: ALL},
        "list_violations": {**READERS, VENDOR: OWN, GRID_WORKER: OWN_GRID, POLICE_DESK: ALL},
        "list_stalls": {**READERS, VENDOR: ALL, GRID_WORKER: ALL},
        "market_stats": {MARKET_OFFICER: ALL, COMMUNITY_ADMIN: ALL, STREET_OFFICE: ALL, SYSTEM: ALL},
        "health": ANYONE,
    }
)

# Which roles see a vendor's phone / ID number in clear (a vendor always sees their own).
CLEAR_PHONE = frozenset({MARKET_OFFICER, SYSTEM})
CLEAR_ID_NUMBER = frozenset()


def vendor_view(doc, role, own=False):
    """A vendor as `role` may see it: phone and ID number masked unless the role needs them."""
    phone, number = doc.get("phone"), doc.get("id_number")
    return {
        "vendor_id": doc["_id"],
        "name": doc["name"],
        "resident_id": doc.get("resident_id"),
        "phone": phone if own or role in CLEAR_PHONE else mask_phone(phone),
        "id_number": number if own or role in CLEAR_ID_NUMBER else mask_id_number(number),
        "goods_category": doc["goods_category"],
        "status": doc["status"],
        "points": doc["points"],
        "business_licence": _licence(doc["business_licence"]),
        "food_hygiene_certificate": _licence(doc.get("food_hygiene_certificate")),
        "suspended_until": iso(doc.get("suspended_until")),
        "stall_id": doc.get("stall_id"),
        "arrears_fen": doc.get("arrears_fen", 0),
        "registered_at": doc["registered_at"].isoformat(),
    }


def _licence(licence):
    if not licence:
        return None
    return {"number": licence["number"], "expires_on": iso(licence["expires_on"])}


def iso(value):
    return value.isoformat()[:10] if value else None


def local_date(moment):
    return moment.astimezone(LOCAL_TZ).date()


# --- vendors --------------------------------------------------------------------------------

APPLICANT, ACTIVE, SUSPENDED, REVOKED = "applicant", "active", "suspended", "revoked"
FOOD_CATEGORIES = ("food_fire", "food_no_fire")


def check_licences(goods_category, business_licence, hygiene, today):
    """A vendor trades with a valid business licence; food vendors also with a hygiene certificate."""
    if business_licence["expires_on"] <= today:
        raise invalid("business_licence.expires_on", "already expired")
    if goods_category in FOOD_CATEGORIES:
        if not hygiene:
            raise invalid("food_hygiene_certificate", "food vendors need a food-hygiene certificate")
        if hygiene["expires_on"] <= today:
            raise invalid("food_hygiene_certificate.expires_on", "already expired")


def licences_valid(vendor, today):
    if vendor["business_licence"]["expires_on"] <= today:
        return False
    hygiene = vendor.get("food_hygiene_certificate")
    return vendor["goods_category"] not in FOOD_CATEGORIES or bool(
        hygiene and hygiene["expires_on"] > today
    )


def expiring_documents(vendor, today, warn_days):
    """(document, expires_on, days_left) for each licence expiring within `warn_days`."""
    found = []
    for document in ("business_licence", "food_hygiene_certificate"):
        licence = vendor.get(document)
        if licence:
            days_left = (licence["expires_on"] - today).days
            if days_left <= warn_days:
                found.append((document, licence["expires_on"], days_left))
    return found


def check_may_trade(vendor, night_date):
    if vendor["status"] == SUSPENDED:
        raise Conflict(
            "the vendor is suspended",
            {"vendor_id": [f"suspended until {iso(vendor['suspended_until'])}"]},
        )
    if vendor["status"] != ACTIVE:
        raise Conflict(
            f"the vendor is {vendor['status']}", {"vendor_id": [f"status {vendor['status']}"]}
        )


# --- the rule book --------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Points at which a vendor is warned, suspended for `suspension_nights`, revoked."""

    warning: int
    suspension: int
    suspension_nights: int
    revocation: int


def check_rule_book(types, thresholds):
    unknown = sorted(set(types) - set(VIOLATION_TYPES))
    if unknown:
        raise invalid("violation_types", f"unknown types {unknown}")
    if not thresholds.warning < thresholds.suspension < thresholds.revocation:
        raise invalid("thresholds", "warning < suspension < revocation")


def rule_book_in_force(books, day):
    """The adopted book with the latest `effective_on` not after `day` (None before any)."""
    in_force = [b for b in books if b["status"] == "adopted" and b["effective_on"] <= day]
    return max(in_force, key=lambda b: (b["effective_on"], b["version"]), default=None)


def tally(electorate, votes, quorum, majority):
    """The vote on a proposed rule book: one vote per vendor of the electorate.

    `quorum`: the share of the electorate that must vote; `majority`: the share of the votes cast
    that must be in favour (strictly more than it). Returns (adopted, for, against, reason)."""
    cast = {v: ballot for v, ballot in votes.items() if v in electorate}
    votes_for = sum(1 for b in cast.values() if b == "for")
    votes_against = sum(1 for b in cast.values() if b == "against")
    if not electorate:
        return False, votes_for, votes_against, "no electorate"
    if len(cast) < quorum * len(electorate):
        return False, votes_for, votes_against, f"no quorum: {len(cast)} of {len(electorate)} voted"
    if votes_for <= majority * len(cast):
        return False, votes_for, votes_against, f"no majority: {votes_for} of {len(cast)} in favour"
    return True, votes_for, votes_against, "adopted"


# --- violations and escalation --------------------------------------------------------------

# What an inspector checks at a stall of each kind (the checklist of a round).
COMMON_CHECKS = (
    "beyond_stall_line",
    "noise_after_hours",
    "prohibited_goods",
    "short_weight_or_price_fraud",
    "trading_outside_hours",
    "no_valid_licence",
    "unsorted_waste",
    "blocked_fire_lane",
    "fighting",
)
CHECKLISTS = {
    "food_fire": (*COMMON_CHECKS, "hygiene", "open_flame_without_permit"),
    "food_no_fire": (*COMMON_CHECKS, "hygiene"),
    "goods": COMMON_CHECKS,
    "services": COMMON_CHECKS,
}
assert set(CHECKLISTS) == set(STALL_KINDS)


def check_on_checklist(kind, violation_type):
    if violation_type not in CHECKLISTS[kind]:
        raise invalid("violation_type", f"not on the checklist of a {kind} stall")


def escalation(points_before, points_after, thresholds):
    """What crossing from `points_before` to `points_after` means: the highest threshold crossed."""
    for name, level in (
        ("revocation", thresholds.revocation),
        ("suspension", thresholds.suspension),
        ("warning", thresholds.warning),
    ):
        if points_before < level <= points_after:
            return name
    return "none"


def suspension_end(night_date, nights):
    """The first night a vendor suspended on `night_date` for `nights` nights may trade again."""
    return night_date + timedelta(days=nights + 1)


def after_reversal(vendor, points_after, thresholds):
    """A vendor whose reversed points fall below the threshold that stopped them is reinstated."""
    if vendor["status"] == SUSPENDED and points_after < thresholds.suspension:
        return True
    return vendor["status"] == REVOKED and points_after < thresholds.revocation


def check_appeal(violation, vendor_id, appeal_days, today):
    if violation["vendor_id"] != vendor_id:
        raise Forbidden("only the vendor may appeal", {"violation_id": ["not yours"]})
    if violation.get("appeal"):
        raise Conflict("already appealed", {"violation_id": [f"appeal {violation['appeal']['status']}"]})
    if (today - violation["night_date"]).days > appeal_days:
        raise Conflict("too late to appeal", {"violation_id": [f"appeals within {appeal_days} days"]})


def check_decision(violation):
    appeal = violation.get("appeal")
    if not appeal:
        raise Conflict("no appeal to decide", {"violation_id": ["not appealed"]})
    if appeal["status"] != "pending":
        raise Conflict("appeal already decided", {"violation_id": [f"appeal {appeal['status']}"]})


# --- stalls and the lottery -----------------------------------------------------------------

VACANT, ALLOCATED = "vacant", "allocated"


def stall_id(zone, number):
    return f"S-{zone}{number:03d}"


def application_refusals(vendor, kind, today, arrears_fen, has_stall):
    """Why `vendor` may not apply for (or be drawn for) a stall of `kind`: [] when eligible."""
    reasons = []
    if vendor["status"] != ACTIVE:
        reasons.append(f"vendor is {vendor['status']}")
    if not licences_valid(vendor, today):
        reasons.append("licence expired")
    if kind in FOOD_CATEGORIES and vendor["goods_category"] not in FOOD_CATEGORIES:
        reasons.append(f"sells {vendor['goods_category']}, not food")
    if arrears_fen > 0:
        reasons.append(f"arrears of {arrears_fen} fen")
    if has_stall:
        reasons.append("already holds a stall")
    if vendor.get("resident_status") in ("moved_out", "died"):
        reasons.append("no longer a resident")
    return reasons


def lottery(seed, stall_ids, applicants):
    """Draw vacant stalls among eligible applicants: seeded, so anyone can rerun and check it.

    `applicants`: [(application_id, vendor_id)], eligible ones only. Both lists are sorted before
    the draw, so the same seed and the same inputs give the same result whatever order they came
    in; one stall per vendor and one vendor per stall. Returns (assignments, waiting):
    assignments [(stall_id, application_id, vendor_id)], waiting [application_id] in draw order."""
    rng = random.Random(f"market-lottery:{seed}")
    order = sorted(set(applicants))
    seen, unique = set(), []
    for application_id, vendor_id in order:  # a vendor with two applications is drawn once
        if vendor_id not in seen:
            seen.add(vendor_id)
            unique.append((application_id, vendor_id))
    rng.shuffle(unique)
    stalls = sorted(set(stall_ids))
    assignments = [(s, a, v) for s, (a, v) in zip(stalls, unique, strict=False)]
    waiting = [a for a, _ in unique[len(stalls) :]]
    return assignments, waiting


def check_renewal(vendor, stall, arrears_fen, thresholds, today):
    if stall.get("vendor_id") != vendor["_id"]:
        raise Conflict("only the stall's holder renews it", {"stall_id": ["held by someone else"]})
    if arrears_fen > 0:
        raise Conflict("arrears block renewal", {"vendor_id": [f"arrears of {arrears_fen} fen"]})
    if vendor["status"] != ACTIVE:
        raise Conflict(
            f"the vendor is {vendor['status']}", {"vendor_id": [f"status {vendor['status']}"]}
        )
    if vendor["points"] >= thresholds.warning:
        raise Conflict(
            "compliance history blocks renewal",
            {"vendor_id": [f"{vendor['points']} points (warning at {thresholds.warning})"]},
        )
    if vendor.get("resident_status") in ("moved_out", "died"):
        raise Conflict("no longer a resident", {"vendor_id": ["moved out of the community"]})
    if not licences_valid(vendor, today):
        raise Conflict("licence expired", {"vendor_id": ["renew the licence first"]})


# Transfers (转让): the rule book forbids private subletting and transfer (私自转租、转让). A stall
# passes on only through the office, to the holder's close family, when the holder cannot go on
# (illness, old age, death, moving away); the receiver must be eligible as any applicant is; the
# term carries over (a transfer is not a new term, so renewal still weighs the receiver's own
# record); and once per term, so that a stall cannot be passed along a chain of relatives. The
# relations and reasons accepted are the catalogue's (shared/events/market.py TRANSFER_*).


def transfer_refusals(stall, holder, receiver, arrears, receiver_has_stall, today):
    """Why `stall` may not pass from `holder` to `receiver`, by field: {} when it may.

    `arrears`: {vendor_id: fen}. A suspended or revoked holder's stall does not pass on either:
    a transfer is not a way round a penalty."""
    refusals = {}
    if stall["status"] != ALLOCATED or stall.get("vendor_id") != holder["_id"]:
        refusals["stall_id"] = ["not held by the vendor transferring it"]
    elif stall.get("transferred_in_term"):
        refusals["stall_id"] = ["already transferred once this term"]
    holder_reasons = []
    if holder["status"] != ACTIVE:
        holder_reasons.append(f"vendor is {holder['status']}")
    if arrears.get(holder["_id"], 0) > 0:
        holder_reasons.append(f"arrears of {arrears[holder['_id']]} fen: settle them first")
    if holder_reasons:
        refusals["from_vendor_id"] = holder_reasons
    if receiver["_id"] == holder["_id"]:
        refusals["to_vendor_id"] = ["the holder themselves"]
    else:
        receiver_reasons = application_refusals(
            receiver, stall["kind"], today, arrears.get(receiver["_id"], 0), receiver_has_stall
        )
        if receiver_reasons:
            refusals["to_vendor_id"] = receiver_reasons
    return refusals


# --- fees -----------------------------------------------------------------------------------


def month_of(day):
    return f"{day.year:04d}-{day.month:02d}"


def fee_id(period, stall):
    return f"FEE-{period.replace('-', '')}-{stall[2:]}"


def fee_items(kind, schedule):
    """The month's fee items for a stall of `kind`, from the config's schedule (fen)."""
    items = {
        item: int(schedule[kind][item]) for item in FEE_ITEMS if int(schedule[kind].get(item, 0)) > 0
    }
    return items, sum(items.values())


def fee_due_on(period, due_day):
    year, month = (int(x) for x in period.split("-"))
    return date(year, month, due_day)


# --- nights ---------------------------------------------------------------------------------


def night_id(day):
    return f"N-{day:%Y%m%d}"


def night_summary(night, allocated, present, footfall, takings, violations):
    """What `night_closed` says: attendance, footfall, takings (fen), violations by type."""
    by_type = {}
    for violation_type in violations:
        by_type[violation_type] = by_type.get(violation_type, 0) + 1
    return {
        "night_id": night["_id"],
        "date": night["date"],
        "stalls_allocated": allocated,
        "present": present,
        "absent": max(0, allocated - present),
        "footfall": footfall,
        "takings_fen": sum(takings),
        "takings_reported": len(takings),
        "violations_by_type": dict(sorted(by_type.items())),
    }


def check_night_open(night):
    if night["status"] != "open":
        raise Conflict(
            "the night is closed", {"night_id": [f"night {night['_id']} is {night['status']}"]}
        )


# --- settings (the MARKET section of deploy/nameko.yaml) ------------------------------------

DEFAULT_FEES_FEN = {  # per stall and month
    "food_fire": {"management": 30000, "sanitation": 8000, "power": 6000},
    "food_no_fire": {"management": 25000, "sanitation": 6000, "power": 4000},
    "goods": {"management": 20000, "sanitation": 3000, "power": 2000},
    "services": {"management": 15000, "sanitation": 2000, "power": 2000},
}


@dataclass(frozen=True)
class Settings:
    zone_grids: dict  # zone -> grid code of the grid containing it
    default_grid: str
    adoption_quorum: float  # share of the electorate that must vote
    adoption_majority: float  # share of the votes cast that must be in favour (strictly more)
    appeal_days: int
    licence_warning_days: int
    fee_due_day: int
    fees_fen: dict

    @classmethod
    def from_config(cls, config):
        section = (config or {}).get("MARKET") or {}
        return cls(
            zone_grids=dict(section.get("zone_grids") or {}),
            default_grid=str(section.get("default_grid", "G7")),
            adoption_quorum=float(section.get("adoption_quorum", 0.5)),
            adoption_majority=float(section.get("adoption_majority", 0.5)),
            appeal_days=int(section.get("appeal_days", 15)),
            licence_warning_days=int(section.get("licence_warning_days", 30)),
            fee_due_day=int(section.get("fee_due_day", 15)),
            fees_fen={**DEFAULT_FEES_FEN, **(section.get("fees_fen") or {})},
        )

    def grid_of_zone(self, zone):
        return self.zone_grids.get(zone, self.default_grid)


def thresholds_of(book):
    return Thresholds(**book["thresholds"])
