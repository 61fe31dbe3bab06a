"""The route table: every HTTP resource the gateway forwards, one row each.

A row names the RPC behind the route, how its arguments are built from the request, which roles
reach it at the edge (and how far: ALL, OWN_GRID, OWN), and what it documents (query schema,
body schema — the service's own input schema —, answer). A service that lands later adds a table
here (`MARKET = [...]`) and to `ROUTES`; nothing else changes: service.py binds one entrypoint per
row, openapi.py documents them, the access matrix test covers them.

Arguments: `payload` (the default) sends path values + query + body as one dict; `arg("x")`
sends one value positionally; `none` sends nothing. `from_actor` fills fields from the token
(`{"reporter_resident_id": "resident_id"}`): for an account that has that identity, the client's
value is replaced by the token's (staff may still name a resident, e.g. a hotline report).
"""

from dataclasses import dataclass, field
from typing import Any

from marshmallow import fields, validate

from services.finance import schemas as fn
from services.gateway import schemas as gs
from services.gateway.domain import (
    ALL,
    COMMUNITY_ADMIN,
    FINANCE_APPROVER,
    FINANCE_OFFICER,
    GRID_LIAISON,
    GRID_WORKER,
    INSPECTOR,
    MARKET_OFFICER,
    OPERATOR,
    OWN,
    OWN_GRID,
    PARTY_SECRETARY,
    POLICE_DESK,
    RESIDENT,
    ROLES,
    STAFF,
    STREET_OFFICE,
    VENDOR,
)
from services.grid_events import schemas as ge
from services.market import schemas as mk
from services.notifications import schemas as nt
from services.registry import schemas as rg


def payload(params):
    return (params,)


def arg(*names):
    return lambda params: tuple(params.get(n) for n in names)


def none(params):
    return ()


def items(params):
    return (params.get("items"),)


@dataclass(frozen=True)
class Guard:
    """Read the record first (`rpc(params[arg])`) and keep a grid-scoped caller to its grid:
    another grid's record is invisible (404) at the edge, whatever the service would say."""

    rpc: str
    arg: str
    grid_field: str = "grid_code"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    service: str
    rpc: str
    roles: dict
    summary: str
    call: Any = payload
    query: Any = None            # gateway schema of the query string (types, limits)
    body: Any = None             # documented request body (the service validates it)
    answer: Any = gs.Item        # documented answer
    status: int = 200
    grid_param: str | None = None   # the request parameter naming a grid (edge OWN_GRID check)
    owner_param: str | None = None  # the request parameter naming a person (edge OWN check)
    record_grid: str | None = None  # field of the answer naming its grid (edge check of a read)
    guard: Guard | None = None
    from_actor: dict = field(default_factory=dict)
    wrap: str | None = None      # a list answer is returned as {wrap: [...]}
    csv: tuple = ()              # columns of the CSV export (format=csv), if the list has one
    paged: bool = False          # the RPC pages (page, page_size, items, total)
    rows: Any = None             # answer -> CSV rows, when it is not a page or a list

    @property
    def name(self):
        return f"{self.service}.{self.rpc}" + (f"#{self.path}" if self.path.count("/me/") else "")

    @property
    def tag(self):
        return self.service


def roles(*groups, **extra):
    merged = {}
    for group in groups:
        merged.update(group)
    merged.update(extra)
    return merged


ANYONE = dict.fromkeys(ROLES, ALL)
OFFICE = {COMMUNITY_ADMIN: ALL}
POLICE = {POLICE_DESK: ALL}
GRID = {GRID_WORKER: OWN_GRID}
READERS = roles(OFFICE, POLICE, GRID)
STAFF_ALL = dict.fromkeys(STAFF, ALL)


# ---------------------------------------------------------------- query strings of lists


def q(*bases, **declared):
    """A query-string schema: the page and export fields plus `declared`."""
    return type("Query", bases or (gs.Strict,), dict(declared))


def text(max_len=40):
    return fields.Str(load_default=None, validate=validate.Length(min=1, max=max_len))


def flag():
    return fields.Bool(load_default=None)


GridQuery = q(grid_code=text())
ResidentQuery = q(gs.PageQuery, gs.Export, grid_code=text(), household_id=text(), tag=text(),
                  age_min=fields.Int(load_default=None, validate=validate.Range(0, 150)),
                  age_max=fields.Int(load_default=None, validate=validate.Range(0, 150)),
                  name_prefix=text(50), residence_type=text(), status=text())
ResidentRead = q(full=fields.Bool(load_default=False), reason=text(200))
HouseholdQuery = q(gs.PageQuery, grid_code=text())
StaffQuery = q(role=text(), grid_code=text())
FullReadQuery = q(gs.PageQuery, resident_id=text())
LevelQuery = q(level=text())
BranchQuery = q(branch_code=text())
ShareholderQuery = q(gs.PageQuery, group=text(), status=text())
KindQuery = q(kind=text())
IncidentQuery = q(gs.PageQuery, gs.Export, grid_code=text(), status=text(), category=text(), overdue=flag())
StatsQuery = q(gs.Export, reported_from=fields.AwareDateTime(load_default=None),
               reported_to=fields.AwareDateTime(load_default=None))
VisitTaskQuery = q(gs.PageQuery, grid_code=text(), status=text(), kind=text(), resident_id=text(),
                   overdue=flag())
VisitLogQuery = q(resident_id=text(), task_id=text())
InboxQuery = q(unread_only=fields.Bool(load_default=False),
               limit=fields.Int(load_default=50, validate=validate.Range(1, gs.MAX_PAGE_SIZE)))
LogQuery = q(gs.Export, event_id=text(100), recipient=text(), status=text(), channel=text(), topic=text(),
             grid_code=text(), household_id=text(),
             limit=fields.Int(load_default=100, validate=validate.Range(1, gs.MAX_PAGE_SIZE)))


class ImportBody(gs.Strict):
    items = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


def body(schema_cls, *exclude):
    return schema_cls(exclude=exclude) if exclude else schema_cls()


# ---------------------------------------------------------------- registry

RESIDENT_COLUMNS = ("resident_id", "name", "sex", "age", "grid_code", "household_id", "residence_type",
                    "status", "phone", "id_number", "tags")

REGISTRY = [
    Route("GET", "/v1/grids", "registry", "list_grids", ANYONE, "The grids", call=none, wrap="items",
          answer=gs.Items),
    Route("GET", "/v1/grids/<grid_code>", "registry", "get_grid", roles(READERS), "A grid and its staff",
          call=arg("grid_code"), grid_param="grid_code"),
    Route("PUT", "/v1/grids/<grid_code>", "registry", "define_grid", OFFICE, "Define or update a grid",
          call=lambda p: ({**{k: v for k, v in p.items() if k != "grid_code"}, "code": p["grid_code"]},),
          body=body(rg.DefineGrid, "code")),
    Route("POST", "/v1/grid-of-address", "registry", "grid_of_address", ANYONE, "The grid of an address",
          body=body(rg.Address)),
    Route("GET", "/v1/staff", "registry", "list_staff", READERS, "Staff posts", query=StaffQuery,
          grid_param="grid_code", wrap="items", answer=gs.Items),
    Route("POST", "/v1/staff", "registry", "assign_grid_staff", OFFICE, "Put a person in a post",
          body=body(rg.AssignGridStaff), status=201),
    Route("POST", "/v1/households", "registry", "register_household", roles(OFFICE, GRID),
          "Register a household", body=body(rg.RegisterHousehold), status=201),
    Route("POST", "/v1/households/import", "registry", "import_households", OFFICE,
          "Register households in bulk", call=items, body=ImportBody(), wrap="items", answer=gs.Items,
          status=201),
    Route("GET", "/v1/households", "registry", "list_households", READERS, "Households with members",
          query=HouseholdQuery, grid_param="grid_code", paged=True, answer=gs.Page,
          call=lambda p: ({"grid_codes": [p["grid_code"]] if p.get("grid_code") else None,
                           "page": p["page"], "page_size": p["page_size"]},)),
    Route("GET", "/v1/households/<household_id>", "registry", "get_household", READERS, "A household",
          call=arg("household_id"), record_grid="grid_code"),
    Route("POST", "/v1/residents", "registry", "register_resident", roles(OFFICE, GRID),
          "Register a resident", body=body(rg.RegisterResident), status=201),
    Route("POST", "/v1/residents/import", "registry", "import_residents", OFFICE,
          "Register residents in bulk", call=items, body=ImportBody(), wrap="items", answer=gs.Items,
          status=201),
    Route("GET", "/v1/residents", "registry", "find_residents", READERS,
          "Residents (masked) by grid, household, tag, age, name; CSV with format=csv",
          query=ResidentQuery, grid_param="grid_code", paged=True, answer=gs.Page, csv=RESIDENT_COLUMNS),
    Route("GET", "/v1/residents/<resident_id>", "registry", "get_resident",
          roles(READERS, {RESIDENT: OWN}), "A resident: masked, or in full with a reason (audited)",
          query=ResidentRead, call=arg("resident_id", "full", "reason"), owner_param="resident_id",
          record_grid="grid_code"),
    Route("PATCH", "/v1/residents/<resident_id>", "registry", "update_resident", roles(OFFICE, GRID),
          "Change a resident's facts", body=body(rg.UpdateResident, "resident_id")),
    Route("POST", "/v1/residents/<resident_id>/move-out", "registry", "move_out", roles(OFFICE, GRID),
          "Record a move out", body=body(rg.MoveOut, "resident_id")),
    Route("POST", "/v1/residents/<resident_id>/death", "registry", "record_death", roles(OFFICE, GRID),
          "Record a death", body=body(rg.RecordDeath, "resident_id")),
    Route("POST", "/v1/residents/<resident_id>/difficulty", "registry", "flag_difficulty",
          roles(OFFICE, GRID), "Flag a resident in difficulty", body=body(rg.FlagDifficulty, "resident_id")),
    Route("GET", "/v1/audit/full-reads", "registry", "list_full_reads", OFFICE,
          "Who read whose full record, when and why", query=FullReadQuery, paged=True, answer=gs.Page),
    Route("PUT", "/v1/party/units/<code>", "registry", "define_party_unit", OFFICE,
          "Define a party organisation unit", body=body(rg.DefinePartyUnit, "code")),
    Route("GET", "/v1/party/units", "registry", "list_party_units", roles(OFFICE, {PARTY_SECRETARY: ALL}),
          "Party organisation units", query=LevelQuery, call=arg("level"), wrap="items", answer=gs.Items),
    Route("POST", "/v1/party/members", "registry", "register_party_member", OFFICE,
          "Register a party member", body=body(rg.RegisterPartyMember), status=201),
    Route("POST", "/v1/party/members/import", "registry", "import_party_members", OFFICE,
          "Register party members in bulk", call=items, body=ImportBody(), status=201),
    Route("GET", "/v1/party/members", "registry", "list_party_members", roles(OFFICE, {PARTY_SECRETARY: ALL}),
          "Party members", query=BranchQuery, call=arg("branch_code"), wrap="items", answer=gs.Items),
    Route("POST", "/v1/shareholders", "registry", "enroll_shareholder", OFFICE, "Enroll a shareholder",
          body=body(rg.EnrollShareholder), status=201),
    Route("POST", "/v1/shareholders/import", "registry", "import_shareholders", OFFICE,
          "Enroll shareholders in bulk", call=items, body=ImportBody(), wrap="items", answer=gs.Items,
          status=201),
    Route("GET", "/v1/shareholders", "registry", "list_shareholders",
          roles(OFFICE, {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL}), "Shareholders",
          query=ShareholderQuery, paged=True, answer=gs.Page),
    Route("PATCH", "/v1/shareholders/<shareholder_id>", "registry", "change_shares", OFFICE,
          "Change shares, group or status", body=body(rg.ChangeShares, "shareholder_id")),
    Route("GET", "/v1/shareholders/<shareholder_id>/history", "registry", "shareholder_history",
          roles(OFFICE, {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL}), "Every change of a shareholding",
          call=arg("shareholder_id"), wrap="items", answer=gs.Items),
    Route("POST", "/v1/organisations", "registry", "register_organisation", OFFICE,
          "Register an organisation", body=body(rg.RegisterOrganisation), status=201),
    Route("GET", "/v1/organisations", "registry", "list_organisations", STAFF_ALL, "Organisations",
          query=KindQuery, call=arg("kind"), wrap="items", answer=gs.Items),
    Route("GET", "/v1/registry/stats", "registry", "stats", roles(OFFICE, {STREET_OFFICE: ALL}),
          "What the register holds", call=none),
]

# ---------------------------------------------------------------- grid_events

INCIDENT = Guard("get_incident", "incident_id")
INCIDENT_COLUMNS = ("incident_id", "category", "status", "priority", "grid_code", "summary", "description",
                    "reported_at", "accept_by", "due_at", "assignee_staff_id", "escalation_level", "rating")
STATS_COLUMNS = ("grid_code", "incidents", "response_minutes_avg", "resolution_minutes_avg", "on_time",
                 "satisfaction", "rating_avg", "reopen", "by_status")


def stats_rows(result):
    """all_grid_stats answers {grid_code: stats}: one CSV row per grid."""
    return [{"grid_code": code, **stats} for code, stats in result.items()]


def incident_action(action, schema, summary, who=roles(OFFICE, POLICE, GRID)):
    return Route("POST", f"/v1/incidents/<incident_id>/{action}", "grid_events", action, who, summary,
                 body=body(schema, "incident_id"), guard=INCIDENT)


REPORTERS = {RESIDENT: OWN}
SUPERVISING = roles(OFFICE, REPORTERS)

GRID_EVENTS = [
    Route("GET", "/v1/incident-categories", "grid_events", "categories", ANYONE,
          "Incident categories with their SLA", call=none, wrap="items", answer=gs.Items),
    Route("POST", "/v1/incidents", "grid_events", "report_incident", roles(READERS, REPORTERS),
          "Report an incident", body=body(ge.ReportIncident, "reporter_resident_id"), status=201,
          grid_param="grid_code", from_actor={"reporter_resident_id": "resident_id"}),
    Route("GET", "/v1/incidents", "grid_events", "list_incidents", roles(READERS, REPORTERS),
          "Incidents (a resident: their own reports); CSV with format=csv", query=IncidentQuery,
          grid_param="grid_code", paged=True, answer=gs.Page, csv=INCIDENT_COLUMNS),
    Route("GET", "/v1/incidents/<incident_id>", "grid_events", "get_incident", roles(READERS, REPORTERS),
          "An incident and its history", call=arg("incident_id"), record_grid="grid_code"),
    incident_action("dispatch", ge.Dispatch, "Dispatch to a staff member"),
    incident_action("accept", ge.IncidentRef, "Accept"),
    incident_action("start", ge.IncidentRef, "Start work"),
    incident_action("resolve", ge.Resolve, "Resolve"),
    incident_action("reject", ge.WithReason, "Reject"),
    incident_action("close", ge.IncidentRef, "Close (the reporter, or the office for them)", SUPERVISING),
    incident_action("reopen", ge.WithReason, "Reopen (the reporter)", SUPERVISING),
    incident_action("rate", ge.Rate, "Rate and close (the reporter)", SUPERVISING),
    Route("POST", "/v1/incidents/<incident_id>/merge", "grid_events", "merge_duplicate",
          roles(OFFICE, POLICE, GRID), "Merge into another incident", body=body(ge.Merge, "incident_id"),
          guard=INCIDENT),
    Route("POST", "/v1/incidents/<incident_id>/extensions", "grid_events", "request_extension",
          roles(OFFICE, POLICE, GRID), "Ask for more time", body=body(ge.RequestExtension, "incident_id"),
          guard=INCIDENT, status=201),
    Route("POST", "/v1/incidents/<incident_id>/extensions/<extension_id>", "grid_events",
          "grant_extension", OFFICE, "Grant or refuse more time",
          body=body(ge.GrantExtension, "incident_id", "extension_id")),
    Route("GET", "/v1/grid-stats", "grid_events", "all_grid_stats",
          roles(OFFICE, POLICE, {STREET_OFFICE: ALL}), "The five rates of every grid; CSV with format=csv",
          query=StatsQuery, csv=STATS_COLUMNS, rows=stats_rows,
          call=lambda p: ({k: p.get(k) for k in ("reported_from", "reported_to")},)),
    Route("GET", "/v1/grids/<grid_code>/stats", "grid_events", "grid_stats",
          roles(OFFICE, POLICE, GRID, {STREET_OFFICE: ALL, GRID_LIAISON: OWN_GRID,
                                       PARTY_SECRETARY: OWN_GRID}),
          "The five rates of one grid; CSV with format=csv", query=StatsQuery, grid_param="grid_code",
          csv=STATS_COLUMNS,
          call=lambda p: ({k: p.get(k) for k in ("grid_code", "reported_from", "reported_to")},)),
    Route("GET", "/v1/visit-tasks", "grid_events", "list_visit_tasks", READERS, "Visit tasks",
          query=VisitTaskQuery, grid_param="grid_code", paged=True, answer=gs.Page),
    Route("POST", "/v1/visit-tasks/<task_id>/visits", "grid_events", "record_visit", roles(OFFICE, GRID),
          "Record a visit", body=body(ge.RecordVisit, "task_id"), status=201),
    Route("GET", "/v1/visit-logs", "grid_events", "list_visit_logs", READERS, "The visit log",
          query=VisitLogQuery, wrap="items", answer=gs.Items),
    Route("POST", "/v1/year-end-visits", "grid_events", "create_year_end_visits", OFFICE,
          "Open the year-end visits", body=body(ge.YearEndVisits), status=201),
    Route("POST", "/v1/campaigns", "grid_events", "start_campaign", OFFICE, "Start a door-to-door campaign",
          body=body(ge.StartCampaign), status=201),
    Route("POST", "/v1/campaigns/<campaign_id>/household-visits", "grid_events", "record_household_visit",
          roles(OFFICE, GRID), "Record a household visit", body=body(ge.RecordHouseholdVisit, "campaign_id"),
          status=201),
    Route("GET", "/v1/campaigns/<campaign_id>/coverage", "grid_events", "campaign_coverage",
          roles(OFFICE, {GRID_WORKER: ALL, STREET_OFFICE: ALL}), "Campaign coverage",
          call=arg("campaign_id")),
    Route("POST", "/v1/window-requests", "grid_events", "submit_window_request", roles(OFFICE, GRID),
          "Submit a service-window request", body=body(ge.SubmitWindowRequest), status=201),
    Route("GET", "/v1/window-requests/<request_id>", "grid_events", "get_window_request", OFFICE,
          "A service-window request", call=arg("request_id")),
    Route("POST", "/v1/window-requests/<request_id>/transfer", "grid_events", "transfer_window_request",
          OFFICE, "Transfer", body=body(ge.TransferWindowRequest, "request_id")),
    Route("POST", "/v1/window-requests/<request_id>/escalate", "grid_events", "escalate_window_request",
          OFFICE, "Escalate", body=body(ge.EscalateWindowRequest, "request_id")),
    Route("POST", "/v1/window-requests/<request_id>/complete", "grid_events", "complete_window_request",
          OFFICE, "Complete", body=body(ge.CompleteWindowRequest, "request_id")),
    Route("POST", "/v1/mediations", "grid_events", "open_mediation", READERS, "Open a mediation",
          body=body(ge.OpenMediation), status=201),
    Route("POST", "/v1/mediations/<mediation_id>/sessions", "grid_events", "record_mediation_session",
          READERS, "Record a mediation session", body=body(ge.MediationSession, "mediation_id"), status=201),
    Route("POST", "/v1/patrols", "grid_events", "start_patrol", READERS, "Start a patrol",
          body=body(ge.StartPatrol), grid_param="grid_code", status=201),
    Route("POST", "/v1/patrols/<patrol_id>/checkins", "grid_events", "patrol_checkin", READERS,
          "Check in at a checkpoint", body=body(ge.PatrolCheckin, "patrol_id"), status=201),
    Route("POST", "/v1/patrols/<patrol_id>/end", "grid_events", "end_patrol", READERS, "End a patrol",
          body=body(ge.EndPatrol, "patrol_id")),
    Route("POST", "/v1/cameras", "grid_events", "register_camera", roles(OFFICE, POLICE), "Register a camera",
          body=body(ge.RegisterCamera), status=201),
    Route("POST", "/v1/cameras/<camera_id>/alarms", "grid_events", "cctv_alarm", roles(OFFICE, POLICE),
          "A camera's alarm", body=body(ge.CctvAlarm, "camera_id"), status=201),
]

# ---------------------------------------------------------------- notifications

ME = {"person_id": "id"}
NOTIFICATIONS = [
    Route("POST", "/v1/announcements", "notifications", "send", READERS, "Send an announcement",
          body=body(nt.SendAnnouncement), status=201),
    Route("GET", "/v1/me/inbox", "notifications", "inbox", ANYONE, "My in-app inbox", query=InboxQuery,
          from_actor=ME),
    Route("POST", "/v1/me/inbox/read", "notifications", "mark_read", ANYONE, "Mark messages read",
          body=body(nt.MarkRead, "person_id"), from_actor=ME),
    Route("GET", "/v1/me/preferences", "notifications", "get_preferences", ANYONE, "My preferences",
          call=arg("person_id"), from_actor=ME),
    Route("PUT", "/v1/me/preferences", "notifications", "set_preferences", ANYONE, "Set my preferences",
          body=body(nt.SetPreferences, "person_id"), from_actor=ME),
    Route("GET", "/v1/delivery-log", "notifications", "delivery_log", READERS,
          "What was sent to whom, and how it went; CSV with format=csv", query=LogQuery,
          grid_param="grid_code", wrap="items", answer=gs.Items,
          csv=("id", "event_id", "recipient", "channel", "topic", "status", "grid_code", "created_at")),
]

# ---------------------------------------------------------------- finance

BOOKS = {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL, COMMUNITY_ADMIN: ALL}
MAKER = {FINANCE_OFFICER: ALL}
BalanceQuery = q(account=fields.Str(required=True, validate=validate.Length(min=1, max=80)))
JournalQuery = q(gs.PageQuery, account=text(80), code=text(64))
AsOfQuery = q(gs.Export, as_of=fields.Date(load_default=None))
YearQuery = q(year=fields.Int(required=True, validate=validate.Range(2000, 2100)))
StatementQuery = q(shareholder_id=text(12), resident_id=text(12))
ARREARS_COLUMNS = ("invoice_id", "kind", "tenant_id", "open_fen", "due_on", "days_overdue", "bucket")


def arrears_rows(result):
    return result["invoices"]


FINANCE = [
    Route("POST", "/v1/finance/transfers", "finance", "post_transfer", MAKER, "Post a balanced transfer",
          body=body(fn.PostTransfer), status=201),
    Route("POST", "/v1/finance/reversals", "finance", "reverse_transfer", MAKER, "Reverse a transfer",
          body=body(fn.ReverseTransfer), status=201),
    Route("GET", "/v1/finance/balance", "finance", "account_balance", BOOKS,
          "An account's balance (fen), e.g. account=community/bank", query=BalanceQuery),
    Route("GET", "/v1/finance/trial-balance", "finance", "trial_balance", BOOKS, "The trial balance",
          call=lambda p: ({},)),
    Route("GET", "/v1/finance/journal", "finance", "journal", BOOKS, "The journal", query=JournalQuery,
          paged=True, answer=gs.Page),
    Route("GET", "/v1/finance/journal/verification", "finance", "verify_journal",
          roles(BOOKS, {OPERATOR: ALL}), "Check the journal's hash chain", call=lambda p: ({},)),
    Route("GET", "/v1/finance/reconciliation", "finance", "reconcile", roles(BOOKS, {OPERATOR: ALL}),
          "Reconcile the ledger", call=lambda p: ({},)),
    Route("POST", "/v1/finance/units", "finance", "register_unit", MAKER, "Register a rentable unit",
          body=body(fn.RegisterUnit), status=201),
    Route("POST", "/v1/finance/leases", "finance", "sign_lease", MAKER, "Sign a lease",
          body=body(fn.SignLease), status=201),
    Route("POST", "/v1/finance/invoice-runs", "finance", "raise_invoices", MAKER, "Raise a month's invoices",
          body=body(fn.RaiseInvoices), status=201),
    Route("POST", "/v1/finance/payments", "finance", "record_payment", MAKER, "Record a payment",
          body=body(fn.RecordPayment), status=201),
    Route("POST", "/v1/finance/bank-statements", "finance", "import_payments", MAKER,
          "Import a bank statement: many payments, each matched as one payment is",
          body=body(fn.ImportPayments), status=201),
    Route("GET", "/v1/finance/stats", "finance", "stats", roles(BOOKS, {OPERATOR: ALL}),
          "What the books hold (counts)", call=lambda p: ({},)),
    Route("GET", "/v1/finance/arrears", "finance", "arrears_report", BOOKS,
          "Open invoices past due, aged; CSV (one row per invoice) with format=csv", query=AsOfQuery,
          csv=ARREARS_COLUMNS, rows=arrears_rows),
    Route("GET", "/v1/finance/payers/<payer>/statement", "finance", "payer_statement",
          roles(BOOKS, {RESIDENT: OWN, VENDOR: OWN}), "A payer's invoices and payments",
          owner_param="payer"),
    Route("POST", "/v1/finance/enterprises", "finance", "register_enterprise", MAKER,
          "Register a collective enterprise", body=body(fn.RegisterEnterprise), status=201),
    Route("POST", "/v1/finance/enterprise-income", "finance", "record_enterprise_income", MAKER,
          "Book an enterprise's income", body=body(fn.RecordEnterpriseIncome), status=201),
    Route("GET", "/v1/finance/income", "finance", "income_report", BOOKS, "A year's income",
          query=YearQuery),
    Route("POST", "/v1/finance/dividend-runs", "finance", "preview_dividends", MAKER,
          "Preview a dividend run (the maker)", body=body(fn.PreviewDividends), status=201),
    Route("POST", "/v1/finance/dividend-runs/<run_id>/approve", "finance", "approve_dividends",
          {FINANCE_APPROVER: ALL}, "Approve a run (the checker, never its maker)"),
    Route("POST", "/v1/finance/dividend-runs/<run_id>/pay", "finance", "run_dividends",
          {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL}, "Pay an approved run"),
    Route("GET", "/v1/finance/dividend-runs/<run_id>", "finance", "dividend_run", BOOKS,
          "A dividend run and its first lines"),
    Route("GET", "/v1/finance/dividend-statement", "finance", "dividend_statement",
          {FINANCE_OFFICER: ALL, FINANCE_APPROVER: ALL, RESIDENT: OWN},
          "Dividends of a shareholder (a resident: their own)", query=StatementQuery,
          owner_param="resident_id", from_actor={"resident_id": "resident_id"}),
    Route("POST", "/v1/finance/allowance-runs", "finance", "run_allowances", MAKER,
          "Pay a month's allowances", body=body(fn.RunAllowances), status=201),
    Route("POST", "/v1/finance/subsidy-runs", "finance", "run_subsidies", MAKER, "Pay a year's subsidies",
          body=body(fn.RunSubsidies), status=201),
]

# ---------------------------------------------------------------- market

OFFICER = {MARKET_OFFICER: ALL}
MARKET_READERS = {MARKET_OFFICER: ALL, INSPECTOR: ALL, COMMUNITY_ADMIN: ALL}
VendorQuery = q(gs.PageQuery, status=text())
StallQuery = q(gs.PageQuery, zone=text(), kind=text(), status=text())
RulesQuery = q(rule_book_id=text(), on=fields.Date(load_default=None))
MarketStatsQuery = q(period=fields.Str(required=True, validate=validate.OneOf(["night", "month", "year"])),
                     key=fields.Str(required=True, validate=validate.Length(min=4, max=10)))
ViolationQuery = q(gs.PageQuery, gs.Export, vendor_id=text(), night_id=text(), violation_type=text(),
                   public_order=flag())
VIOLATION_COLUMNS = ("violation_id", "vendor_id", "stall_id", "night_id", "violation_type", "points",
                     "fine_fen", "status", "recorded_at", "description")
VENDOR_SELF = {VENDOR: OWN}

MARKET = [
    Route("POST", "/v1/market/vendors", "market", "register_vendor", OFFICER, "Register a vendor",
          body=body(mk.RegisterVendor), status=201),
    Route("POST", "/v1/market/vendors/<vendor_id>/licences", "market", "renew_licence",
          roles(OFFICER, VENDOR_SELF), "Renew a licence", body=body(mk.RenewLicence, "vendor_id"),
          owner_param="vendor_id"),
    Route("GET", "/v1/market/vendors/<vendor_id>", "market", "vendor_record",
          roles(MARKET_READERS, VENDOR_SELF), "A vendor's record (masked)", owner_param="vendor_id"),
    Route("GET", "/v1/market/vendors", "market", "list_vendors", MARKET_READERS, "Vendors", query=VendorQuery,
          paged=True, answer=gs.Page),
    Route("POST", "/v1/market/stalls", "market", "lay_out_stalls", OFFICER, "Lay out stalls",
          body=body(mk.LayOutStalls), status=201),
    Route("POST", "/v1/market/stall-applications", "market", "apply_for_stall", roles(OFFICER, VENDOR_SELF),
          "Apply for a stall", body=body(mk.ApplyForStall), owner_param="vendor_id", status=201),
    Route("POST", "/v1/market/allocations", "market", "allocate_stall", OFFICER,
          "Allocate stalls (lottery, renewal, direct)", body=body(mk.AllocateStall), status=201),
    Route("POST", "/v1/market/stalls/<stall_id>/release", "market", "release_stall",
          roles(OFFICER, VENDOR_SELF), "Give up a stall", body=body(mk.ReleaseStall, "stall_id")),
    Route("POST", "/v1/market/stalls/<stall_id>/transfer", "market", "transfer_stall", OFFICER,
          "Pass a stall to the holder's relative for the rest of its term (transfer rules)",
          body=body(mk.TransferStall, "stall_id")),
    Route("GET", "/v1/market/stalls", "market", "list_stalls",
          roles(MARKET_READERS, {VENDOR: ALL, GRID_WORKER: ALL}), "Stalls", query=StallQuery, paged=True,
          answer=gs.Page),
    Route("POST", "/v1/market/rule-books", "market", "propose_rules", OFFICER, "Propose a rule book",
          body=body(mk.ProposeRules), status=201),
    Route("POST", "/v1/market/rule-books/<rule_book_id>/votes", "market", "vote_on_rules", VENDOR_SELF,
          "Vote on a rule book (vendors)", body=body(mk.VoteOnRules, "rule_book_id"), owner_param="vendor_id",
          status=201),
    Route("POST", "/v1/market/rule-books/<rule_book_id>/publish", "market", "publish_rules", OFFICER,
          "Publish an adopted rule book", body=body(mk.RuleBookRef, "rule_book_id")),
    Route("GET", "/v1/market/rules", "market", "get_rules",
          roles(MARKET_READERS, {VENDOR: ALL, GRID_WORKER: ALL, POLICE_DESK: ALL}), "The rules in force",
          query=RulesQuery),
    Route("POST", "/v1/market/nights", "market", "open_night", OFFICER, "Open a market night",
          body=body(mk.OpenNight), status=201),
    Route("POST", "/v1/market/nights/<night_id>/check-ins", "market", "check_in", roles(OFFICER, VENDOR_SELF),
          "A stall checks in", body=body(mk.CheckIn, "night_id"), status=201),
    Route("POST", "/v1/market/nights/<night_id>/footfall", "market", "record_footfall", OFFICER,
          "Footfall at a gate", body=body(mk.RecordFootfall, "night_id"), status=201),
    Route("POST", "/v1/market/nights/<night_id>/takings", "market", "report_takings",
          roles(OFFICER, VENDOR_SELF), "A vendor's takings (fen)", body=body(mk.ReportTakings, "night_id"),
          owner_param="vendor_id", status=201),
    Route("POST", "/v1/market/nights/<night_id>/close", "market", "close_night", OFFICER, "Close a night",
          body=body(mk.NightRef, "night_id")),
    Route("GET", "/v1/market/stats", "market", "market_stats",
          roles(OFFICER, {COMMUNITY_ADMIN: ALL, STREET_OFFICE: ALL}), "Attendance, footfall, takings",
          query=MarketStatsQuery),
    Route("POST", "/v1/market/inspections", "market", "start_inspection",
          {INSPECTOR: ALL, MARKET_OFFICER: ALL}, "Start an inspection round", body=body(mk.StartInspection),
          status=201),
    Route("POST", "/v1/market/inspections/<inspection_id>/violations", "market", "record_violation",
          {INSPECTOR: ALL}, "Record a violation", body=body(mk.RecordViolation, "inspection_id"), status=201),
    Route("POST", "/v1/market/violations/<violation_id>/appeal", "market", "appeal_violation", VENDOR_SELF,
          "Appeal a violation (the vendor)", body=body(mk.AppealViolation, "violation_id"), status=201),
    Route("POST", "/v1/market/violations/<violation_id>/decision", "market", "decide_appeal", OFFICER,
          "Decide an appeal", body=body(mk.DecideAppeal, "violation_id")),
    Route("GET", "/v1/market/violations", "market", "list_violations",
          roles(MARKET_READERS, VENDOR_SELF, {POLICE_DESK: ALL, GRID_WORKER: OWN_GRID}),
          "Violations (a vendor: their own; a grid worker: their grid's zones); CSV with format=csv",
          query=ViolationQuery, paged=True, answer=gs.Page, csv=VIOLATION_COLUMNS),
]

# ---------------------------------------------------------------- operations

SERVICES = ("registry", "grid_events", "notifications", "finance", "market")
OPERATIONS = [
    Route("GET", f"/v1/services/{name}/health", name, "health", roles(OFFICE, {OPERATOR: ALL}),
          f"{name}: broker, database, outbox backlog, DLQ depth", call=none, answer=gs.Health)
    for name in SERVICES
]

ROUTES = REGISTRY + GRID_EVENTS + NOTIFICATIONS + FINANCE + MARKET + OPERATIONS
