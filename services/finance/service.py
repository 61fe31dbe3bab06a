"""Finance (集体经济账务): the cooperative's books. Entrypoints only: load the request with its
schema, call a use case, answer with a view. See README.md for the RPCs, events and policy."""

import logging

from services.finance import domain, schemas, store
from services.finance.use_cases import distribution, enterprises, ledger, market, property, residents
from shared import clock
from shared.config import ServiceConfig
from shared.context import RequestContext
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.proxy import ServiceRpcProxy
from shared.rpc import rpc
from shared.timers import timer

log = logging.getLogger(__name__)


class FinanceService:
    name = "finance"
    policy = domain.POLICY

    db = Mongo(store.INDEXES)
    ctx = RequestContext()
    probe = HealthProbe()
    settings = ServiceConfig()  # the FINANCE section of the config
    registry = ServiceRpcProxy("registry")  # on finance's own authority (bootstrap of unknown residents)

    def _payout_options(self):
        settings = self.settings
        return {
            "batch_size": int(settings.get("pay_batch_size", 500)),
            "pause_seconds": float(settings.get("pay_batch_pause_seconds", 0)),
        }

    # --- ledger ---------------------------------------------------------------------------------

    @rpc
    def post_transfer(self, payload):
        request = schemas.load(schemas.PostTransfer, payload)
        return schemas.entry_view(ledger.post_transfer(self.db, request, clock.now()))

    @rpc
    def reverse_transfer(self, payload):
        request = schemas.load(schemas.ReverseTransfer, payload)
        return schemas.entry_view(ledger.reverse_transfer(self.db, request, clock.now()))

    @rpc
    def account_balance(self, payload):
        request = schemas.load(schemas.AccountQuery, payload)
        fen = store.balance(self.db, request["account"])
        return {"account": request["account"], "balance_fen": fen, "balance_yuan": domain.yuan(fen)}

    @rpc
    def trial_balance(self, payload=None):
        schemas.load(schemas.Strict, payload or {})
        return ledger.trial_balance(self.db)

    @rpc
    def journal(self, payload=None):
        query = schemas.load(schemas.JournalQuery, payload or {})
        flt = {k: v for k, v in (("lines.account", query["account"]), ("code", query["code"])) if v}
        total, docs = store.journal_page(self.db, flt, query["page"], query["page_size"])
        return {
            "items": [schemas.entry_view(d) for d in docs],
            "total": total,
            "page": query["page"],
            "page_size": query["page_size"],
        }

    @rpc
    def verify_journal(self, payload=None):
        schemas.load(schemas.Strict, payload or {})
        return ledger.verify_journal(self.db)

    @rpc
    def reconcile(self, payload=None):
        schemas.load(schemas.Strict, payload or {})
        return ledger.reconcile(self.db)

    # --- property -------------------------------------------------------------------------------

    @rpc
    def register_unit(self, payload):
        unit = property.register_unit(self.db, schemas.load(schemas.RegisterUnit, payload))
        return {"unit_id": unit["_id"], **{k: unit[k] for k in ("kind", "name", "area_m2")}}

    @rpc
    def sign_lease(self, payload):
        lease = property.sign_lease(self.db, schemas.load(schemas.SignLease, payload), clock.now())
        return {"lease_id": lease["_id"], **{k: v for k, v in lease.items() if k != "_id"}}

    @rpc
    def raise_invoices(self, payload):
        request = schemas.load(schemas.RaiseInvoices, payload)
        return property.raise_invoices(self.db, request["month"], clock.now(), self._due_days())

    def _due_days(self):
        return int(self.settings.get("rent_due_days", 10))

    @rpc
    def record_payment(self, payload):
        payment = property.record_payment(self.db, schemas.load(schemas.RecordPayment, payload), clock.now())
        return {
            "payment_id": payment["_id"],
            **{
                k: payment[k]
                for k in (
                    "source",
                    "payer",
                    "reference",
                    "amount_fen",
                    "applied",
                    "applied_fen",
                    "unapplied_fen",
                    "settled",
                )
            },
            "received_at": payment["received_at"].isoformat(),
        }

    @rpc
    def import_payments(self, payload):
        """A bank statement: many payments at once, each matched as `record_payment` does."""
        request = schemas.load(schemas.ImportPayments, payload)
        recorded = property.import_payments(self.db, request["payments"], clock.now())
        return {
            "recorded": len(recorded),
            "applied_fen": sum(p["applied_fen"] for p in recorded),
            "unapplied_fen": sum(p["unapplied_fen"] for p in recorded),
        }

    @rpc
    def arrears_report(self, payload=None):
        request = schemas.load(schemas.AsOf, payload or {})
        return property.arrears_report(self.db, request["as_of"] or domain.local_today(clock.now()))

    @rpc
    def payer_statement(self, payload):
        request = schemas.load(schemas.PayerQuery, payload)
        self.ctx.grant.check(owners=request["payer"], what="payer", ref=request["payer"])
        return property.payer_statement(self.db, request["payer"])

    # --- enterprises ----------------------------------------------------------------------------

    @rpc
    def register_enterprise(self, payload):
        doc = enterprises.register_enterprise(self.db, schemas.load(schemas.RegisterEnterprise, payload))
        return {"enterprise_id": doc["_id"], **{k: doc[k] for k in ("name", "kind", "group")}}

    @rpc
    def record_enterprise_income(self, payload):
        request = schemas.load(schemas.RecordEnterpriseIncome, payload)
        return schemas.entry_view(enterprises.record_enterprise_income(self.db, request, clock.now()))

    @rpc
    def income_report(self, payload):
        return enterprises.income_report(self.db, schemas.load(schemas.YearQuery, payload)["year"])

    # --- distribution ---------------------------------------------------------------------------

    @rpc
    def preview_dividends(self, payload):
        request = schemas.load(schemas.PreviewDividends, payload)
        return schemas.run_view(
            distribution.preview_dividends(self.db, request, self.ctx.actor_id, clock.now())
        )

    @rpc
    def approve_dividends(self, payload):
        request = schemas.load(schemas.RunRef, payload)
        return schemas.run_view(
            distribution.approve_dividends(self.db, request["run_id"], self.ctx.actor_id, clock.now())
        )

    @rpc
    def run_dividends(self, payload):
        request = schemas.load(schemas.RunRef, payload)
        return schemas.run_view(
            distribution.run_dividends(self.db, request["run_id"], clock.now(), **self._payout_options())
        )

    @rpc
    def dividend_run(self, payload):
        request = schemas.load(schemas.RunRef, payload)
        run = distribution.load_run(self.db, request["run_id"])
        lines = distribution.first_lines(self.db, run["_id"])
        # `paid` moves with every batch of a run being paid (its progress), so `lines_paid` is it
        return {**schemas.run_view(run), "lines_paid": run.get("paid", 0),
                "first_lines": [schemas.line_view(line) for line in lines]}

    @rpc
    def dividend_statement(self, payload):
        request = schemas.load(schemas.DividendStatement, payload)
        return distribution.dividend_statement(self.db, request, self.ctx.grant)

    @rpc
    def run_allowances(self, payload):
        request = schemas.load(schemas.RunAllowances, payload)
        monthly = int(self.settings.get("allowance_fen", domain.ALLOWANCE_FEN))
        return distribution.run_allowances(self.db, request["month"], clock.now(), monthly)

    @rpc
    def run_subsidies(self, payload):
        request = schemas.load(schemas.RunSubsidies, payload)
        amount = request["amount_fen"] or int(self.settings.get(f"{request['kind']}_fen", 100_000))
        return distribution.run_subsidies(self.db, request["kind"], request["year"], amount, clock.now())

    @rpc
    def stats(self, payload=None):
        """What the books hold (the demo loader uses it to stay a no-op when loaded)."""
        schemas.load(schemas.Strict, payload or {})
        return store.stats(self.db)

    @rpc
    def health(self):
        return self.probe()

    # --- timers: each does what is due and is a no-op otherwise ---------------------------------

    @timer("resume_seconds", 5, eager=True)
    def resume_payouts(self):
        distribution.resume_dividend_runs(self.db, clock.now(), **self._payout_options())

    @timer("monthly_work_seconds", 600)
    def monthly_work(self):
        """Raise this month's rent invoices, flag arrears, and pay this month's allowance (all
        idempotent: once per lease / invoice and bucket / resident and month)."""
        today = domain.local_today(clock.now())
        month = domain.month_of(today)
        property.raise_invoices(self.db, month, clock.now(), self._due_days())
        property.notify_overdue(self.db, today)
        distribution.run_allowances(
            self.db, month, clock.now(), int(self.settings.get("allowance_fen", domain.ALLOWANCE_FEN))
        )

    # --- the night market's money ----------------------------------------------------------------

    @event_handler("market", "fee_charged")
    def on_fee_charged(self, event):
        store.posting(self.db, lambda tx: market.fee_charged(tx, event, clock.now()))

    @event_handler("market", "violation_recorded")
    def on_violation_recorded(self, event):
        store.posting(self.db, lambda tx: market.violation_recorded(tx, event, clock.now()))

    @event_handler("market", "violation_reversed")
    def on_violation_reversed(self, event):
        store.posting(self.db, lambda tx: market.violation_reversed(tx, event, clock.now()))

    # --- the registry's facts: finance's own read model -----------------------------------------

    @event_handler("registry", "resident_registered", batch=100)
    def on_resident_registered(self, events):  # a batch: the demo load and bulk imports bring thousands
        with self.db.transaction() as tx:
            residents.residents_registered(tx, [event.payload for event in events])

    @event_handler("registry", "resident_updated")
    def on_resident_updated(self, event):
        with self.db.transaction() as tx:
            residents.resident_updated(tx, event.payload)

    @event_handler("registry", "resident_moved_out")
    def on_resident_moved_out(self, event):
        with self.db.transaction() as tx:
            residents.resident_left(
                tx, event.payload["resident_id"], "moved_out", event.payload["moved_out_on"]
            )

    @event_handler("registry", "resident_died")
    def on_resident_died(self, event):
        with self.db.transaction() as tx:
            residents.resident_left(tx, event.payload["resident_id"], "deceased", event.payload["died_on"])

    @event_handler("registry", "resident_turned_60")
    def on_resident_turned_60(self, event):
        view = (
            None
            if residents.is_known(self.db, event.payload["resident_id"])
            else self.registry.get_resident(event.payload["resident_id"])
        )
        with self.db.transaction() as tx:
            if view:
                residents.bootstrap(tx, view)

    @event_handler("registry", "household_registered", batch=100)
    def on_household_registered(self, events):  # a batch: the demo load and bulk imports bring thousands
        with self.db.transaction() as tx:
            residents.households_registered(tx, [event.payload for event in events])

    @event_handler("registry", "shareholder_enrolled", batch=100)
    def on_shareholder_enrolled(self, events):  # a batch: the demo load and bulk imports bring thousands
        with self.db.transaction() as tx:
            residents.shareholders_enrolled(tx, [event.payload for event in events])

    @event_handler("registry", "shareholder_changed")
    def on_shareholder_changed(self, event):
        with self.db.transaction() as tx:
            residents.shareholder_changed(tx, event.payload)
