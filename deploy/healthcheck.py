"""Container and `make run` health check: ask a service for its `health()` over RPC.

    python -m deploy.healthcheck registry [--timeout 5]
    python -m deploy.healthcheck registry --file /tmp/health.json [--alive] [--max-age 60]

The second form is for Kubernetes probes: it reads the report this pod's own process writes
(HEALTH_FILE, shared/health.py) instead of asking over RPC, which any instance may answer.
`--alive` (liveness) only asks that the report be fresh: the process runs; readiness also asks
that the broker and the database answer.

Exit 0 when the service answers and reaches both broker and database (a non-empty DLQ is
reported but does not make the container unhealthy: it is work for an operator, not a crash).
"""

import argparse
import json
import logging
import os
import sys
import time

import eventlet

eventlet.monkey_patch()

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

import shared  # noqa: E402,F401 -- stamps the AMQP user_id the service checks (shared/amqp.py)
from shared.access import system_actor  # noqa: E402
from shared.amqp import connection_user  # noqa: E402


def check(service, timeout):
    config = {"AMQP_URI": os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")}
    # Asked as the system actor of the account it connects as: in a service's container, that
    # service's own (a service account may present no other actor; accounts are named
    # `<AMQP_ACCOUNT_PREFIX><service>`); locally guest, a tooling account (AMQP_TOOL_USERS). A call
    # without an actor would be refused.
    user, prefix = connection_user(config["AMQP_URI"]), os.environ.get("AMQP_ACCOUNT_PREFIX", "")
    actor = system_actor(user[len(prefix):] if prefix and user.startswith(prefix) else user)
    with ClusterRpcProxy(config, timeout=timeout, context_data={"actor": actor}) as cluster:
        return getattr(cluster, service).health()


def read_report(path, max_age):
    """The report the service wrote, or None when missing or older than `max_age` seconds."""
    try:
        if time.time() - os.stat(path).st_mtime > max_age:
            return None
        with open(path) as report:
            return json.load(report)
    except (OSError, ValueError):
        return None


def main(argv=None):
    logging.getLogger("amqp").setLevel(logging.ERROR)  # "Received method ... during closing channel"
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("--timeout", type=float, default=5)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--file", help="read this pod's own report instead of asking over RPC")
    parser.add_argument("--max-age", type=float, default=60)
    parser.add_argument("--alive", action="store_true", help="with --file: fresh is enough")
    args = parser.parse_args(argv)
    if args.file:
        report = read_report(args.file, args.max_age)
        if report is None:
            if not args.quiet:
                print(f"{args.service}: no fresh report in {args.file}", file=sys.stderr)
            return 1
        if args.alive:
            return 0
    else:
        try:
            report = check(args.service, args.timeout)
        except Exception as exc:
            if not args.quiet:
                print(f"{args.service}: no answer ({exc.__class__.__name__})", file=sys.stderr)
            return 1
    if not args.quiet:
        print(json.dumps(report, ensure_ascii=False))
    return 0 if report.get("broker") and report.get("database") else 1


if __name__ == "__main__":
    sys.exit(main())
