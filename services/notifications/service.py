"""The notifications service (通知服务): the right person hears about it, once, on the right channel.

Entrypoints only; the rules are in domain.py, the use cases in notify.py.
"""


from services.notifications import domain, schemas, store
from services.notifications.notify import Notifier
from services.notifications.providers import Channels
from services.notifications.templates import TemplateBook
from shared import clock
from shared.config import ServiceConfig
from shared.context import RequestContext
from shared.errors import Forbidden
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc
from shared.timers import timer


class NotificationsService:
    name = "notifications"

    db = Mongo(store.INDEXES)
    templates = TemplateBook()
    channels = Channels()
    config = ServiceConfig()  # the NOTIFICATIONS section
    ctx = RequestContext()
    probe = HealthProbe()

    @property
    def notifier(self):
        return Notifier(self.db, self.templates, self.channels, self.config)

    # ------------------------------------------------------------ who is who (registry)

    @event_handler("registry", "resident_registered", batch=100)
    def on_resident_registered(self, events):
        # a batch: the demo load and bulk imports register thousands at once, each welcomed
        people = {p["_id"]: p for p in (domain.person_from_resident(e.payload) for e in events)}
        stored = {p["_id"]: p for p in self.db.people.find({"_id": {"$in": list(people)}})}
        known = {rid: {**stored.get(rid, {}), **person} for rid, person in people.items()}
        self.notifier.on_events(events, known=known, apply=lambda tx: store.learn_people(tx, people.values()))

    @event_handler("registry", "resident_updated")
    def on_resident_updated(self, event):
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": event.payload["resident_id"]},
                                 {"$set": domain.resident_changes(event.payload)}, upsert=True)

    @event_handler("registry", "resident_moved_out")
    def on_resident_moved_out(self, event):
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": event.payload["resident_id"]}, {"$set": {"status": "moved_out"}})

    @event_handler("registry", "resident_died")
    def on_resident_died(self, event):
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": event.payload["resident_id"]}, {"$set": {"status": "deceased"}})

    @event_handler("registry", "grid_staff_assigned")
    def on_grid_staff_assigned(self, event):
        p = event.payload
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": p["staff_id"]}, {"$set": domain.person_from_staff(p)}, upsert=True)
            store.assign_post(tx, p["staff_id"], p["role"], domain.grid_of_role(p["role"], p["grid_code"]))

    # ------------------------------------------------------------ grid work (grid_events)

    @event_handler("grid_events", "incident_dispatched", batch=50)
    def on_incident_dispatched(self, events):
        # a batch: a storm or a sweep of CCTV alarms dispatches many at once
        works = [(e.payload["incident_id"], domain.incident_work(e.payload, e.occurred_at)) for e in events]

        def open_all(tx):
            for work_id, work in works:
                store.open_work(tx, work_id, work)

        self.notifier.on_events(events, apply=open_all)

    @event_handler("grid_events", "incident_reported")
    def on_incident_reported(self, event):
        self.notifier.on_event(event)

    @event_handler("grid_events", "incident_escalated")
    def on_incident_escalated(self, event):
        p = event.payload
        self.notifier.on_event(event, apply=lambda tx: tx.work.update_one(
            {"_id": p["incident_id"]}, {"$set": {"overdue": True},
                                        "$setOnInsert": {"kind": "incident", "grid_code": p["grid_code"],
                                                         "summary": p["summary"]}}, upsert=True))

    @event_handler("grid_events", "incident_resolved")
    def on_incident_resolved(self, event):
        self.notifier.on_event(event, apply=lambda tx: store.close_work(tx, event))

    @event_handler("grid_events", "incident_closed")
    def on_incident_closed(self, event):
        with self.db.transaction() as tx:
            store.close_work(tx, event)

    @event_handler("grid_events", "visit_task_created")
    def on_visit_task_created(self, event):
        self._visit_work(event, overdue=False)

    @event_handler("grid_events", "visit_overdue")
    def on_visit_overdue(self, event):
        self._visit_work(event, overdue=True)

    def _visit_work(self, event, overdue):
        work = domain.visit_work(event.payload, event.occurred_at, overdue=overdue)
        self.notifier.on_event(event, apply=lambda tx: store.open_work(tx, event.payload["task_id"], work))

    # ------------------------------------------------------------ the night market (market)

    @event_handler("market", "vendor_registered")
    def on_vendor_registered(self, event):
        if event.payload.get("resident_id"):
            return  # a resident vendor is reached as the resident the registry told us of
        person = domain.person_from_vendor(event.payload)
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": person["_id"]}, {"$set": person}, upsert=True)

    @event_handler("market", "violation_recorded")
    def on_market_violation(self, event):
        self.notifier.on_event(event)

    @event_handler("market", "vendor_suspended")
    def on_vendor_suspended(self, event):
        self.notifier.on_event(event)

    @event_handler("market", "licence_expiring")
    def on_licence_expiring(self, event):
        self.notifier.on_event(event)

    @event_handler("market", "fee_charged")
    def on_fee_charged(self, event):
        self.notifier.on_event(event)

    # ------------------------------------------------------------ the cooperative's books (finance)

    @event_handler("finance", "dividend_paid")
    def on_dividend_paid(self, event):
        self.notifier.on_event(event)

    @event_handler("finance", "allowance_paid")
    def on_allowance_paid(self, event):
        self.notifier.on_event(event)

    @event_handler("finance", "rent_overdue")
    def on_rent_overdue(self, event):
        self.notifier.on_event(event)

    # ------------------------------------------------------------ timers

    @timer("tick_seconds", 30)
    def release_due(self):
        return self.notifier.release_due()

    @timer("digest_tick_seconds", 300)
    def morning_digest(self):
        return self.notifier.morning_digest()

    # ------------------------------------------------------------ RPC

    @rpc
    def send(self, payload):
        command = schemas.SendAnnouncement().load(payload)
        refusal = domain.may_send(self.ctx.actor, command["target"])
        if refusal:
            raise Forbidden(refusal)
        return self.notifier.announce(command, self.ctx.actor)

    @rpc
    def announcement_progress(self, payload):
        """A big announcement returns at once (its id is the job id); this says how far it got."""
        query = schemas.AnnouncementRef().load(payload)
        allowed, grid = domain.may_read_log(self.ctx.actor)
        if not allowed:
            raise Forbidden("only staff follow an announcement")
        return store.progress(self.db, query["announcement_id"], grid)

    @rpc
    def inbox(self, payload):
        query = schemas.InboxQuery().load(payload)
        self._own(query["person_id"])
        find = {"recipient": query["person_id"]}
        if query["unread_only"]:
            find["read_at"] = None
        messages = self.db.inbox.find(find).sort("created_at", -1).limit(query["limit"])
        unread = self.db.inbox.count_documents({"recipient": query["person_id"], "read_at": None})
        return {"messages": schemas.InboxMessage(many=True).dump(list(messages)), "unread": unread}

    @rpc
    def mark_read(self, payload):
        command = schemas.MarkRead().load(payload)
        self._own(command["person_id"])
        with self.db.transaction() as tx:
            marked = store.mark_read(tx, command["person_id"], command["message_ids"], clock.now())
        return {"marked": marked}

    @rpc
    def set_preferences(self, payload):
        command = schemas.SetPreferences().load(payload)
        person_id = command.pop("person_id")
        self._own(person_id)
        with self.db.transaction() as tx:
            tx.people.update_one({"_id": person_id},
                                 {"$set": {f"preferences.{k}": v for k, v in command.items()}}, upsert=True)
        return self.get_preferences(person_id)

    @rpc
    def get_preferences(self, person_id):
        self._own(person_id)
        person = self.db.people.find_one({"_id": person_id}) or {"_id": person_id}
        return schemas.Preferences().dump({"person_id": person_id, **domain.preferences(person)})

    @rpc
    def delivery_log(self, payload=None):
        query = schemas.LogQuery().load(payload or {})
        allowed, grid = domain.may_read_log(self.ctx.actor)
        if not allowed:
            raise Forbidden("only staff read the delivery log")
        limit = query.pop("limit")
        records = self.db.notifications.find(store.log_query(query, grid)).sort("created_at", -1).limit(limit)
        return schemas.Notification(many=True).dump(list(records))

    @rpc
    def health(self):
        return self.probe()

    def _own(self, person_id):
        refusal = domain.may_read(self.ctx.actor, person_id)
        if refusal:
            raise Forbidden(refusal)
