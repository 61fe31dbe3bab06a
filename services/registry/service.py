"""The registry (人口登记): who lives in the community, in which household and grid, and who is
responsible for what. Entrypoints only: load the request, call `commands` / `store`, answer.

Other services learn about people only from this service's events and RPCs, never its database.
"""

import logging

from nameko.timer import timer
from pymongo.errors import DuplicateKeyError

from services.registry import commands, domain, schemas, store
from shared import clock
from shared.context import RequestContext
from shared.errors import Forbidden, NotFound, invalid
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600


def _page(params, total, items):
    return {"items": items, "total": total, "page": params["page"], "page_size": params["page_size"]}


class RegistryService:
    name = "registry"

    db = Mongo(store.INDEXES)
    ctx = RequestContext()
    probe = HealthProbe()

    # --- clock helpers ----------------------------------------------------------------------

    @staticmethod
    def _today():
        return clock.today()

    # --- grids and staff --------------------------------------------------------------------

    @rpc
    def define_grid(self, payload):
        """Create or update a grid (网格) and the buildings it covers (idempotent)."""
        grid = schemas.DefineGrid().load(payload)
        domain.check_can_administer(self.ctx.actor)
        commands.define_grid(self.db, grid)
        return self.get_grid(grid["code"])

    @rpc
    def get_grid(self, code):
        grid = self.db.grids.find_one({"code": code})
        if grid is None:
            raise NotFound(f"no grid {code}", {"code": ["unknown grid"]})
        staff = [store.staff_view(s) for s in self.db.staff.find({"grid_code": code, "active": True})
                 .sort("staff_id", 1)]
        worker = next(({"staff_id": s["staff_id"], "name": s["name"]} for s in staff
                       if s["role"] == "grid_worker"), None)
        return {**store.grid_view(grid, worker), "staff": staff}

    @rpc
    def list_grids(self):
        workers = store.current_grid_workers(self.db)
        return [store.grid_view(g, workers.get(g["code"])) for g in self.db.grids.find().sort("code", 1)]

    @rpc
    def grid_of_address(self, address):
        address = schemas.Address().load(address)
        grid = domain.grid_for_building(address["building"],
                                        self.db.grids.find_one({"buildings": address["building"]}))
        return {"grid_code": grid["code"], "grid_name": grid["name"]}

    @rpc
    def assign_grid_staff(self, payload):
        """Put a person in a post; a grid's new grid worker replaces the current one."""
        request = schemas.AssignGridStaff().load(payload)
        domain.check_can_administer(self.ctx.actor)
        return store.staff_view(commands.assign_grid_staff(self.db, request, clock.now()))

    @rpc
    def list_staff(self, filters=None):
        params = schemas.ListStaff().load(filters or {})
        query = {"active": True, **{k: v for k, v in params.items() if v is not None}}
        return [store.staff_view(s) for s in self.db.staff.find(query).sort("staff_id", 1)]

    # --- households -------------------------------------------------------------------------

    @rpc
    def register_household(self, payload):
        item = schemas.RegisterHousehold().load(payload)
        return commands.register_households(self.db, [item], self.ctx.actor)[0]

    @rpc
    def import_households(self, items):
        """Bulk registration (one transaction per batch of up to 1,000), same rules as one."""
        batch = schemas.load_batch(schemas.RegisterHousehold, items)
        return [h["household_id"] for h in commands.register_households(self.db, batch, self.ctx.actor)]

    @rpc
    def get_household(self, household_id):
        household = self.db.households.find_one({"household_id": household_id})
        if household is None:
            raise NotFound(f"no household {household_id}", {"household_id": ["unknown household"]})
        return store.household_view(household, store.members_of(self.db, [household_id])[household_id])

    @rpc
    def list_households(self, filters=None):
        params = schemas.ListHouseholds().load(filters or {})
        params["grid_codes"] = domain.scope_grid_codes(self.ctx.actor, params["grid_codes"])
        query = {"grid_code": {"$in": params["grid_codes"]}} if params["grid_codes"] is not None else {}
        total = self.db.households.count_documents(query)
        households = list(self.db.households.find(query).sort("household_id", 1)
                          .skip((params["page"] - 1) * params["page_size"]).limit(params["page_size"]))
        members = store.members_of(self.db, [h["household_id"] for h in households], params["grid_codes"])
        return _page(params, total, [store.household_view(h, members[h["household_id"]]) for h in households])

    # --- residents --------------------------------------------------------------------------

    @rpc
    def register_resident(self, payload):
        item = schemas.RegisterResident().load(payload)
        today = self._today()
        [doc] = commands.register_residents(self.db, [item], self.ctx.actor, today, clock.now())
        return domain.resident_view(doc, today)

    @rpc
    def import_residents(self, items):
        """Bulk registration (one transaction per batch of up to 1,000), same rules as one."""
        batch = schemas.load_batch(schemas.RegisterResident, items)
        docs = commands.register_residents(self.db, batch, self.ctx.actor, self._today(), clock.now())
        return [d["resident_id"] for d in docs]

    @rpc
    def get_resident(self, resident_id, full=False, reason=None):
        """A resident, masked; `full=True` with a stated `reason` shows everything and is audited."""
        domain.check_full_read(full, reason)
        resident = commands.load_resident(self.db, resident_id)
        domain.check_can_read_resident(self.ctx.actor, resident, full)
        if full:
            commands.record_full_read(self.db, resident, self.ctx.actor, reason, clock.now(),
                                      self.ctx.correlation_id)
        return domain.resident_view(resident, self._today(), full=full)

    @rpc
    def find_residents(self, filters=None):
        """Masked residents by grid, household, tag, age range, name prefix, residence type, status."""
        params = schemas.FindResidents().load(filters or {})
        grid_code = domain.scope_grid_filter(self.ctx.actor, params["grid_code"])
        today = self._today()
        query = store.resident_query(params, grid_code, today)
        total = self.db.residents.count_documents(query)
        docs = (self.db.residents.find(query).sort("resident_id", 1)
                .skip((params["page"] - 1) * params["page_size"]).limit(params["page_size"]))
        return _page(params, total, [domain.resident_view(d, today) for d in docs])

    @rpc
    def update_resident(self, payload):
        request = schemas.UpdateResident().load(payload)
        today = self._today()
        resident, changes = commands.update_resident(self.db, request, self.ctx.actor, today)
        return {**domain.resident_view(resident, today), "changed": sorted(changes)}

    @rpc
    def move_out(self, payload):
        request = schemas.MoveOut().load(payload)
        today = self._today()
        resident = commands.depart(self.db, request["resident_id"], request["moved_out_on"], "moved_out",
                                   self.ctx.actor, today)
        return domain.resident_view(resident, today)

    @rpc
    def record_death(self, payload):
        request = schemas.RecordDeath().load(payload)
        today = self._today()
        resident = commands.depart(self.db, request["resident_id"], request["died_on"], "deceased",
                                   self.ctx.actor, today)
        return domain.resident_view(resident, today)

    @rpc
    def flag_difficulty(self, payload):
        """Mark a resident in difficulty; for a party member this is also a must-visit event."""
        request = schemas.FlagDifficulty().load(payload)
        resident, flagged, party_member = commands.flag_difficulty(self.db, request, self.ctx.actor,
                                                                   clock.now())
        return {**domain.resident_view(resident, self._today()), "flagged": flagged,
                "party_member": party_member}

    @rpc
    def list_full_reads(self, filters=None):
        """The audit of full reads of personal data: who, when, why."""
        params = schemas.ListFullReads().load(filters or {})
        if self.ctx.actor is None or self.ctx.role not in ("admin", "community_office"):
            raise Forbidden("only the community office reads the audit", {"actor": ["not allowed"]})
        query = {"resident_id": params["resident_id"]} if params["resident_id"] else {}
        total = self.db.full_reads.count_documents(query)
        docs = (self.db.full_reads.find(query, {"_id": 0}).sort("at", -1)
                .skip((params["page"] - 1) * params["page_size"]).limit(params["page_size"]))
        return _page(params, total, [{**d, "at": d["at"].isoformat()} for d in docs])

    # --- the 60th birthday ------------------------------------------------------------------

    @timer(interval=DAY_SECONDS, eager=True)
    def daily_turned_60(self):
        self.announce_turned_60()

    def announce_turned_60(self):
        """Emit `registry.resident_turned_60` for each active resident whose 60th birthday has come
        (within the catch-up window), exactly once per person: a marker `turned_60:<resident_id>`
        is inserted in the same transaction as the event, so a second run or a restarted instance
        finds it, and of two instances claiming at once one loses (duplicate key, or a write
        conflict after which it runs again and finds the winner's marker) and emits nothing."""
        announced = 0
        for resident in commands.turned_60_candidates(self.db, self._today()):
            announced += self._claim_turned_60(resident)
        if announced:
            log.info("announced %d 60th birthdays", announced)
        return announced

    def _claim_turned_60(self, resident):
        """1 if this call announced the resident, 0 if a run (here or in another instance) had."""
        key = commands.milestone_key(resident["resident_id"])

        def claim(tx):  # rerun from the start if a concurrent claim conflicts: it may have aborted
            if tx.milestones.find_one({"_id": key}, {"_id": 1}):
                return 0
            tx.milestones.insert_one({"_id": key, "resident_id": resident["resident_id"], "at": clock.now()})
            tx.emit("registry.resident_turned_60", {
                "resident_id": resident["resident_id"], "grid_code": resident["grid_code"],
                "birth_date": domain.as_date(resident["birth_date"])})
            return 1

        if self.db.milestones.find_one({"_id": key}, {"_id": 1}):
            return 0
        try:
            return self.db.run_transaction(claim)
        except DuplicateKeyError:
            return 0  # another instance committed its claim first

    # --- party organisation -----------------------------------------------------------------

    @rpc
    def define_party_unit(self, payload):
        """A unit of the four-level party organisation (idempotent upsert)."""
        unit = schemas.DefinePartyUnit().load(payload)
        domain.check_can_administer(self.ctx.actor)
        return commands.define_party_unit(self.db, unit)

    @rpc
    def list_party_units(self, level=None):
        query = {"level": level} if level else {}
        return list(self.db.party_units.find(query, {"_id": 0}).sort("code", 1))

    @rpc
    def register_party_member(self, payload):
        item = schemas.RegisterPartyMember().load(payload)
        domain.check_can_administer(self.ctx.actor)
        [doc] = commands.register_party_members(self.db, [item], self._today(), clock.now())
        return commands.party_member_view(doc)

    @rpc
    def import_party_members(self, items):
        batch = schemas.load_batch(schemas.RegisterPartyMember, items)
        domain.check_can_administer(self.ctx.actor)
        return len(commands.register_party_members(self.db, batch, self._today(), clock.now()))

    @rpc
    def list_party_members(self, branch_code=None):
        query = {"branch_code": branch_code} if branch_code else {}
        members = self.db.party_members.find(query).sort("resident_id", 1)
        return [commands.party_member_view(d) for d in members]

    # --- shareholders -----------------------------------------------------------------------

    @rpc
    def enroll_shareholder(self, payload):
        item = schemas.EnrollShareholder().load(payload)
        domain.check_can_administer(self.ctx.actor)
        [doc] = commands.enroll_shareholders(self.db, [item], self.ctx.actor, clock.now())
        return commands.shareholder_view(doc)

    @rpc
    def import_shareholders(self, items):
        batch = schemas.load_batch(schemas.EnrollShareholder, items)
        domain.check_can_administer(self.ctx.actor)
        return [d["shareholder_id"] for d in commands.enroll_shareholders(self.db, batch, self.ctx.actor,
                                                                          clock.now())]

    @rpc
    def change_shares(self, payload):
        """Change shares, group or status; every change is kept (who, when, before, after, why)."""
        request = schemas.ChangeShares().load(payload)
        domain.check_can_administer(self.ctx.actor)
        current, before, after = commands.change_shares(self.db, request, self.ctx.actor, clock.now())
        return {**commands.shareholder_view(current), "before": before, "after": after}

    @rpc
    def list_shareholders(self, filters=None):
        params = schemas.ListShareholders().load(filters or {})
        query = {k: v for k, v in (("group", params["group"]), ("status", params["status"])) if v}
        total = self.db.shareholders.count_documents(query)
        docs = list(self.db.shareholders.find(query).sort([("group", 1), ("shareholder_id", 1)])
                    .skip((params["page"] - 1) * params["page_size"]).limit(params["page_size"]))
        names = {r["resident_id"]: r["name"] for r in self.db.residents.find(
            {"resident_id": {"$in": [d["resident_id"] for d in docs]}}, {"resident_id": 1, "name": 1})}
        return _page(params, total, [commands.shareholder_view(d, names.get(d["resident_id"])) for d in docs])

    @rpc
    def shareholder_history(self, shareholder_id):
        if self.db.shareholders.find_one({"shareholder_id": shareholder_id}, {"_id": 1}) is None:
            raise NotFound(f"no shareholder {shareholder_id}", {"shareholder_id": ["unknown"]})
        history = self.db.shareholder_history.find({"shareholder_id": shareholder_id}, {"_id": 0})
        return [{**d, "at": d["at"].isoformat()} for d in history.sort("at", 1)]

    # --- organisations ----------------------------------------------------------------------

    @rpc
    def register_organisation(self, payload):
        """A co-building unit, social organisation or volunteer team, with its member residents."""
        request = schemas.RegisterOrganisation().load(payload)
        domain.check_can_administer(self.ctx.actor)
        return commands.organisation_view(commands.register_organisation(self.db, request, clock.now()))

    @rpc
    def list_organisations(self, kind=None):
        if kind is not None and kind not in domain.ORGANISATION_KINDS:
            raise invalid("kind", f"one of {domain.ORGANISATION_KINDS}")
        query = {"kind": kind} if kind else {}
        return [commands.organisation_view(d) for d in self.db.organisations.find(query).sort("org_id", 1)]

    # --- operations -------------------------------------------------------------------------

    @rpc
    def has_residents(self):
        """Whether anyone is registered yet (cheap: the demo loader's no-op check)."""
        return self.db.residents.find_one({}, {"_id": 1}) is not None

    @rpc
    def stats(self):
        """Counts of what the register holds (the demo loader uses it to stay a no-op when loaded)."""
        residents = {s: self.db.residents.count_documents({"status": s}) for s in domain.RESIDENT_STATUSES}
        return {"grids": self.db.grids.count_documents({}),
                "households": self.db.households.count_documents({}),
                "residents": sum(residents.values()), "residents_by_status": residents,
                "staff": self.db.staff.count_documents({"active": True}),
                "party_units": self.db.party_units.count_documents({}),
                "party_members": self.db.party_members.count_documents({}),
                "shareholders": self.db.shareholders.count_documents({}),
                "organisations": self.db.organisations.count_documents({})}

    @rpc
    def health(self):
        return self.probe()
