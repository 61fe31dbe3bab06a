"""The registry (人口登记): who lives in the community, in which household and grid, and who is
responsible for what. Entrypoints only: load the request, call a use case, answer with a view.

Who may call what is `domain.POLICY`, enforced by the kit before a worker runs; `self.ctx.grant`
narrows what a caller loads and lists to their grid or their own record. Other services learn
about people only from this service's events and RPCs, never its database.
"""

import logging

from services.registry import domain, schemas, store, use_cases
from shared import clock, queries
from shared.context import RequestContext
from shared.fields import argument
from shared.health import HealthProbe
from shared.mongo import Mongo
from shared.rpc import rpc
from shared.timers import timer

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600

grid_view = schemas.GridView()
staff_view = schemas.StaffView()
household_view = schemas.HouseholdView()
party_member_view = schemas.PartyMemberView()
shareholder_view = schemas.ShareholderView()
organisation_view = schemas.OrganisationView()


def resident_view(today, full=False):
    return schemas.ResidentView(today, full=full)


def paged(found, view):
    return {**found, "items": [view.dump(item) for item in found["items"]]}


class RegistryService:
    name = "registry"
    policy = domain.POLICY

    db = Mongo(store.INDEXES)
    ctx = RequestContext()
    probe = HealthProbe()

    # --- grids and staff --------------------------------------------------------------------

    @rpc
    def define_grid(self, payload):
        """Create or update a grid (网格) and the buildings it covers (idempotent)."""
        grid = schemas.DefineGrid().load(payload)
        use_cases.define_grid(self.db, grid)
        return grid_view.dump(use_cases.get_grid(self.db, grid["code"], self.ctx.grant))

    @rpc
    def get_grid(self, code):
        code = argument(schemas.GRID_CODE, code, "code")
        return grid_view.dump(use_cases.get_grid(self.db, code, self.ctx.grant))

    @rpc
    def list_grids(self):
        return grid_view.dump(use_cases.list_grids(self.db), many=True)

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
        doc = use_cases.assign_grid_staff(self.db, request, clock.now())
        return staff_view.dump(domain.present_staff(doc, self.ctx.grant))

    @rpc
    def list_staff(self, filters=None):
        params = schemas.ListStaff().load(filters or {})
        return staff_view.dump(use_cases.list_staff(self.db, params, self.ctx.grant), many=True)

    # --- households -------------------------------------------------------------------------

    @rpc
    def register_household(self, payload):
        item = schemas.RegisterHousehold().load(payload)
        return household_view.dump(use_cases.register_households(self.db, [item], self.ctx.grant)[0])

    @rpc
    def import_households(self, items):
        """Bulk registration (one transaction per batch of up to 1,000), same rules as one."""
        batch = schemas.load_batch(schemas.RegisterHousehold, items)
        return [h["household_id"] for h in use_cases.register_households(self.db, batch, self.ctx.grant)]

    @rpc
    def get_household(self, household_id):
        household_id = argument(schemas.HOUSEHOLD_ID, household_id, "household_id")
        return household_view.dump(use_cases.get_household(self.db, household_id, self.ctx.grant))

    @rpc
    def list_households(self, filters=None):
        params = schemas.ListHouseholds().load(filters or {})
        return paged(use_cases.list_households(self.db, params, self.ctx.grant), household_view)

    # --- residents --------------------------------------------------------------------------

    @rpc
    def register_resident(self, payload):
        item = schemas.RegisterResident().load(payload)
        today = clock.today()
        [doc] = use_cases.register_residents(self.db, [item], self.ctx.grant, today, clock.now())
        return resident_view(today).dump(doc)

    @rpc
    def import_residents(self, items):
        """Bulk registration (one transaction per batch of up to 1,000), same rules as one."""
        batch = schemas.load_batch(schemas.RegisterResident, items)
        docs = use_cases.register_residents(self.db, batch, self.ctx.grant, clock.today(), clock.now())
        return [d["resident_id"] for d in docs]

    @rpc
    def get_resident(self, resident_id, full=False, reason=None):
        """A resident, masked; `full=True` with a stated `reason` shows everything and is audited."""
        read = schemas.ReadResident().load({"resident_id": resident_id, "full": full, "reason": reason})
        grant = self.ctx.grant
        domain.check_full_read(grant, read["full"], read["reason"])
        resident = use_cases.visible_resident(self.db, read["resident_id"], grant)
        if read["full"]:
            use_cases.record_full_read(self.db, resident, grant.actor, read["reason"], clock.now(),
                                       self.ctx.correlation_id)
        return resident_view(clock.today(), read["full"]).dump(resident)

    @rpc
    def find_residents(self, filters=None):
        """Masked residents by grid, household, tag, age range, name prefix, residence type, status."""
        params = schemas.FindResidents().load(filters or {})
        today = clock.today()
        return paged(use_cases.find_residents(self.db, params, self.ctx.grant, today), resident_view(today))

    @rpc
    def update_resident(self, payload):
        request = schemas.UpdateResident().load(payload)
        today = clock.today()
        resident, changes = use_cases.update_resident(self.db, request, self.ctx.grant, today)
        return resident_view(today).dump({**resident, "changed": sorted(changes)})

    @rpc
    def move_out(self, payload):
        request = schemas.MoveOut().load(payload)
        today = clock.today()
        resident = use_cases.depart(self.db, request["resident_id"], request["moved_out_on"], "moved_out",
                                    self.ctx.grant, today)
        return resident_view(today).dump(resident)

    @rpc
    def record_death(self, payload):
        request = schemas.RecordDeath().load(payload)
        today = clock.today()
        resident = use_cases.depart(self.db, request["resident_id"], request["died_on"], "deceased",
                                    self.ctx.grant, today)
        return resident_view(today).dump(resident)

    @rpc
    def flag_difficulty(self, payload):
        """Mark a resident in difficulty; for a party member this is also a must-visit event."""
        request = schemas.FlagDifficulty().load(payload)
        resident, flagged, party_member = use_cases.flag_difficulty(self.db, request, self.ctx.grant,
                                                                    clock.now())
        shown = {**resident, "flagged": flagged, "party_member": party_member}
        return resident_view(clock.today()).dump(shown)

    @rpc
    def list_full_reads(self, filters=None):
        """The audit of full reads of personal data: who, when, why."""
        params = schemas.ListFullReads().load(filters or {})
        flt = {"resident_id": params["resident_id"]} if params["resident_id"] else {}
        return paged(queries.page(self.db.full_reads, flt, params, sort=[("at", -1)]), schemas.FullReadView())

    # --- the 60th birthday ------------------------------------------------------------------

    @timer("turned_60_tick_seconds", DAY_SECONDS, eager=True)
    def daily_turned_60(self):
        self.announce_turned_60()

    def announce_turned_60(self):
        announced = use_cases.announce_turned_60(self.db, clock.today(), clock.now())
        if announced:
            log.info("announced %d 60th birthdays", announced)
        return announced

    # --- party organisation -----------------------------------------------------------------

    @rpc
    def define_party_unit(self, payload):
        """A unit of the four-level party organisation (idempotent upsert)."""
        return use_cases.define_party_unit(self.db, schemas.DefinePartyUnit().load(payload))

    @rpc
    def list_party_units(self, level=None):
        level = argument(schemas.PARTY_LEVEL, level, "level")
        query = {"level": level} if level else {}
        return list(self.db.party_units.find(query, {"_id": 0}).sort("code", 1))

    @rpc
    def register_party_member(self, payload):
        item = schemas.RegisterPartyMember().load(payload)
        [doc] = use_cases.register_party_members(self.db, [item], clock.today(), clock.now())
        return party_member_view.dump(doc)

    @rpc
    def import_party_members(self, items):
        batch = schemas.load_batch(schemas.RegisterPartyMember, items)
        return len(use_cases.register_party_members(self.db, batch, clock.today(), clock.now()))

    @rpc
    def list_party_members(self, branch_code=None):
        branch_code = argument(schemas.BRANCH_CODE, branch_code, "branch_code")
        query = {**self.ctx.grant.query(grid_field="grid_code"),
                 **({"branch_code": branch_code} if branch_code else {})}
        return party_member_view.dump(self.db.party_members.find(query).sort("resident_id", 1), many=True)

    # --- shareholders -----------------------------------------------------------------------

    @rpc
    def enroll_shareholder(self, payload):
        item = schemas.EnrollShareholder().load(payload)
        [doc] = use_cases.enroll_shareholders(self.db, [item], self.ctx.actor, clock.now())
        return shareholder_view.dump(doc)

    @rpc
    def import_shareholders(self, items):
        batch = schemas.load_batch(schemas.EnrollShareholder, items)
        return [d["shareholder_id"] for d in use_cases.enroll_shareholders(self.db, batch, self.ctx.actor,
                                                                           clock.now())]

    @rpc
    def change_shares(self, payload):
        """Change shares, group or status; every change is kept (who, when, before, after, why)."""
        request = schemas.ChangeShares().load(payload)
        current, before, after = use_cases.change_shares(self.db, request, self.ctx.actor, clock.now())
        return shareholder_view.dump({**current, "before": before, "after": after})

    @rpc
    def list_shareholders(self, filters=None):
        params = schemas.ListShareholders().load(filters or {})
        return paged(use_cases.list_shareholders(self.db, params), shareholder_view)

    @rpc
    def shareholder_history(self, shareholder_id):
        shareholder_id = argument(schemas.SHAREHOLDER_ID, shareholder_id, "shareholder_id")
        history = use_cases.shareholder_history(self.db, shareholder_id)
        return schemas.ShareholderChangeView().dump(history, many=True)

    # --- organisations ----------------------------------------------------------------------

    @rpc
    def register_organisation(self, payload):
        """A co-building unit, social organisation or volunteer team, with its member residents."""
        request = schemas.RegisterOrganisation().load(payload)
        return organisation_view.dump(use_cases.register_organisation(self.db, request, clock.now()))

    @rpc
    def list_organisations(self, kind=None):
        kind = argument(schemas.ORGANISATION_KIND, kind, "kind")
        query = {"kind": kind} if kind else {}
        return organisation_view.dump(self.db.organisations.find(query).sort("org_id", 1), many=True)

    # --- operations -------------------------------------------------------------------------

    @rpc
    def has_residents(self):
        """Whether anyone is registered yet (cheap: the demo loader's no-op check)."""
        return self.db.residents.find_one({}, {"_id": 1}) is not None

    @rpc
    def stats(self):
        """Counts of what the register holds (the demo loader uses it to stay a no-op when loaded)."""
        return store.stats(self.db)

    @rpc
    def health(self):
        return self.probe()
