"""grid_events (网格事件): nameko entrypoints only. Each loads its input, calls a use case, returns.

Use cases: use_cases/ (incidents, visits, campaigns, windows, field_work, read_models). Rules and
permissions: domain.py. Queries: store.py. Inputs and views: schemas.py.
"""


from services.grid_events import domain, store
from services.grid_events import schemas as s
from services.grid_events.schemas import out
from services.grid_events.use_cases import campaigns, field_work, incidents, read_models, visits, windows
from shared import clock, queries
from shared.config import ServiceConfig
from shared.context import RequestContext
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.proxy import ServiceRpcProxy
from shared.rpc import rpc
from shared.timers import timer

TIMER_SECONDS = 60


class GridEventsService:
    name = "grid_events"

    db = Mongo(store.INDEXES)
    ctx = RequestContext()
    probe = HealthProbe()
    config = ServiceConfig()
    registry = ServiceRpcProxy("registry")

    @property
    def settings(self):
        return domain.Settings.from_section(self.config)

    @rpc
    def health(self):
        return self.probe()

    # ------------------------------------------------------------ the night market

    @event_handler("market", "violation_recorded")
    def on_market_violation(self, event):
        field_work.market_violation(self.db, self.registry, self.settings, event.payload, clock.now())

    # ------------------------------------------------------------ incidents

    @rpc
    def categories(self):
        return [{**vars(c)} for c in domain.CATEGORIES.values()]

    @rpc
    def report_incident(self, payload):
        data = s.ReportIncident().load(payload)
        return out(incidents.report(self.db, self.registry, self.settings, data, self.ctx.actor, clock.now()))

    @rpc
    def dispatch(self, payload):
        return out(incidents.dispatch(self.db, s.Dispatch().load(payload), self.ctx.actor, clock.now()))

    @rpc
    def accept(self, payload):
        data = s.IncidentRef().load(payload)
        return out(incidents.act(self.db, "accept", data, self.ctx.actor, clock.now()))

    @rpc
    def start(self, payload):
        data = s.IncidentRef().load(payload)
        return out(incidents.act(self.db, "start", data, self.ctx.actor, clock.now()))

    @rpc
    def resolve(self, payload):
        data = s.Resolve().load(payload)
        return out(incidents.act(self.db, "resolve", data, self.ctx.actor, clock.now(),
                                 resolution=data["resolution"]))

    @rpc
    def close(self, payload):
        data = s.IncidentRef().load(payload)
        return out(incidents.act(self.db, "close", data, self.ctx.actor, clock.now()))

    @rpc
    def reject(self, payload):
        data = s.WithReason().load(payload)
        return out(incidents.act(self.db, "reject", data, self.ctx.actor, clock.now(),
                                 rejection_reason=data["reason"]))

    @rpc
    def reopen(self, payload):
        data = s.WithReason().load(payload)
        return out(incidents.act(self.db, "reopen", data, self.ctx.actor, clock.now()))

    @rpc
    def rate(self, payload):
        data = s.Rate().load(payload)
        return out(incidents.act(self.db, "rate", data, self.ctx.actor, clock.now(),
                                 rating=data["rating"], rating_comment=data["comment"]))

    @rpc
    def merge_duplicate(self, payload):
        return out(incidents.merge(self.db, s.Merge().load(payload), self.ctx.actor, clock.now()))

    @rpc
    def request_extension(self, payload):
        data = s.RequestExtension().load(payload)
        return out(incidents.request_extension(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def grant_extension(self, payload):
        data = s.GrantExtension().load(payload)
        return out(incidents.grant_extension(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def get_incident(self, incident_id):
        return out(domain.visible(incidents.load(self.db, incident_id), self.ctx.actor))

    @rpc
    def list_incidents(self, payload=None):
        query = s.ListIncidents().load(payload or {})
        flt = {**store.incident_filter(query, clock.now()), **domain.reader_scope(self.ctx.actor)}
        return out(queries.page(self.db.incidents, flt, query, [("reported_at", -1)]))

    @rpc
    def grid_stats(self, payload):
        query = s.GridStats().load(payload if isinstance(payload, dict) else {"grid_code": payload})
        return {"grid_code": query["grid_code"], **domain.grid_statistics(store.stats_of(self.db, query))}

    @rpc
    def all_grid_stats(self, payload=None):
        """`grid_stats` for every grid with incidents, side by side: {grid_code: stats}."""
        query = s.AllGridStats().load(payload or {})
        by_grid = {}
        for incident in store.stats_of(self.db, query):
            by_grid.setdefault(incident["grid_code"], []).append(incident)
        return {code: domain.grid_statistics(found) for code, found in sorted(by_grid.items())}

    # ------------------------------------------------------------ the clock's work

    @timer("tick_seconds", TIMER_SECONDS)
    def tick(self):
        """Every minute: escalate overdue incidents, auto-close, flag overdue visits, year-end visits."""
        return self.run_deadlines()

    def run_deadlines(self):
        now, settings = clock.now(), self.settings
        result = {"escalated": incidents.escalate_overdue(self.db, settings, now),
                  "auto_closed": incidents.auto_close(self.db, settings, now),
                  "visits_overdue": visits.flag_overdue(self.db, now), "year_end_visits": 0}
        today = domain.local_date(now)
        if domain.year_end_visits_open(today, settings):
            result["year_end_visits"] = visits.create_year_end(self.db, today.year, now)
        return result

    # ------------------------------------------------------------ visits

    @event_handler("registry", "party_member_registered")
    def on_party_member_registered(self, event):
        visits.party_member_registered(self.db, event, self.settings)

    @event_handler("registry", "party_member_in_difficulty")
    def on_party_member_in_difficulty(self, event):
        visits.party_member_in_difficulty(self.db, event, self.settings)

    @event_handler("registry", "resident_moved_out")
    def on_resident_moved_out(self, event):
        visits.resident_moved_out(self.db, event, clock.now())

    # ------------------------------------------------------------ what we know of the registry

    @event_handler("registry", "grid_staff_assigned")
    def on_grid_staff_assigned(self, event):
        read_models.staff_assigned(self.db, event)

    @event_handler("registry", "grid_defined")
    def on_grid_defined(self, event):
        read_models.grid_defined(self.db, event)

    @rpc
    def list_visit_tasks(self, payload=None):
        query = s.ListVisitTasks().load(payload or {})
        domain.check_staff(self.ctx.actor)
        return out(queries.page(self.db.visit_tasks, store.visit_task_filter(query), query,
                                [("due_on", 1), ("task_id", 1)]))

    @rpc
    def record_visit(self, payload):
        return out(visits.record_visit(self.db, s.RecordVisit().load(payload), self.ctx.actor, clock.now()))

    @rpc
    def list_visit_logs(self, payload):
        """The visit log (走访记录) of one resident or one task, newest first."""
        query = s.VisitLogs().load(payload)
        domain.check_staff(self.ctx.actor)
        return out(store.visit_logs(self.db, query))

    @rpc
    def create_year_end_visits(self, payload):
        year = s.YearEndVisits().load(payload)["year"]
        return {"year": year, "created": visits.create_year_end(self.db, year, clock.now())}

    # ------------------------------------------------------------ campaigns

    @rpc
    def start_campaign(self, payload):
        data = s.StartCampaign().load(payload)
        return out(campaigns.start(self.db, self.registry, data, self.ctx.actor, clock.now()))

    @rpc
    def record_household_visit(self, payload):
        data = s.RecordHouseholdVisit().load(payload)
        return out(campaigns.record_household_visit(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def campaign_coverage(self, campaign_id):
        return out(campaigns.coverage(self.db, campaign_id))

    # ------------------------------------------------------------ service windows

    @rpc
    def submit_window_request(self, payload):
        data = s.SubmitWindowRequest().load(payload)
        return out(windows.submit(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def transfer_window_request(self, payload):
        data = s.TransferWindowRequest().load(payload)
        return out(windows.transfer(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def escalate_window_request(self, payload):
        data = s.EscalateWindowRequest().load(payload)
        return out(windows.escalate(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def complete_window_request(self, payload):
        data = s.CompleteWindowRequest().load(payload)
        return out(windows.complete(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def get_window_request(self, request_id):
        return out(windows.load(self.db, request_id))

    # ------------------------------------------------------------ mediation, patrols, CCTV

    @rpc
    def open_mediation(self, payload):
        data = s.OpenMediation().load(payload)
        return out(field_work.open_mediation(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def record_mediation_session(self, payload):
        data = s.MediationSession().load(payload)
        return out(field_work.record_session(self.db, data, self.ctx.actor, clock.now()))

    @rpc
    def start_patrol(self, payload):
        data = s.StartPatrol().load(payload)
        return out(field_work.start_patrol(self.db, self.registry, data, self.ctx.actor, clock.now()))

    @rpc
    def patrol_checkin(self, payload):
        data = s.PatrolCheckin().load(payload)
        return out(field_work.patrol_checkin(self.db, self.registry, self.settings, data, self.ctx.actor,
                                             clock.now()))

    @rpc
    def end_patrol(self, payload):
        return out(field_work.end_patrol(self.db, s.EndPatrol().load(payload), self.ctx.actor, clock.now()))

    @rpc
    def register_camera(self, payload):
        return out(field_work.register_camera(self.db, s.RegisterCamera().load(payload), self.ctx.actor))

    @rpc
    def cctv_alarm(self, payload):
        data = s.CctvAlarm().load(payload)
        domain.check_staff(self.ctx.actor)
        return out(field_work.cctv_alarm(self.db, self.registry, self.settings, data, clock.now()))

