"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over grid_events: services are
incident categories, service requests are incidents. Every resource is served as `.json` and
`.xml`, with the spec's field names, its two statuses (open / closed) and its error format
(`[{"code", "description"}]`, `<errors><error>…`).

Mapping and choices (each also in README.md):
- `service_code` = category code; `service_name` = its label; `group` = who handles it; every
  service is `realtime` (an incident exists as soon as it is posted) with `metadata` true: its
  definition asks for the `building` (and optionally unit and room) the problem is at, since the
  community routes reports by building, not by coordinates. An `address_string` of the form
  `B3-2-301` (building-unit-room) is read as that address when no attribute is given.
- status: `closed` for resolved, closed, rejected and duplicate incidents, `open` otherwise;
  `status_notes` says why (the resolution, the rejection reason, the incident it duplicates).
- `api_key` (an Open311 key issued to a gateway account, `POST /v1/accounts/{u}/api-keys`) is
  required for every request about service requests, reads included: this community's reports
  are not public. The key acts as its account (its role and grid apply as for a token).
- `tokens/{token}`: a POST answers with the `service_request_id` at once (realtime) and also a
  `token`, which the tokens resource resolves for clients that track by token.
"""

import hashlib
import re
import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Response

from shared.errors import CommandRefused, Forbidden, InvalidInput, NotFound

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
CLOSED = ("resolved", "closed", "rejected", "duplicate")
DEFAULT_DAYS = 90   # GET requests without dates: the last 90 days (the spec's default)
MAX_RESULTS = 1000  # the spec's default maximum
ADDRESS = re.compile(r"^\s*(?P<building>[A-Za-z0-9]{1,20})(?:-(?P<unit>[A-Za-z0-9]{1,20}))?"
                     r"(?:-(?P<room>[A-Za-z0-9]{1,20}))?\s*$")
ATTRIBUTES = [("building", "Building (楼栋), e.g. B3", True, 1), ("unit", "Unit (单元)", False, 2),
              ("room", "Room (房号)", False, 3)]


# ---------------------------------------------------------------- rendering


def respond(fmt, payload, status=200, root=None, item=None):
    """`payload` as JSON, or as XML under `<root>` with one `<item>` per element of a list."""
    if fmt == "json":
        import json

        body = json.dumps(payload, ensure_ascii=False)
    else:
        body = xml_document(root, item, payload)
    return Response(body, status=status, content_type=FORMATS[fmt])


def xml_document(root, item, payload):
    element = ET.Element(root)
    for value in payload if isinstance(payload, list) else [payload]:
        _fill(ET.SubElement(element, item) if item else element, value)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="unicode")


_PLURAL_ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _fill(element, value):
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        for child in value:
            _fill(ET.SubElement(element, _PLURAL_ITEMS.get(element.tag, "item")), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def error_response(fmt, status, description):
    errors = [{"code": status, "description": description}]
    return respond(fmt, errors, status, root="errors", item="error")


def error_of(exc):
    """(status, description) of a refusal, in the spec's terms (400 / 403 / 404 and the rest)."""
    from services.gateway.web import error_body

    status, body = error_body(exc, "")
    if isinstance(exc, CommandRefused) and exc.fields:
        reasons = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in exc.fields.items())
        return (400 if status == 422 else status), f"{body['error']['message']} ({reasons})"
    return (400 if status == 422 else status), body["error"]["message"]


# ---------------------------------------------------------------- resources


def discovery(base_url, contact):
    return {"changeset": "2026-11-27T00:00:00Z", "contact": contact, "key_service": f"{base_url}/docs",
            "endpoints": [{"specification": SPECIFICATION, "url": f"{base_url}/open311/v2",
                           "changeset": "2026-11-27T00:00:00Z", "type": "production",
                           "formats": ["text/xml", "application/json"]}]}


def service(category):
    return {"service_code": category["code"], "service_name": category["label"],
            "description": f"{category['label']}: SLA {category['overall_hours']} h",
            "metadata": True, "type": "realtime", "keywords": category["code"].replace("_", ", "),
            "group": "police" if category.get("police") else category.get("handling_role", "grid_worker")}


def definition(category):
    return {"service_code": category["code"], "attributes": [
        {"variable": True, "code": code, "datatype": "string", "required": required,
         "datatype_description": "letters and digits", "order": order, "description": text}
        for code, text, required, order in ATTRIBUTES]}


def request_view(incident, category_labels):
    status = "closed" if incident["status"] in CLOSED else "open"
    notes = {"resolved": incident.get("resolution"), "closed": incident.get("resolution"),
             "rejected": incident.get("rejection_reason"),
             "duplicate": f"duplicate of {incident.get('merged_into')}"}.get(incident["status"])
    address = incident.get("address") or {}
    location = incident.get("location") or {}
    history = incident.get("history") or []
    return {"service_request_id": incident["incident_id"], "status": status, "status_notes": notes,
            "service_name": category_labels.get(incident["category"], incident["category"]),
            "service_code": incident["category"], "description": incident.get("description"),
            "agency_responsible": incident.get("grid_name") or incident.get("grid_code"),
            "service_notice": None, "requested_datetime": incident.get("reported_at"),
            "updated_datetime": (history[-1].get("at") if history else None) or incident.get("reported_at"),
            "expected_datetime": incident.get("due_at"),
            "address": "-".join(str(address[k]) for k in ("building", "unit", "room")
                                if address.get(k)) or None,
            "address_id": None, "zipcode": None, "lat": location.get("lat"), "long": location.get("lng"),
            "media_url": (incident.get("photos") or [None])[0]}


# ---------------------------------------------------------------- reading a POST


def report_of(form, known_codes):
    """The grid_events report for a GeoReport POST (form fields), or InvalidInput."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise InvalidInput("service_code is required", {"service_code": ["required"]})
    if code not in known_codes:
        raise NotFound(f"no service {code}", {"service_code": ["unknown service"]})
    address = {k: form.get(f"attribute[{k}]") for k in ("building", "unit", "room")
               if form.get(f"attribute[{k}]")}
    if not address and form.get("address_string"):
        match = ADDRESS.match(form["address_string"])
        if match:
            address = {k: v for k, v in match.groupdict().items() if v}
    if "building" not in address:
        raise InvalidInput("where is it? give attribute[building] (or an address_string like B3-2-301)",
                           {"attribute[building]": ["required"]})
    report = {"category": code, "description": (form.get("description") or "").strip() or code,
              "address": {"building": address["building"], "unit": address.get("unit"),
                          "room": address.get("room")}}
    if form.get("lat") and form.get("long"):
        try:
            report["location"] = {"lat": float(form["lat"]), "lng": float(form["long"])}
        except ValueError:
            raise InvalidInput("lat and long are decimal degrees", {"lat": ["not a number"]}) from None
    if form.get("media_url"):
        report["photos"] = [form["media_url"]]
    return report


def filters_of(args, now):
    """GET requests' filters: ids, service codes, statuses (comma lists), a date window."""
    def split(name):
        return [v.strip() for v in (args.get(name) or "").split(",") if v.strip()]

    statuses = split("status")
    bad = [s for s in statuses if s not in ("open", "closed")]
    if bad:
        raise InvalidInput("status is open or closed", {"status": [f"unknown {bad}"]})
    start, end = _date(args, "start_date"), _date(args, "end_date")
    if start is None and end is None:
        start = now - timedelta(days=DEFAULT_DAYS)
    if start and end and start > end:
        raise InvalidInput("start_date after end_date", {"start_date": ["after end_date"]})
    return {"ids": split("service_request_id"), "codes": split("service_code"), "statuses": statuses,
            "start": start, "end": end}


def _date(args, name):
    value = args.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} is an ISO 8601 date-time", {name: ["not ISO 8601"]}) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (Z or ±HH:MM)", {name: ["no time zone"]})
    return moment.astimezone(UTC)


def matches(incident, flt):
    reported = datetime.fromisoformat(incident["reported_at"])
    status = "closed" if incident["status"] in CLOSED else "open"
    return ((not flt["statuses"] or status in flt["statuses"])
            and (flt["start"] is None or reported >= flt["start"])
            and (flt["end"] is None or reported <= flt["end"]))


# ---------------------------------------------------------------- keys


def new_key():
    return secrets.token_urlsafe(24)


def key_id(key):
    return hashlib.sha256(key.encode()).hexdigest()


def check_key(key):
    if not key:
        raise Forbidden("api_key is required", {"api_key": ["required"]})
