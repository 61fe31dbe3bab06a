"""`secantusd-py` with one more flag, for tests' private servers:

    python -m tests.dbserver --transaction-lifetime-seconds 10 --port ... (secantusd-py's flags)

A process killed mid-transaction leaves its transaction open on the server until the transaction
lifetime ends (60 s, mongod's transactionLifetimeLimitSeconds); what it was writing stays locked
meanwhile. Tests of recovery from such a kill wait that out, and the minute is mostly idle. The
server takes a lifetime, its command line does not: this passes one through."""

import argparse
import functools
import sys

from secantus import cli
from secantus.server import SecantusDBServer


def main(argv=None):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--transaction-lifetime-seconds", type=float, default=60.0)
    ours, rest = parser.parse_known_args(argv)
    cli.SecantusDBServer = functools.partial(
        SecantusDBServer, transaction_lifetime_seconds=ours.transaction_lifetime_seconds)
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
