"""The notifications service (通知服务): the right person hears about it, once, on the right channel.

Entrypoints only: load the payload with its schema, call a use case, answer with a view. Who may
call what is `domain.POLICY`, enforced by the kit before a worker runs; `self.ctx.grant` narrows
what a caller reads and sends to their own records and grid. The rules are in domain.py, the use
cases in use_cases.py, the queries in store.py.
"""

from services.notifications import domain, schemas, store, use_cases
from services.notifications.providers import Channels
from services.notifications.templates import TemplateBook
from shared import clock
from shared.config import ServiceConfig
from shared.context import RequestContext
from shared.fields import argument
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc
from shared.timers import timer


class NotificationsService:
    name = "notifications"
    policy = domain.POLICY

    db = Mongo(store.INDEXES)
    templates = TemplateBook()
    channels = Channels()
    config = ServiceConfig()  # the NOTIFICATIONS section
    ctx = RequestContext()
    probe = HealthProbe()

    @property
    def delivery(self):
        return use_cases.Delivery(self.db, self.templates, self.channels,
                                  domain.Settings.from_config(self.config))

    # ------------------------------------------------------------ who is who (registry)

    @event_handler("registry", "resident_registered", batch=100)
    def on_resident_registered(self, events):  # a batch: imports register thousands, each welcomed
        use_cases.residents_registered(self.delivery, events)

    @event_handler("registry", "resident_updated")
    def on_resident_updated(self, event):
        use_cases.resident_updated(self.db, event)

    @event_handler("registry", "resident_moved_out")
    def on_resident_moved_out(self, event):
        use_cases.resident_moved_out(self.db, event)

    @event_handler("registry", "resident_died")
    def on_resident_died(self, event):
        use_cases.resident_died(self.db, event)

    @event_handler("registry", "grid_staff_assigned")
    def on_grid_staff_assigned(self, event):
        use_cases.grid_staff_assigned(self.db, event)

    # ------------------------------------------------------------ grid work (grid_events)

    @event_handler("grid_events", "incident_dispatched", batch=50)
    def on_incident_dispatched(self, events):  # a batch: a storm dispatches many at once
        use_cases.incidents_dispatched(self.delivery, events)

    @event_handler("grid_events", "incident_reported")
    def on_incident_reported(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("grid_events", "incident_escalated")
    def on_incident_escalated(self, event):
        use_cases.incident_escalated(self.delivery, event)

    @event_handler("grid_events", "incident_resolved")
    def on_incident_resolved(self, event):
        use_cases.incident_resolved(self.delivery, event)

    @event_handler("grid_events", "incident_closed")
    def on_incident_closed(self, event):
        use_cases.incident_closed(self.db, event)

    @event_handler("grid_events", "visit_task_created")
    def on_visit_task_created(self, event):
        use_cases.visit_work(self.delivery, event, overdue=False)

    @event_handler("grid_events", "visit_overdue")
    def on_visit_overdue(self, event):
        use_cases.visit_work(self.delivery, event, overdue=True)

    # ------------------------------------------------------------ the night market (market)

    @event_handler("market", "vendor_registered")
    def on_vendor_registered(self, event):
        use_cases.vendor_registered(self.db, event)

    @event_handler("market", "violation_recorded")
    def on_market_violation(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("market", "vendor_suspended")
    def on_vendor_suspended(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("market", "licence_expiring")
    def on_licence_expiring(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("market", "fee_charged")
    def on_fee_charged(self, event):
        use_cases.event_told(self.delivery, event)

    # ------------------------------------------------------------ the cooperative's books (finance)

    @event_handler("finance", "dividend_paid")
    def on_dividend_paid(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("finance", "allowance_paid")
    def on_allowance_paid(self, event):
        use_cases.event_told(self.delivery, event)

    @event_handler("finance", "rent_overdue")
    def on_rent_overdue(self, event):
        use_cases.event_told(self.delivery, event)

    # ------------------------------------------------------------ timers

    @timer("tick_seconds", 30)
    def release_due(self):
        return use_cases.release_due(self.delivery)

    @timer("digest_tick_seconds", 300)
    def morning_digest(self):
        return use_cases.morning_digest(self.delivery)

    # ------------------------------------------------------------ RPC

    @rpc
    def send(self, payload):
        return use_cases.send(self.delivery, schemas.SendAnnouncement().load(payload), self.ctx.grant)

    @rpc
    def announcement_progress(self, payload):
        """A big announcement returns at once (its id is the job id); this says how far it got."""
        query = schemas.AnnouncementRef().load(payload)
        return use_cases.announcement_progress(self.db, query["announcement_id"], self.ctx.grant)

    @rpc
    def inbox(self, payload):
        messages, unread = use_cases.inbox(self.db, schemas.InboxQuery().load(payload), self.ctx.grant)
        return {"messages": schemas.InboxMessage(many=True).dump(messages), "unread": unread}

    @rpc
    def mark_read(self, payload):
        command = schemas.MarkRead().load(payload)
        return {"marked": use_cases.mark_read(self.db, command, self.ctx.grant, clock.now())}

    @rpc
    def set_preferences(self, payload):
        prefs = use_cases.set_preferences(self.db, schemas.SetPreferences().load(payload), self.ctx.grant)
        return schemas.Preferences().dump(prefs)

    @rpc
    def get_preferences(self, person_id):
        person_id = argument(schemas.PERSON_ID, person_id, "person_id")
        return schemas.Preferences().dump(use_cases.get_preferences(self.db, person_id, self.ctx.grant))

    @rpc
    def delivery_log(self, payload=None):
        records = use_cases.delivery_log(self.db, schemas.LogQuery().load(payload or {}), self.ctx.grant)
        return schemas.Notification(many=True).dump(records)

    @rpc
    def health(self):
        return self.probe()
