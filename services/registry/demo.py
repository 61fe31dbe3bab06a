"""The demo community (示范社区), deterministic by seed, and its loader.

    python -m services.registry.demo --load        # into a running platform (AMQP_URI, default local)
    python -m services.registry.demo --summary     # what the generator builds, without loading

About 12,000 residents in about 4,000 households over 7 grids: local families in the houses they
own (many rent rooms out) and floating population (流动人口) in rented rooms; about 15% aged 60+;
1,981 shareholders of the cooperative in 12 groups; the four-level party organisation with its
members; 7 grid workers, 68 liaisons and the offices; co-building units, social organisations and
volunteer teams. ID numbers are valid (GB 11643 check digit, a region code that existed in the
birth year), names come from Faker zh_CN, phones are valid Chinese mobiles.

Loading goes through the registry's RPCs in bulk (`import_households`, `import_residents`,
`import_party_members`, `import_shareholders`: one transaction per batch), with the same
validation as single registrations, and is a no-op when the register already holds residents.
"""

import argparse
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import phonenumbers
from faker import Faker
from stdnum.cn import ric

from services.registry import domain
from shared import clock
from shared.loading import client_config, each

LOADER = {"id": "demo-loader", "role": "community_admin"}  # the office loading the register
DEFAULT_SEED = 2026
GRID_NAMES = ["东街网格", "西街网格", "南门网格", "北苑网格", "新村网格", "溪边网格", "夜市网格"]
LIAISONS_PER_GRID = [10, 10, 10, 10, 10, 9, 9]  # 68
SHAREHOLDERS = 1981
SHARE_GROUPS = [f"第{n}组" for n in range(1, 13)]

# Region codes (first six digits): Quanzhou, Xiamen and Fuzhou for local families; the provinces
# most floating residents come from for tenants. Whether a code is valid depends on the birth year.
LOCAL_REGIONS = ["350502", "350503", "350504", "350505", "350521", "350524", "350525", "350526", "350581",
                 "350582", "350583", "350203", "350205", "350206", "350211", "350102", "350103", "350121"]
MIGRANT_REGIONS = ["360102", "360121", "360281", "360321", "360421", "360681", "360781", "510104", "510105",
                   "510106", "510107", "510121", "511002", "430102", "430103", "430111", "430121", "430521",
                   "520102", "520103", "520121", "340102", "340103", "341221", "410102", "410103", "411102"]
ALWAYS_VALID = ["350100", "350121", "350200", "110102", "310110"]

CO_BUILDING_UNITS = [("市第一医院", "hospital"), ("城市管理局", "city_management"),
                     ("实验小学", "primary_school"),
                     ("阳光幼儿园", "kindergarten"), ("人寿保险公司", "insurer"), ("供电所", "power_supply"),
                     ("派出所", "police_station")]
SOCIAL_ORGANISATIONS = [("南音社", "nanyin"), ("腰鼓队", "waist_drum"), ("广场舞队", "square_dance"),
                        ("西洋鼓队", "western_drum"), ("篮球队", "basketball"), ("慈善会", "charity"),
                        ("老年人协会", "elderly_association")]
VOLUNTEER_TEAMS = [("党员志愿服务队", "party_members"), ("巾帼志愿服务队", "women"),
                   ("青年志愿服务队", "youth")]


@dataclass
class Community:
    """Plain request payloads; `*_key` fields are local references the loader turns into ids."""

    today: date
    grids: list = field(default_factory=list)
    party_units: list = field(default_factory=list)
    households: list = field(default_factory=list)      # each with "key"
    residents: list = field(default_factory=list)       # each with "key", "household_key"
    party_members: list = field(default_factory=list)   # each with "resident_key"
    shareholders: list = field(default_factory=list)    # each with "resident_key"
    staff: list = field(default_factory=list)           # liaisons may have "resident_key"
    organisations: list = field(default_factory=list)   # "member_keys"

    def summary(self):
        ages = [domain.age_on(_birth(r), self.today) for r in self.residents]
        floating = sum(r["residence_type"] == "floating" for r in self.residents)
        return {"grids": len(self.grids), "households": len(self.households),
                "residents": len(self.residents),
                "floating": floating, "aged_60_plus": sum(a >= 60 for a in ages),
                "party_units": len(self.party_units), "party_members": len(self.party_members),
                "shareholders": len(self.shareholders), "staff": len(self.staff),
                "organisations": len(self.organisations)}


def _birth(resident):
    return ric.get_birth_date(resident["id_number"])


@cache
def _valid_years(region):
    years = set()
    for year in range(1915, 2031):
        base = f"{region}{year}0101123"
        if ric.is_valid(base + ric.calc_check_digit(base + "0")):
            years.add(year)
    return frozenset(years)


class _People:
    """Makes people: names, valid and unique ID numbers, valid phones."""

    def __init__(self, rng, faker, today):
        self.rng, self.faker, self.today = rng, faker, today
        self.used = set()

    def id_number(self, birth, sex, local):
        pool = LOCAL_REGIONS if local else MIGRANT_REGIONS
        regions = [r for r in pool if birth.year in _valid_years(r)] or ALWAYS_VALID
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            base = f"{self.rng.choice(regions)}{birth:%Y%m%d}{sequence:03d}"
            number = base + ric.calc_check_digit(base + "0")
            if number not in self.used:
                self.used.add(number)
                return number

    def phone(self):
        while True:
            number = self.faker.phone_number()
            if phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")):
                return number

    def birth(self, age):
        latest = domain.years_before(self.today, age)
        return latest - timedelta(days=self.rng.randrange(0, 365))

    def person(self, surname, age, sex, local, residence_type, household_key, head=False):
        birth = self.birth(age)
        first = self.faker.first_name_male() if sex == "M" else self.faker.first_name_female()
        resident = {"name": surname + first, "id_number": self.id_number(birth, sex, local),
                    "household_key": household_key, "residence_type": residence_type,
                    "head_of_household": head, "tags": []}
        if age >= 14 and not (age >= 85 and self.rng.random() < 0.6):  # the very old often have none
            resident["phone"] = self.phone()
        if 18 <= age < 50 and self.rng.random() < 0.12:
            resident["email"] = self.faker.free_email()
        if residence_type == "floating":
            registered_on = self.today - timedelta(days=self.rng.randrange(1, 3 * 365))
            resident["registered_on"] = registered_on.isoformat()
            resident["expires_on"] = domain.years_before(registered_on, -1).isoformat()  # one year
        if sex == "M" and age >= 45 and self.rng.random() < 0.03:
            resident["tags"].append("veteran")
        if age >= 16 and self.rng.random() < 0.06:
            resident["tags"].append("volunteer")
        if self.rng.random() < 0.015:
            resident["tags"].append("disabled")
        return resident


def _family(people, rng, key, local):
    """The members of one household: a local family, or tenants sharing a rented room."""
    surname = people.faker.last_name()
    residence_type = "registered" if local else "floating"
    members = []

    def add(age, sex, head=False, own_surname=True):
        name = surname if own_surname else people.faker.last_name()
        members.append(people.person(name, max(0, min(age, 98)), sex, local, residence_type, key, head))

    if local:
        head_age = rng.choices([rng.randint(28, 44), rng.randint(45, 59), rng.randint(60, 90)],
                               [40, 35, 25])[0]
        head_sex = "M" if rng.random() < 0.8 else "F"
        add(head_age, head_sex, head=True)
        if rng.random() < 0.9:  # spouse
            add(head_age + rng.randint(-5, 3), "F" if head_sex == "M" else "M", own_surname=False)
        if head_age < 60:
            for _ in range(rng.choices([0, 1, 2, 3], [10, 35, 40, 15])[0]):
                add(rng.randint(0, max(0, head_age - 22)), rng.choice("MF"))
            if rng.random() < 0.32:
                add(head_age + rng.randint(24, 32), rng.choice("MF"))  # an elderly parent
        elif rng.random() < 0.35:
            add(head_age - rng.randint(24, 34), rng.choice("MF"))  # an adult child still at home
        if len(members) == 1 and head_age >= 60:
            members[0]["tags"].append("living_alone")
    else:
        head_age = rng.randint(18, 52)
        head_sex = rng.choice("MF")
        add(head_age, head_sex, head=True)
        roll = rng.random()
        if roll < 0.5:
            add(head_age + rng.randint(-4, 4), "F" if head_sex == "M" else "M", own_surname=False)
            if rng.random() < 0.5:
                add(rng.randint(0, 15), rng.choice("MF"))
        elif roll < 0.85:  # room-mates from the same hometown
            add(rng.randint(18, 45), rng.choice("MF"), own_surname=False)
    return members


def build(seed=DEFAULT_SEED, households=4000, today=None):
    """The demo community for `seed` as of `today` (community local date): same seed, same data."""
    today = today or clock.today()
    rng = random.Random(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    people = _People(rng, faker, today)
    community = Community(today=today)

    buildings_per_grid = max(2, households // 7 // 28)
    for g, name in enumerate(GRID_NAMES, start=1):
        community.grids.append({"code": f"G{g}", "name": name,
                                "buildings": [f"B{g}{b:02d}" for b in range(1, buildings_per_grid + 1)]})

    # Party organisation: committee → general branch per grid → 2 joint branches → 2 party groups each
    community.party_units.append({"code": "PC", "name": "社区党委", "level": "committee"})
    for grid in community.grids:
        general = f"{grid['code']}-GB"
        community.party_units.append({"code": general, "name": f"{grid['name']}党总支",
                                      "level": "general_branch", "parent_code": "PC",
                                      "grid_code": grid["code"]})
        for j in (1, 2):
            joint = f"{grid['code']}-JB{j}"
            community.party_units.append({"code": joint, "name": f"{grid['name']}第{j}联合党支部",
                                          "level": "joint_branch", "parent_code": general,
                                          "grid_code": grid["code"]})
            for p in (1, 2):
                community.party_units.append({"code": f"{joint}-PG{p}", "name": f"第{p}党小组",
                                              "level": "party_group", "parent_code": joint,
                                              "grid_code": grid["code"]})

    # Households: local families in their own houses (about a third rent rooms out), tenants
    # in rented rooms of a landlord household in the same building.
    owners_by_building = {}
    n_local = round(households * 0.64)
    for n in range(households):
        grid = community.grids[n % 7]
        building = rng.choice(grid["buildings"])
        unit, floor = str(rng.randint(1, 3)), rng.randint(1, 7)
        key = f"h{n}"
        if n < n_local:
            kind = "rented_out" if rng.random() < 0.35 else "owner"
            room = f"{floor}0{rng.randint(1, 4)}"
            household = {"key": key, "building": building, "unit": unit, "room": room, "kind": kind}
            if kind == "rented_out":
                owners_by_building.setdefault(building, []).append(household)
        else:
            landlords = owners_by_building.get(building) or [
                h for b in grid["buildings"] for h in owners_by_building.get(b, [])] or [
                h for hs in owners_by_building.values() for h in hs]
            landlord = rng.choice(landlords)
            household = {"key": key, "building": landlord["building"], "unit": landlord["unit"],
                         "room": f"{landlord['room']}-{rng.randint(1, 6)}", "kind": "tenant",
                         "landlord_key": landlord["key"]}
        community.households.append(household)
        for m, member in enumerate(_family(people, rng, key, local=n < n_local)):
            member["key"] = f"{key}r{m}"
            community.residents.append(member)

    def age(resident):
        return domain.age_on(_birth(resident), today)

    locals_ = [r for r in community.residents if r["residence_type"] == "registered"]
    adults = [r for r in locals_ if age(r) >= 18]
    grid_of_building = {b: g["code"] for g in community.grids for b in g["buildings"]}
    household_of = {h["key"]: h for h in community.households}
    grid_of = {key: grid_of_building[h["building"]] for key, h in household_of.items()}

    # Party members: about 6% of local adults, in a joint branch of their grid
    for resident in rng.sample(adults, k=round(len(adults) * 0.06)):
        joined = domain.years_before(_birth(resident), -rng.randint(18, max(18, min(age(resident), 40))))
        joined = min(joined, today - timedelta(days=30))
        member = {"resident_key": resident["key"], "joined_on": joined.isoformat(),
                  "branch_code": f"{grid_of[resident['household_key']]}-JB{rng.randint(1, 2)}"}
        if rng.random() < 0.25:
            member["transferred_in_on"] = (joined + timedelta(days=rng.randrange(365, 3650))).isoformat()
            if member["transferred_in_on"] > today.isoformat():
                del member["transferred_in_on"]
        community.party_members.append(member)

    # Shareholders of the cooperative: local adults, in 12 groups by building
    for resident in rng.sample(adults, k=min(SHAREHOLDERS, len(adults))):
        building = household_of[resident["household_key"]]["building"]
        group = SHARE_GROUPS[sorted(grid_of_building).index(building) % len(SHARE_GROUPS)]
        shares = rng.choices([1, 2, 3, 5, 8, 10, 15, 20], [5, 10, 20, 25, 15, 15, 6, 4])[0]
        community.shareholders.append({"resident_key": resident["key"], "group": group, "shares": shares})

    # Staff posts
    def staff(role, grid_code, resident=None):
        post = {"role": role, "grid_code": grid_code, "name": faker.name(), "phone": people.phone()}
        if resident is not None:
            post.update(name=resident["name"], phone=resident.get("phone") or people.phone(),
                        resident_key=resident["key"])
        community.staff.append(post)

    by_grid = {}
    for resident in adults:
        if age(resident) < 70:
            by_grid.setdefault(grid_of[resident["household_key"]], []).append(resident)
    for grid, liaisons in zip(community.grids, LIAISONS_PER_GRID, strict=True):
        staff("grid_worker", grid["code"])
        staff("branch_secretary", grid["code"])
        candidates = by_grid.get(grid["code"], [])
        chosen = rng.sample(candidates, k=min(liaisons, len(candidates)))  # residents of the grid
        for resident in chosen + [None] * (liaisons - len(chosen)):      # (a small demo lacks some)
            staff("liaison", grid["code"], resident)
    for role, count in (("community_office", 4), ("street_office", 2), ("police_desk", 2), ("mediator", 3)):
        for _ in range(count):
            staff(role, None)

    # Organisations
    for name, category in CO_BUILDING_UNITS:
        agreement = today - timedelta(days=rng.randrange(90, 5 * 365))
        community.organisations.append({"kind": "co_building_unit", "name": name, "category": category,
                                        "agreement_on": agreement.isoformat(), "member_keys": []})
    for name, category in SOCIAL_ORGANISATIONS:
        pool = [r for r in community.residents if age(r) >= (55 if category == "elderly_association" else 16)]
        members = [r["key"] for r in rng.sample(pool, k=min(len(pool), rng.randint(12, 40)))]
        community.organisations.append({"kind": "social_organisation", "name": name, "category": category,
                                        "member_keys": members})
    party_keys = [m["resident_key"] for m in community.party_members]
    teams = {"party_members": party_keys[:40],
             "women": [r["key"] for r in adults if int(r["id_number"][16]) % 2 == 0][:30],
             "youth": [r["key"] for r in community.residents if 18 <= age(r) <= 35][:30]}
    for name, category in VOLUNTEER_TEAMS:
        community.organisations.append({"kind": "volunteer_team", "name": name, "category": category,
                                        "member_keys": teams[category]})
    return community


# --- loading through the service ------------------------------------------------------------

def _batches(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def load(registry, community, batch_size=500, in_flight=1, log=print, progress=None):
    """Load `community` through `registry` (an RPC proxy). Returns the counts and seconds.
    `progress(n)` is told of every n items loaded (see `size`)."""
    started = time.monotonic()

    def batch_progress(result):  # a bulk import answers with the new ids, others with a count
        if progress:
            progress(len(result) if isinstance(result, list) else result)

    def one_done(_result):
        if progress:
            progress(1)

    def imported(method, payloads):
        # On SecantusDB concurrent bulk inserts into one collection meet write conflicts (rerun,
        # but the reruns cost more than the overlap gains): `in_flight=1` is the default there.
        return each(method, payloads, in_flight, batch_progress)

    if registry.has_residents():
        log("the register already holds residents: the demo community is not loaded again")
        return None
    for grid in community.grids:
        registry.define_grid(grid)
    for unit in community.party_units:
        registry.define_party_unit(unit)

    household_ids = {}
    landlords = [h for h in community.households if h["kind"] != "tenant"]
    tenants = [h for h in community.households if h["kind"] == "tenant"]
    for group in (landlords, tenants):  # tenants name their landlord's household id
        payloads = [[{k: v for k, v in h.items() if k not in ("key", "landlord_key")}
                     | ({"landlord_household_id": household_ids[h["landlord_key"]]}
                        if "landlord_key" in h else {})
                     for h in batch] for batch in _batches(group, batch_size)]
        ids = [i for batch in imported(registry.import_households, payloads)
               for i in batch]
        household_ids.update(zip([h["key"] for h in group], ids, strict=True))

    payloads = [[{k: v for k, v in r.items() if k not in ("key", "household_key")}
                 | {"household_id": household_ids[r["household_key"]]} for r in batch]
                for batch in _batches(community.residents, batch_size)]
    ids = [i for batch in imported(registry.import_residents, payloads) for i in batch]
    resident_ids = dict(zip([r["key"] for r in community.residents], ids, strict=True))

    def by_resident(items):
        return [[{k: v for k, v in item.items() if k != "resident_key"}
                 | {"resident_id": resident_ids[item["resident_key"]]} for item in batch]
                for batch in _batches(items, batch_size)]

    imported(registry.import_party_members, by_resident(community.party_members))
    imported(registry.import_shareholders, by_resident(community.shareholders))
    # posts and organisations are independent of each other: their calls overlap (one at a time,
    # 93 posts took 60-90 s under make run's load)
    each(registry.assign_grid_staff, [{k: v for k, v in post.items() if k != "resident_key"}
                                      | ({"resident_id": resident_ids[post["resident_key"]]}
                                         if "resident_key" in post else {})
                                      for post in community.staff], progress=one_done)
    each(registry.register_organisation, [{k: v for k, v in org.items() if k != "member_keys"}
                                          | {"members": [resident_ids[k] for k in org["member_keys"]]}
                                          for org in community.organisations], progress=one_done)
    seconds = time.monotonic() - started
    counts = registry.stats()
    log(f"loaded in {seconds:.1f} s: {counts}")
    return {"seconds": seconds, **counts}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help="load into the running platform")
    parser.add_argument("--summary", action="store_true", help="print what the generator builds")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--households", type=int, default=4000)
    args = parser.parse_args(argv)
    if not (args.load or args.summary):
        parser.error("say --load or --summary")

    started = time.monotonic()
    community = build(args.seed, args.households)
    print(f"generated in {time.monotonic() - started:.1f} s: {community.summary()}")
    if args.load:
        import eventlet

        eventlet.monkey_patch()
        # a standalone client closing its channel while the broker still answers logs a warning
        # ("Received method (60, 80) during closing channel"): harmless, and not for the console
        logging.getLogger("amqp").setLevel(logging.ERROR)
        from nameko.standalone.rpc import ClusterRpcProxy

        config = client_config()
        with ClusterRpcProxy(config, timeout=300, context_data={"actor": LOADER}) as cluster, \
                progress_bar() as bar:
            task = bar.add_task("loading the demo community", total=size(community))
            load(cluster.registry, community, log=bar.console.print,
                 progress=lambda n: bar.advance(task, n))
    return 0


def size(community):
    """How many items `load` reports progress on."""
    return sum(len(items) for items in (community.households, community.residents, community.party_members,
                                        community.shareholders, community.staff, community.organisations))


def progress_bar():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[run] {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn())


if __name__ == "__main__":
    sys.exit(main())
