"""grid_events (网格事件): nameko entrypoints only. Each loads its input, calls a use case with the
caller's grant, and answers with a view.

Who may call what is `domain.POLICY`, enforced by the kit before a worker runs; `self.ctx.grant`
narrows what a caller loads and lists to their grid (a grid worker) or their own records (a
resident). Use cases: use_cases/ (incidents, visits, campaigns, windows, field_work, read_models).
Rules and permissions: domain.py. Queries: store.py. Inputs and views: schemas.py.
"""

from services.grid_events import domain, store
from services.grid_events import schemas as s
from services.grid_events.use_cases import campaigns, field_work, incidents, read_models, visits, windows
from shared import clock
from shared.config import ServiceConfig
from shared.context import RequestContext
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.proxy import ServiceRpcProxy
from shared.rpc import rpc
from shared.timers import timer

TIMER_SECONDS = 60


def paged(page, view):
    return {**page, "items": view.dump(page["items"], many=True)}


class GridEventsService:
    name = "grid_events"
    policy = domain.POLICY

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
        return s.CategoryView(many=True).dump(domain.CATEGORIES.values())

    @rpc
    def report_incident(self, payload):
        data = s.ReportIncident().load(payload)
        return s.incident_view.dump(
            incidents.report(self.db, self.registry, self.settings, data, self.ctx.grant, clock.now()))

    @rpc
    def dispatch(self, payload):
        return s.incident_view.dump(incidents.dispatch(self.db, s.Dispatch().load(payload), self.ctx.grant,
                                                       clock.now()))

    @rpc
    def accept(self, payload):
        return self._act("accept", s.IncidentRef().load(payload))

    @rpc
    def start(self, payload):
        return self._act("start", s.IncidentRef().load(payload))

    @rpc
    def resolve(self, payload):
        data = s.Resolve().load(payload)
        return self._act("resolve", data, resolution=data["resolution"])

    @rpc
    def close(self, payload):
        return self._act("close", s.IncidentRef().load(payload))

    @rpc
    def reject(self, payload):
        data = s.WithReason().load(payload)
        return self._act("reject", data, rejection_reason=data["reason"])

    @rpc
    def reopen(self, payload):
        return self._act("reopen", s.WithReason().load(payload))

    @rpc
    def rate(self, payload):
        data = s.Rate().load(payload)
        return self._act("rate", data, rating=data["rating"], rating_comment=data["comment"])

    def _act(self, action, data, **changes):
        done = incidents.act(self.db, action, data, self.ctx.grant, clock.now(), **changes)
        return s.incident_view.dump(done)

    @rpc
    def merge_duplicate(self, payload):
        return s.incident_view.dump(incidents.merge(self.db, s.Merge().load(payload), self.ctx.grant,
                                                    clock.now()))

    @rpc
    def request_extension(self, payload):
        data = s.RequestExtension().load(payload)
        return s.ExtensionView().dump(incidents.request_extension(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def grant_extension(self, payload):
        data = s.GrantExtension().load(payload)
        return s.incident_view.dump(incidents.grant_extension(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def get_incident(self, incident_id):
        return s.incident_view.dump(incidents.get(self.db, s.incident_id(incident_id), self.ctx.grant))

    @rpc
    def list_incidents(self, payload=None):
        query = s.ListIncidents().load(payload or {})
        return paged(incidents.list_incidents(self.db, query, self.ctx.grant, clock.now()), s.incident_view)

    @rpc
    def grid_stats(self, payload=None):
        """One grid's figures; without a grid, every grid's incidents together."""
        query = s.GridStats().load(payload if isinstance(payload, dict) else
                                   {} if payload is None else {"grid_code": payload})
        return s.GridStatsView().dump(incidents.grid_stats(self.db, query, self.ctx.grant, clock.now()))

    @rpc
    def all_grid_stats(self, payload=None):
        """`grid_stats` for every grid with incidents, side by side: {grid_code: stats}."""
        query = s.AllGridStats().load(payload or {})
        view = s.GridStatsView(exclude=("grid_code",))
        return {code: view.dump(stats) for code, stats in incidents.all_grid_stats(self.db, query,
                                                                                     clock.now()).items()}

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

    @event_handler("registry", "party_member_registered", batch=100)
    def on_party_member_registered(self, events):  # a batch: a bulk import brings hundreds
        visits.party_members_registered(self.db, events, self.settings)

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
        return paged(visits.list_tasks(self.db, query, self.ctx.grant), s.VisitTaskView())

    @rpc
    def record_visit(self, payload):
        data = s.RecordVisit().load(payload)
        return s.VisitTaskView().dump(visits.record_visit(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def list_visit_logs(self, payload):
        """The visit log (走访记录) of one resident or one task, newest first."""
        query = s.VisitLogs().load(payload)
        return s.VisitLogView(many=True).dump(visits.visit_logs(self.db, query, self.ctx.grant))

    @rpc
    def create_year_end_visits(self, payload):
        year = s.YearEndVisits().load(payload)["year"]
        created = visits.create_year_end(self.db, year, clock.now())
        return s.YearEndView().dump({"year": year, "created": created})

    # ------------------------------------------------------------ campaigns

    @rpc
    def start_campaign(self, payload):
        data = s.StartCampaign().load(payload)
        campaign = campaigns.start(self.db, self.registry, data, self.ctx.grant, clock.now())
        return s.CampaignView().dump(campaign)

    @rpc
    def record_household_visit(self, payload):
        data = s.RecordHouseholdVisit().load(payload)
        return s.CoverageView().dump(campaigns.record_household_visit(self.db, data, self.ctx.grant,
                                                                      clock.now()))

    @rpc
    def campaign_coverage(self, campaign_id):
        return s.CoverageView().dump(campaigns.coverage(self.db, s.campaign_id(campaign_id), self.ctx.grant))

    # ------------------------------------------------------------ service windows

    @rpc
    def submit_window_request(self, payload):
        data = s.SubmitWindowRequest().load(payload)
        return s.WindowRequestView().dump(windows.submit(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def transfer_window_request(self, payload):
        data = s.TransferWindowRequest().load(payload)
        return s.WindowRequestView().dump(windows.transfer(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def escalate_window_request(self, payload):
        data = s.EscalateWindowRequest().load(payload)
        return s.WindowRequestView().dump(windows.escalate(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def complete_window_request(self, payload):
        data = s.CompleteWindowRequest().load(payload)
        return s.WindowRequestView().dump(windows.complete(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def get_window_request(self, request_id):
        return s.WindowRequestView().dump(windows.load_visible(self.db, s.window_request_id(request_id),
                                                               self.ctx.grant))

    # ------------------------------------------------------------ mediation, patrols, CCTV

    @rpc
    def open_mediation(self, payload):
        data = s.OpenMediation().load(payload)
        return s.MediationView().dump(field_work.open_mediation(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def record_mediation_session(self, payload):
        data = s.MediationSession().load(payload)
        return s.MediationView().dump(field_work.record_session(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def start_patrol(self, payload):
        data = s.StartPatrol().load(payload)
        return s.PatrolView().dump(field_work.start_patrol(self.db, self.registry, data, self.ctx.grant,
                                                           clock.now()))

    @rpc
    def patrol_checkin(self, payload):
        data = s.PatrolCheckin().load(payload)
        return s.CheckinView().dump(field_work.patrol_checkin(self.db, self.registry, self.settings, data,
                                                              self.ctx.grant, clock.now()))

    @rpc
    def end_patrol(self, payload):
        data = s.EndPatrol().load(payload)
        return s.PatrolView().dump(field_work.end_patrol(self.db, data, self.ctx.grant, clock.now()))

    @rpc
    def register_camera(self, payload):
        return s.CameraView().dump(field_work.register_camera(self.db, s.RegisterCamera().load(payload)))

    @rpc
    def cctv_alarm(self, payload):
        data = s.CctvAlarm().load(payload)
        return s.AlarmOutcomeView().dump(field_work.cctv_alarm(self.db, self.registry, self.settings, data,
                                                               clock.now()))
