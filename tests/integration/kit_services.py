"""Three small services that exercise the kit alone, before any domain service exists:
kit_orders produces `kit_orders.order_placed`; kit_billing and kit_shipping consume it."""

from marshmallow import Schema, fields, validate
from pymongo import IndexModel

from shared.access import ANYONE, Policy
from shared.context import RequestContext
from shared.events import event
from shared.handlers import event_handler
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc


@event("kit_orders.order_placed", 1)
class OrderPlaced(Schema):
    """A test order was placed."""

    order_id = fields.Str(required=True)
    amount_fen = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


class PlaceOrder(Schema):
    order_id = fields.Str(required=True, validate=validate.Length(min=1))
    amount_fen = fields.Int(required=True, strict=True, validate=validate.Range(min=1))


# Orders the shipping handler refuses to handle, to drive the failure path (a test flips it).
FAILING_ORDERS = set()


class OrdersService:
    name = "kit_orders"
    policy = Policy(dict.fromkeys(("place_order", "count_order", "place_order_with_bad_event", "health"),
                                  ANYONE))
    db = Mongo({"orders": [IndexModel("order_id", unique=True)]})
    ctx = RequestContext()
    probe = HealthProbe()

    @rpc
    def place_order(self, payload):
        order = PlaceOrder().load(payload)
        with self.db.transaction() as tx:
            tx.orders.insert_one(dict(order))
            tx.emit("kit_orders.order_placed", order)
        return {"order_id": order["order_id"], "correlation_id": self.ctx.correlation_id}

    @rpc
    def count_order(self):
        def bump(tx):
            n = (tx.counters.find_one({"_id": "orders"}) or {"n": 0})["n"] + 1
            tx.counters.update_one({"_id": "orders"}, {"$set": {"n": n}}, upsert=True)
            return n

        return self.db.run_transaction(bump)

    @rpc
    def place_order_with_bad_event(self, order_id):
        with self.db.transaction() as tx:
            tx.orders.insert_one({"order_id": order_id})
            tx.emit("kit_orders.order_placed", {"order_id": order_id, "amount_fen": -5})

    @rpc
    def health(self):
        return self.probe()


class BillingService:
    name = "kit_billing"
    db = Mongo()

    @event_handler("kit_orders", "order_placed")
    def bill(self, event):
        with self.db.transaction() as tx:
            tx.invoices.insert_one({"order_id": event.payload["order_id"],
                                    "amount_fen": event.payload["amount_fen"],
                                    "correlation_id": event.correlation_id})
            tx.totals.update_one({"_id": "billed"}, {"$inc": {"fen": event.payload["amount_fen"]}},
                                 upsert=True)


    @event_handler("kit_orders", "order_placed")
    def tally(self, event):
        # read-decide-write on one hot document, rerun on write conflicts: the claim of the
        # event must be rerun with it, or a conflicted first attempt would leave it unclaimed
        def count(tx):
            tally = (tx.tallies.find_one({"_id": "orders"}) or {"n": 0})["n"]
            tx.tallies.update_one({"_id": "orders"}, {"$set": {"n": tally + 1}}, upsert=True)

        self.db.run_transaction(count)


class ShippingService:
    name = "kit_shipping"
    policy = Policy({"health": ANYONE})
    db = Mongo()
    probe = HealthProbe()

    @rpc
    def health(self):
        return self.probe()

    @event_handler("kit_orders", "order_placed")
    def ship(self, event):
        if event.payload["order_id"] in FAILING_ORDERS:
            raise RuntimeError(f"no courier for {event.payload['order_id']}")
        with self.db.transaction() as tx:
            tx.shipments.insert_one({"order_id": event.payload["order_id"]})


# Orders the ledger's batch handler refuses, to drive a poison event through a batch.
POISON_ORDERS = set()


class LedgerService:
    """A batch consumer: up to 20 events per worker, applied in one transaction."""

    name = "kit_ledger"
    db = Mongo()

    @event_handler("kit_orders", "order_placed", batch=20)
    def book(self, events):
        if POISON_ORDERS & {e.payload["order_id"] for e in events}:
            raise RuntimeError(f"cannot book {sorted(POISON_ORDERS)}")
        with self.db.transaction() as tx:
            tx.entries.insert_many([{"order_id": e.payload["order_id"], "amount_fen": e.payload["amount_fen"]}
                                    for e in events])
            booked = sum(e.payload["amount_fen"] for e in events)
            tx.totals.update_one({"_id": "booked"}, {"$inc": {"fen": booked, "batches": 1}}, upsert=True)
