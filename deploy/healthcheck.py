"""Container and `make run` health check: ask a service for its `health()` over RPC.

    python -m deploy.healthcheck registry [--timeout 5]

Exit 0 when the service answers and reaches both broker and database (a non-empty DLQ is
reported but does not make the container unhealthy: it is work for an operator, not a crash).
"""

import argparse
import json
import logging
import os
import sys

import eventlet

eventlet.monkey_patch()

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402


def check(service, timeout):
    config = {"AMQP_URI": os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")}
    # Asked as the operator: a service with an access policy refuses a call without an actor.
    actor = {"id": "healthcheck", "role": "operator"}
    with ClusterRpcProxy(config, timeout=timeout, context_data={"actor": actor}) as cluster:
        return getattr(cluster, service).health()


def main(argv=None):
    logging.getLogger("amqp").setLevel(logging.ERROR)  # "Received method ... during closing channel"
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("--timeout", type=float, default=5)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
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
