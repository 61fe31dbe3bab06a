"""Tests on the local three-node RabbitMQ cluster (deploy/local/cluster.sh), run by
`make cluster-test`; skipped in `make test`, which has one shared broker."""

import base64
import json
import os
import subprocess
import urllib.request
import uuid

import pytest

from tests.support import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "deploy", "local", "cluster.sh")
NODES = (1, 2, 3)


def management(node, method, path, body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{15680 + node}/api{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def cluster_uri(vhost, nodes=NODES):
    return ";".join(f"pyamqp://guest:guest@127.0.0.1:{5680 + n}/{vhost}" for n in nodes)


@pytest.fixture(scope="session")
def cluster():
    if not os.environ.get("CLUSTER_TEST"):
        pytest.skip("needs the local RabbitMQ cluster: make cluster-test")
    subprocess.run([CLUSTER, "up"], check=True)
    yield
    subprocess.run([CLUSTER, "up"], check=True)  # a test may have killed a node: bring it back


@pytest.fixture
def cluster_vhost(cluster):
    """A vhost of its own on the cluster (created through the management API of a live node)."""
    vhost = f"scale-{uuid.uuid4().hex[:8]}"
    management(2, "PUT", f"/vhosts/{vhost}")
    management(2, "PUT", f"/permissions/{vhost}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    wait_until(lambda: set(management(2, "GET", f"/vhosts/{vhost}").get("cluster_state", {}).values())
               == {"running"}, timeout=30, message="the vhost running on every node")
    yield vhost
    for node in (2, 3, 1):
        try:
            management(node, "DELETE", f"/vhosts/{vhost}")
            break
        except OSError:
            continue


@pytest.fixture
def cluster_config(cluster_vhost, db_prefix):
    from tests.conftest import MONGO_URI

    return {
        "AMQP_URI": cluster_uri(cluster_vhost),
        "QUEUE_TYPE": "quorum",
        "MONGO_URI": MONGO_URI,
        "MONGO_DB_PREFIX": db_prefix,
        "EVENT_RETRY": {"schedule_ms": [200, 500, 1000, 2000, 5000]},
        "OUTBOX_POLL_SECONDS": 0.2,
        "max_workers": 10,
    }


def kill_node(node):
    subprocess.run([CLUSTER, "kill", str(node)], check=True)
