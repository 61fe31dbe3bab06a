"""The fault suite's own infrastructure: a private RabbitMQ node, a private database server and
real `nameko run` service processes, each of which the suite can kill, stop, pause and restart.
Never the shared broker (5672) or a `make run` database."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NODE = "faults@localhost"
AMQP_PORT, MGMT_PORT, DIST_PORT = 5673, 15673, 25673


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


class PrivateBroker:
    """A RabbitMQ node of its own, its files under `base`: faults@localhost on 5673 (dist 25673)
    for `make faults`; `fixed_ports=False` picks a node name and free ports, so that parallel
    `make test` runs do not collide."""

    def __init__(self, base, fixed_ports=True):
        self.base = Path(base)
        if fixed_ports:
            self.node, self.port, self.dist_port, self.mgmt_port = NODE, AMQP_PORT, DIST_PORT, MGMT_PORT
        else:
            self.node = f"faults{os.getpid()}@localhost"
            self.port, self.dist_port, self.mgmt_port = free_port(), free_port(), free_port()
        self.uri = f"pyamqp://guest:guest@127.0.0.1:{self.port}/"
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"), "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
        }

    def ctl(self, *args, timeout=60):
        subprocess.run(["rabbitmqctl", "-q", "-n", self.node, *args], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)

    def start(self):
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: is another fault run going on?")
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")  # no management: faster, not needed
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
            f"management.tcp.port = {self.mgmt_port}\nmanagement.tcp.ip = 127.0.0.1\n")
        if os.geteuid() == 0:  # Debian's scripts run the node as the `rabbitmq` user
            for path in (self.base, *self.base.iterdir()):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: (self.base / "rabbit.pid").exists(), 30, "the broker's pid file")
        self.ctl("await_startup", timeout=120)

    @property
    def pid(self):
        return int((self.base / "rabbit.pid").read_text().strip())

    def stop_app(self):
        self.ctl("stop_app")

    def start_app(self):
        self.ctl("start_app")

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def stop(self):
        try:
            self.resume()
        except (OSError, ValueError):
            pass
        try:
            self.ctl("stop", timeout=60)
        except (subprocess.SubprocessError, OSError):
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass


class PrivateDatabase:
    """A SecantusDB server of its own (with sync on commit, as `make run` starts it).
    `transaction_lifetime`: seconds a killed client's open transaction lives on (tests/dbserver.py)."""

    def __init__(self, base, transaction_lifetime=60.0):
        self.dir = Path(base)
        self.transaction_lifetime = transaction_lifetime
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"
        self.process = None

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        log = open(self.dir.parent / "database.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.dbserver", "--host", "127.0.0.1", "--port", str(self.port),
             "--transaction-lifetime-seconds", str(self.transaction_lifetime),
             "--storage-path", str(self.dir), "--sync-on-commit", "--log-level", "WARNING"],
            cwd=ROOT, stdout=log, stderr=log)
        wait_for(lambda: port_open(self.port), 60, "the database server")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class ServiceProcess:
    """One `nameko run` instance of a service, configured by deploy/nameko.yaml + environment."""

    def __init__(self, service, instance, env, log_dir, config=ROOT / "deploy" / "nameko.yaml"):
        self.service, self.instance = service, instance
        self.config = config
        self.env = env
        self.log_path = Path(log_dir) / f"{service}-{instance}.log"
        self.process = None
        self.killed_by_us = False

    @property
    def name(self):
        return f"{self.service}#{self.instance}"

    def start(self):
        self.killed_by_us = False
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(self.config),
             f"services.{self.service}.service"],
            cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        self.killed_by_us = True
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.alive():
            self.killed_by_us = True
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
