"""`make run`'s demo data, each part through its own service's RPCs, with a progress bar each:
the collective economy (finance) from the start, beside the community (registry), since only its
dividend run needs the community's shareholders (it waits for them); the night market (market)
once the community is in, since its vendors are residents; then the console's demo accounts
(gateway), whose passwords are printed once.

    python -m deploy.demo          # into the running platform; a part already loaded is left alone

Each part can still be loaded alone: `python -m services.<registry|market|finance|gateway>.demo --load`.
"""

import eventlet

eventlet.monkey_patch()  # before nameko's clients make their sockets

import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.finance import demo as finance_demo  # noqa: E402
from services.gateway import demo as gateway_demo  # noqa: E402
from services.market import demo as market_demo  # noqa: E402
from services.registry import demo as registry_demo  # noqa: E402
from shared import clock  # noqa: E402
from shared.loading import client_config  # noqa: E402


def with_bar(bar, description, total, load):
    """`load(progress)` with a bar of its own; a part loaded before (`load` returns None) fills
    its bar at once."""
    task = bar.add_task(description, total=total)
    if load(lambda n: bar.advance(task, n)) is None:
        bar.update(task, completed=total, description=f"{description}: loaded before")


def say(bar, part):
    """A part's log lines, above the bars (as plain text: rich would read "[...]" as markup)."""
    return lambda line: bar.console.print(f"[run] {part}: {line}", markup=False, highlight=False)


def load_community(bar):
    community = registry_demo.build()
    with ClusterRpcProxy(client_config(), timeout=300,
                         context_data={"actor": registry_demo.LOADER}) as cluster:
        with_bar(bar, "the community (registry)", registry_demo.size(community), lambda progress:
                 registry_demo.load(cluster.registry, community, log=say(bar, "community"),
                                    progress=progress))


def load_market(bar):
    market = market_demo.build()
    with market_demo.Clients(client_config()) as cluster_for:
        with_bar(bar, "the night market (market)", market_demo.size(market), lambda progress:
                 market_demo.load(cluster_for, market, log=say(bar, "night market"), progress=progress))


def load_economy(bar):
    today = clock.today()
    with ClusterRpcProxy(client_config(), timeout=600,
                         context_data={"actor": finance_demo.OFFICER}) as cluster:
        with_bar(bar, "the economy (finance)", finance_demo.size(today), lambda progress:
                 finance_demo.load(cluster.finance, today, log=say(bar, "economy"), progress=progress))


def main():
    # a standalone client closing its channel while the broker still answers logs a warning
    # ("Received method (60, 80) during closing channel"): harmless, and not for the console
    logging.getLogger("amqp").setLevel(logging.ERROR)
    started = time.monotonic()
    with registry_demo.progress_bar() as bar:
        economy = eventlet.spawn(load_economy, bar)  # its property and income need no community
        load_community(bar)
        market = eventlet.spawn(load_market, bar)  # its resident vendors do
        for part in (economy, market):
            part.wait()  # raises what the part raised
    gateway_demo.main(["--load"])
    print(f"[run] demo data loaded in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
