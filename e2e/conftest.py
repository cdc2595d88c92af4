"""The whole system as real processes: per service a fresh database, its migrations, a gunicorn
web server and a ``consume_saga`` worker, on private topics of the running Kafka, every span
sent to the running Zipkin."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from saga_client import Services, add_stock
from topology import SERVICES as TOPOLOGY

ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(TOPOLOGY)
#: The password of the run's users (e2e-customer, e2e-staff), for tests that log in.
PASSWORD = "e2e-password"
ZIPKIN_ENDPOINT = os.environ.get("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans")
ZIPKIN_URL = os.environ.get("ZIPKIN_URL", ZIPKIN_ENDPOINT.removesuffix("/api/v2/spans"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready; log:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


Scrape = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Scrape:
    """Every sample of the /metrics endpoint at ``url``, by (name, labels)."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@dataclass
class Service:
    name: str
    url: str
    worker_url: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # by role
    logs: dict[str, Path] = field(default_factory=dict)  # by role: web, worker

    def start(self, role: str) -> None:
        """Start the service's web server or worker, its output appended to its log; see
        :meth:`wait_ready`."""
        with self.logs[role].open("a") as output:
            self.processes[role] = subprocess.Popen(
                COMMANDS[role](self),
                cwd=ROOT / TOPOLOGY[self.name].project,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, role: str) -> None:
        url = self.url if role == "web" else self.worker_url
        wait_until_ready(f"{url}/health/ready", self.processes[role], self.logs[role])

    def records_handled(self, topic: str) -> float:
        """How many records of the contract topic ``topic`` this service's worker process has
        applied (its ``saga_records_total`` counter: it starts at 0 with each process)."""
        wanted = {"topic": self.env["SAGA_TOPIC_PREFIX"] + topic, "outcome": "handled"}
        return scrape(self.worker_url).get(("saga_records_total", frozenset(wanted.items())), 0.0)

    def stop(self, role: str) -> None:
        process = self.processes[role]
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class System:
    services: dict[str, Service]
    logs: Path
    zipkin_url: str
    tokens: dict[str, str]  # API token by role: customer, staff

    def url(self, service: str, path: str) -> str:
        return self.services[service].url + path

    @contextlib.contextmanager
    def stopped_worker(self, service: str):
        """The service's worker stopped (cleanly) inside the block, started again after it."""
        self.services[service].stop("worker")
        try:
            yield
        finally:
            self.services[service].start("worker")
            self.services[service].wait_ready("worker")


#: The command of each role of a service.
COMMANDS = {
    "web": lambda svc: [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        svc.url.removeprefix("http://"),
        "--workers",
        "1",
        "--threads",
        "8",
        "--access-logfile",
        "-",
    ],
    "worker": lambda svc: [sys.executable, "manage.py", "consume_saga"],
}


def _server_of(service: str) -> dict:
    """How to reach PostgreSQL as the service's own role of the local infrastructure
    (tools/infra.sh), or, where DATABASE_URL names a server (testcontainers), as its user."""
    given = urlsplit(os.environ.get("DATABASE_URL", ""))
    if given.hostname:
        return {
            "user": unquote(given.username or ""),
            "password": unquote(given.password or ""),
            "host": given.hostname,
            "port": given.port or 5432,
        }
    return {"user": service, "password": service, "host": "localhost", "port": 5432}


def _admin(service: str, sql: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server_of(service)) as admin:
        admin.execute(sql)


def create_database(service: str, name: str) -> str:
    """A new database of this run for the service; returns its URL."""
    _admin(service, f'CREATE DATABASE "{name}"')
    server = _server_of(service)
    credentials = f"{quote(server['user'])}:{quote(server['password'])}"
    return f"postgres://{credentials}@{server['host']}:{server['port']}/{name}"


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> System:
    logs = tmp_path_factory.mktemp("logs")
    run = uuid.uuid4().hex[:8]
    common = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "SAGA_TOPIC_PREFIX": f"e2e-{run}-",
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        "TRACING_ENABLED": "true",
        "TRACING_SAMPLE_RATIO": "1.0",
        "ZIPKIN_ENDPOINT": ZIPKIN_ENDPOINT,
        # Spans leave in batches every 5 s by default; the tests wait for them.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "PYTHONUNBUFFERED": "1",
        # Short enough for a test to wait out (test_deadlines.py), long enough that no other
        # saga here comes near it.
        "SAGA_DEADLINE_SECONDS": "12",
    }
    services: dict[str, Service] = {}
    for name in SERVICES:
        web_port, worker_port = free_port(), free_port()
        env = common | {
            # Named for the run, so that two runs (two checkouts) never share a database.
            "DATABASE_URL": create_database(name, f"e2e_{run}_{name}"),
            "SAGA_CONSUMER_GROUP": f"e2e-{run}-{name}",
            "SAGA_WORKER_PORT": str(worker_port),
        }
        services[name] = Service(
            name, f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{worker_port}", env
        )
    managed = [
        (svc, ROOT / TOPOLOGY[svc.name].project, logs / f"{svc.name}") for svc in services.values()
    ]
    # One customer and one staff user, each with the same token in all four services.
    tokens = {"customer": secrets.token_hex(20), "staff": secrets.token_hex(20)}
    for svc, directory, _ in managed:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=directory,
            env=svc.env,
            check=True,
        )
        for role, token in tokens.items():
            subprocess.run(
                [sys.executable, "manage.py", "create_api_user", f"e2e-{role}", "--token", token]
                + (["--staff"] if role == "staff" else []),
                cwd=directory,
                env=svc.env | {"DJANGO_API_USER_PASSWORD": PASSWORD},
                check=True,
                stdout=subprocess.DEVNULL,
            )
    subprocess.run(
        [sys.executable, "manage.py", "create_topics"],
        cwd=managed[0][1],
        env=managed[0][0].env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        for svc, _, log in managed:
            for role in COMMANDS:
                svc.logs[role] = Path(f"{log}-{role}.log")
                svc.start(role)
        for svc in services.values():
            for role in COMMANDS:
                svc.wait_ready(role)
        yield System(services, logs, ZIPKIN_URL, tokens)
    finally:
        for svc in services.values():
            for process in svc.processes.values():
                process.send_signal(signal.SIGTERM)
        for svc in services.values():
            for process in svc.processes.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        for name in services:
            _admin(name, f'DROP DATABASE IF EXISTS "e2e_{run}_{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def services(system) -> Services:
    """Clients' view of the system: the four services' base URLs."""
    return Services(
        **{name: service.url for name, service in system.services.items()},
        token=system.tokens["customer"],
        staff_token=system.tokens["staff"],
    )


@pytest.fixture
def sku(services) -> str:
    """A new SKU with 100 units in stock."""
    sku = f"E2E-{uuid.uuid4().hex[:8]}"
    add_stock(services, sku, 100)
    return sku
