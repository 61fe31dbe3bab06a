"""`nameko run services.<name>.service` (make run, the Dockerfile, the k8s manifests) runs every
class with entrypoints it finds in the module: each module must hold exactly its own service."""

import pathlib

import pytest
from nameko.cli.run import import_service

SERVICES = sorted(p.parent.name for p in pathlib.Path("services").glob("*/service.py"))


def test_every_service_is_found():
    assert {"registry", "grid_events", "notifications", "market", "finance", "gateway"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_nameko_run_finds_exactly_the_service(service):
    found = import_service(f"services.{service}.service")
    assert [cls.name for cls in found] == [service]
