"""The gateway in front of the real services, on real RabbitMQ and the database server, reached
over real HTTP on a free loopback port.

`accounts` creates accounts straight in the gateway's database (as `make run`'s demo loader does)
and `client(role, ...)` logs in over HTTP and returns a client carrying the token. `community`
builds two grids with a resident in each through the gateway as the community admin."""

import itertools
from datetime import date

import pytest
import requests
from pymongo import MongoClient

from services.finance.service import FinanceService
from services.gateway import use_cases
from services.gateway.service import GatewayService
from services.grid_events.service import GridEventsService
from services.market.service import MarketService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService

PASSWORD = "correct horse battery"
_ids = itertools.count(1)


def id_number(birth=date(1980, 5, 17), district="110105"):
    from stdnum.cn import ric

    body = f"{district}{birth:%Y%m%d}{next(_ids) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class Client:
    """requests against the gateway; `token` is sent as a bearer token when set."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token
        self.session = requests.Session()

    def request(self, method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.session.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def ok(self, method, path, **kw):
        response = self.request(method, path, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()


@pytest.fixture
def gateway_config(config, web_config):
    return {**config, **web_config,
            "GATEWAY": {"secret": "test-only-secret-" + "x" * 32,
                        "argon2": {"time_cost": 1, "memory_kib": 8192},
                        "lockout": {"attempts": 3, "minutes": 15}, "token_ttl_seconds": 3600},
            "MARKET": {"zone_grids": {"A": "G1", "B": "G2"}, "adoption_quorum": 0.5,
                       "adoption_majority": 0.5}}


@pytest.fixture
def platform(runner_factory, gateway_config):
    runner = runner_factory(gateway_config, GatewayService, RegistryService, GridEventsService,
                            NotificationsService, FinanceService, MarketService)
    runner.start()
    return runner


@pytest.fixture
def base_url(platform, web_config_port):
    return f"http://127.0.0.1:{web_config_port}"


@pytest.fixture
def anonymous(base_url):
    return Client(base_url)


@pytest.fixture
def gateway_db(gateway_config):
    client = MongoClient(gateway_config["MONGO_URI"], tz_aware=True)
    yield client[f"{gateway_config['MONGO_DB_PREFIX']}gateway"]
    client.close()


@pytest.fixture
def accounts(gateway_db):
    passwords = use_cases.Passwords(time_cost=1, memory_kib=8192)
    from shared import clock

    def create(username, role, **extra):
        return use_cases.create_account(gateway_db, passwords, {"username": username, "password": PASSWORD,
                                                                "role": role, **extra}, clock.now())

    return create


@pytest.fixture
def client(base_url, accounts):
    """`client("grid_worker", grid="G1")`: a new account of that role, logged in over HTTP."""
    def login(role, username=None, **extra):
        username = username or f"{role.replace('_', '-')}-{next(_ids)}"
        accounts(username, role, **extra)
        response = requests.post(base_url + "/v1/auth/login", timeout=30,
                                 json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return Client(base_url, response.json()["token"])

    return login


class Community:
    """Two grids (G1, G2), a grid worker post in each, a household and a resident in each."""

    def __init__(self, admin):
        self.admin = admin
        admin.ok("PUT", "/v1/grids/G1", json={"name": "阳光一格", "buildings": ["B1"]})
        admin.ok("PUT", "/v1/grids/G2", json={"name": "阳光二格", "buildings": ["B2"]})
        self.worker = {g: admin.ok("POST", "/v1/staff", json={
            "grid_code": g, "role": "grid_worker", "name": f"{g}网格员",
            "phone": f"1380013{next(_ids):04d}"})["staff_id"] for g in ("G1", "G2")}
        self.household = {g: admin.ok("POST", "/v1/households", json={
            "building": b, "unit": "1", "room": "101", "kind": "owner"})["household_id"]
            for g, b in (("G1", "B1"), ("G2", "B2"))}
        self.resident = {g: self.add_resident(g, f"{g}居民") for g in ("G1", "G2")}

    def add_resident(self, grid, name):
        return self.admin.ok("POST", "/v1/residents", json={
            "name": name, "id_number": id_number(), "phone": f"1390013{next(_ids):04d}",
            "household_id": self.household[grid], "residence_type": "registered"})["resident_id"]


@pytest.fixture
def admin(client):
    return client("community_admin")


@pytest.fixture
def community(admin):
    return Community(admin)
