"""The night market (阳光夜市): vendors, stalls, the rule book the vendors adopt, market nights,
inspections, violations, appeals, fees and the nightly figures.

Entrypoints only: load the payload with its schema, call a use case, answer with a view. Who may
call what is `domain.POLICY`, enforced by the kit before a worker runs; `self.ctx.grant` narrows
what a caller loads and lists to their own records.
"""

from nameko.dependency_providers import Config

from services.market import domain, schemas, store
from services.market.use_cases import fees, nights, rules, stalls, vendors, violations
from shared import clock
from shared.context import RequestContext
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc
from shared.timers import timer


class MarketService:
    name = "market"
    policy = domain.POLICY

    db = Mongo(store.INDEXES)
    ctx = RequestContext()
    probe = HealthProbe()
    config = Config()

    @property
    def settings(self):
        return domain.Settings.from_config(self.config)

    # ------------------------------------------------------------ vendors

    @rpc
    def register_vendor(self, payload):
        return vendors.register_vendor(
            self.db, schemas.RegisterVendor().load(payload), self.ctx.role, clock.now()
        )

    @rpc
    def renew_licence(self, payload):
        return vendors.renew_licence(
            self.db, schemas.RenewLicence().load(payload), self.ctx.grant, clock.now()
        )

    @rpc
    def vendor_record(self, payload):
        vendor_id = schemas.VendorRef().load(payload)["vendor_id"]
        vendor, history, ledger, fee_list = vendors.vendor_record(self.db, vendor_id, self.ctx.grant)
        return {
            **vendor,
            "violations": schemas.ViolationView(many=True).dump(history),
            "points_ledger": schemas.LedgerView(many=True).dump(ledger),
            "fees": schemas.FeeView(many=True).dump(fee_list),
        }

    @rpc
    def list_vendors(self, payload=None):
        return vendors.list_vendors(self.db, schemas.ListVendors().load(payload or {}), self.ctx.role)

    # ------------------------------------------------------------ stalls

    @rpc
    def lay_out_stalls(self, payload):
        """Add stalls to the market's layout (existing ones are left as they are)."""
        return {"added": stalls.lay_out(self.db, schemas.LayOutStalls().load(payload)["stalls"])}

    @rpc
    def apply_for_stall(self, payload):
        return stalls.apply_for_stall(
            self.db, schemas.ApplyForStall().load(payload), self.ctx.grant, clock.now()
        )

    @rpc
    def allocate_stall(self, payload):
        return stalls.allocate_stall(
            self.db, schemas.AllocateStall().load(payload), self.settings, clock.now()
        )

    @rpc
    def release_stall(self, payload):
        return stalls.release_stall(
            self.db, schemas.ReleaseStall().load(payload), self.ctx.grant, clock.now()
        )

    @rpc
    def transfer_stall(self, payload):
        return stalls.transfer_stall(
            self.db, schemas.TransferStall().load(payload), self.ctx.actor_id, clock.now()
        )

    @rpc
    def list_stalls(self, payload=None):
        found = stalls.list_stalls(self.db, schemas.ListStalls().load(payload or {}))
        return {**found, "items": schemas.StallView(many=True).dump(found["items"])}

    # ------------------------------------------------------------ the rule book

    @rpc
    def propose_rules(self, payload):
        return rules.propose_rules(
            self.db, schemas.ProposeRules().load(payload), self.ctx.actor_id, clock.now()
        )

    @rpc
    def vote_on_rules(self, payload):
        return rules.vote_on_rules(
            self.db, schemas.VoteOnRules().load(payload), self.ctx.grant, clock.now()
        )

    @rpc
    def publish_rules(self, payload):
        return rules.publish_rules(
            self.db, schemas.RuleBookRef().load(payload), self.settings, self.ctx.actor_id, clock.now()
        )

    @rpc
    def get_rules(self, payload=None):
        return rules.get_rules(self.db, schemas.GetRules().load(payload or {}), clock.now())

    # ------------------------------------------------------------ nights

    @rpc
    def open_night(self, payload):
        return nights.open_night(self.db, schemas.OpenNight().load(payload), clock.now())

    @rpc
    def check_in(self, payload):
        return nights.check_in(self.db, schemas.CheckIn().load(payload), self.ctx.grant, clock.now())

    @rpc
    def record_footfall(self, payload):
        return nights.record_footfall(self.db, schemas.RecordFootfall().load(payload), clock.now())

    @rpc
    def report_takings(self, payload):
        return nights.report_takings(
            self.db, schemas.ReportTakings().load(payload), self.ctx.grant, clock.now()
        )

    @rpc
    def close_night(self, payload):
        return nights.close_night(self.db, schemas.NightRef().load(payload), clock.now())

    @rpc
    def market_stats(self, payload):
        return nights.market_stats(self.db, schemas.MarketStats().load(payload))

    # ------------------------------------------------------------ inspections and violations

    @rpc
    def start_inspection(self, payload):
        return violations.start_inspection(
            self.db, schemas.StartInspection().load(payload), self.ctx.actor_id, clock.now()
        )

    @rpc
    def record_violation(self, payload):
        return violations.record_violation(
            self.db,
            schemas.RecordViolation().load(payload),
            self.settings,
            self.ctx.actor_id,
            clock.now(),
        )

    @rpc
    def appeal_violation(self, payload):
        return violations.appeal_violation(
            self.db, schemas.AppealViolation().load(payload), self.ctx.grant, self.settings, clock.now()
        )

    @rpc
    def decide_appeal(self, payload):
        return violations.decide_appeal(
            self.db, schemas.DecideAppeal().load(payload), self.ctx.actor_id, clock.now()
        )

    @rpc
    def list_violations(self, payload=None):
        return violations.list_violations(
            self.db, schemas.ListViolations().load(payload or {}), self.ctx.grant
        )

    @rpc
    def health(self):
        return self.probe()

    # ------------------------------------------------------------ timers

    @timer("fee_tick_seconds", 3600)
    def charge_fees(self):
        return fees.charge_fees(self.db, self.settings, clock.now())

    @timer("licence_tick_seconds", 3600)
    def warn_expiring_licences(self):
        return vendors.warn_expiring_licences(self.db, self.settings, clock.now())

    # ------------------------------------------------------------ events in

    @event_handler("registry", "resident_registered", batch=100)
    def on_resident_registered(self, events):  # a batch: the demo load and bulk imports bring thousands
        vendors.residents_registered(self.db, [event.payload for event in events])

    @event_handler("registry", "resident_moved_out")
    def on_resident_moved_out(self, event):
        vendors.resident_left(self.db, event.payload, "moved_out")

    @event_handler("registry", "resident_died")
    def on_resident_died(self, event):
        vendors.resident_left(self.db, event.payload, "died")

    @event_handler("finance", "payment_received")
    def on_payment_received(self, event):
        fees.payment_received(self.db, event.payload)
