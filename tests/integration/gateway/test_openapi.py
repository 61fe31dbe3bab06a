"""The API document against the live gateway: schemathesis over every operation (no 5xx, status
codes, content types and bodies as documented), and the human page.

Runs the schemathesis CLI in a real thread (eventlet's tpool) so the in-process gateway keeps
serving. Examples per operation are few (SCHEMATHESIS_EXAMPLES, default 1): this is a smoke
run of every operation in make test (about 20-40 s here), not a long fuzzing campaign; run
`st run` by hand with more for that."""

import os
import subprocess

import eventlet.tpool

from tests.integration.gateway.conftest import Client
from tests.support import wait_until

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "1")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_every_operation_answers_as_documented(base_url, admin, community, tmp_path):
    admin.ok("POST", "/v1/incidents", json={"category": "noise", "description": "夜间噪音",
                                            "grid_code": "G1"})
    result = eventlet.tpool.execute(subprocess.run, [
        os.path.abspath(".venv/bin/st"), "run", f"{base_url}/openapi.json",
        "-H", f"Authorization: Bearer {admin.token}",
        "--checks", CHECKS, "--max-examples", EXAMPLES, "--phases", "examples,fuzzing", "--workers", "2",
        "--seed", "20261127", "--generation-database", "none", "--no-color", "--request-timeout", "30",
        # logging out or deactivating the only token mid-run would turn the rest into 401s
        "--exclude-path-regex", "/v1/auth/logout|/deactivate$|/password$"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache stays out of the repo
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested:" in result.stdout


def test_the_document_lists_every_route_and_the_page_renders_it(anonymous):
    from services.gateway.routes import ROUTES

    doc = anonymous.ok("GET", "/openapi.json")
    assert doc["openapi"].startswith("3.")
    operations = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    for route in ROUTES:
        path = route.path.replace("<", "{").replace(">", "}")
        assert (route.method, path) in operations
    page = anonymous.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "/v1/incidents/{incident_id}/dispatch" in page.text and "<script" not in page.text
    assert "http://" not in page.text.replace("http://127.0.0.1", "") and "https://" not in page.text


def test_metrics_count_requests_and_read_queues_and_service_health(anonymous, admin, community):
    admin.get("/v1/no-such-thing")
    text = Client(anonymous.base).get("/metrics").text
    assert 'gateway_http_requests_total{method="PUT",route="/v1/grids/<grid_code>",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert 'service_up{service="registry"} 1.0' in text
    assert 'service_outbox_backlog{service="grid_events"}' in text
    assert 'service_dlq_depth{service="notifications"} 0.0' in text
    # the management API refreshes its consumer counts every few seconds: wait for the first one
    wait_until(lambda: 'rabbitmq_queue_consumers{queue="rpc-registry"} 1.0'
               in Client(anonymous.base).get("/metrics").text, timeout=30)
