"""What the benchmarks share: a throwaway database server of their own.

Figures taken on a server that other work is using are blurred by it, and dropping a benchmark's
databases afterwards was seen to wedge SecantusDB (its dropDatabase can spin holding the global
lock); a private server in a temporary folder is simply stopped and deleted.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from pymongo import MongoClient


def private_server(tag, *options):
    """Start a SecantusDB on a free loopback port (with extra command-line `options`, such as
    `--sync-on-commit`); return (mongo_uri, stop)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = tempfile.mkdtemp(prefix=f"bench-{tag}-db-")
    server = subprocess.Popen([str(Path(sys.executable).parent / "secantusd-py"), "--host", "127.0.0.1",
                               "--port", str(port), "--storage-path", storage, "--log-level", "WARNING",
                               *options],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    client = MongoClient(uri, serverSelectionTimeoutMS=30000)
    client.admin.command("ping")
    client.close()

    def stop():
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(storage, ignore_errors=True)

    return uri, stop
