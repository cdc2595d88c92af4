"""The whole system as real processes, started the way people start it: ``tools/system.sh
start``, as a system of its own on the running infrastructure (its own databases, topics,
consumer groups and ports; ``SAGA_SYSTEM_NAME``), with this tox env's Python, tracing every saga
into the running Zipkin."""

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from saga_client import Services, add_stock
from saga_runtime.topics import delete_topics
from topology import SERVICES as TOPOLOGY

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_SH = ROOT / "tools" / "system.sh"
SERVICES = tuple(TOPOLOGY)
#: The local users tools/system.sh creates in every service (username, password) by role.
USERS = {"customer": ("demo", "demo"), "staff": ("admin", "admin")}
ZIPKIN_ENDPOINT = os.environ.get("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans")
ZIPKIN_URL = os.environ.get("ZIPKIN_URL", ZIPKIN_ENDPOINT.removesuffix("/api/v2/spans"))


def port_offset() -> int:
    """A SAGA_PORT_OFFSET under which every web and worker port of the topology is free (below
    the kernel's ephemeral range, so no client connection takes one meanwhile)."""
    ports = [p for svc in TOPOLOGY.values() for p in (svc.web_port, svc.worker_port)]
    for _ in range(100):
        offset = random.randrange(10_000, 32_000 - max(ports))
        if all(free(port + offset) for port in ports):
            return offset
    raise RuntimeError("no free block of ports for the e2e system")


def free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_ready(url: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready; log:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def system_sh(command: str, *args: str, env: dict[str, str]) -> None:
    """``bash tools/system.sh COMMAND ARGS`` for the e2e system; its output shown if it fails."""
    done = subprocess.run(
        ["bash", str(SYSTEM_SH), command, *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise AssertionError(f"system.sh {command} failed:\n{done.stdout}{done.stderr}")


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
    topic_prefix: str
    logs: dict[str, Path]  # by role: web, worker

    def records_handled(self, topic: str) -> float:
        """How many records of the contract topic ``topic`` this service's worker process has
        applied (its ``saga_records_total`` counter: it starts at 0 with each process)."""
        wanted = {"topic": self.topic_prefix + topic, "outcome": "handled"}
        return scrape(self.worker_url).get(("saga_records_total", frozenset(wanted.items())), 0.0)


@dataclass
class System:
    services: dict[str, Service]
    env: dict[str, str]  # what tools/system.sh runs with
    zipkin_url: str
    tokens: dict[str, str]  # API token by role: customer, staff

    def url(self, service: str, path: str) -> str:
        return self.services[service].url + path

    @contextlib.contextmanager
    def stopped_worker(self, service: str):
        """The service's worker stopped (cleanly: ``system.sh stop``) inside the block, started
        again after it (``system.sh revive``)."""
        system_sh("stop", f"{service}-worker", env=self.env)
        try:
            yield
        finally:
            system_sh("revive", env=self.env)
            svc = self.services[service]
            wait_until_ready(f"{svc.worker_url}/health/ready", svc.logs["worker"])


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


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> System:
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    directory = tmp_path_factory.mktemp("system")
    offset = port_offset()
    env = (
        os.environ
        | {
            "SAGA_SYSTEM_NAME": name,
            "SAGA_SYSTEM_DIR": str(directory),
            "SAGA_PORT_OFFSET": str(offset),
            "SAGA_VENV": sys.prefix,
            "SAGA_WORKERS": "1",
            "SAGA_TOPIC_PREFIX": f"{name}-",
            "GUNICORN_WORKERS": "2",  # as production: /metrics adds up both processes
            "GUNICORN_THREADS": "8",
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "KAFKA_BOOTSTRAP_SERVERS": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
            "ZIPKIN_ENDPOINT": ZIPKIN_ENDPOINT,
            "TRACING_ENABLED": "true",
            "TRACING_SAMPLE_RATIO": "1.0",
            # Spans leave in batches every 5 s by default; the tests wait for them.
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "PYTHONUNBUFFERED": "1",
            # Short enough for a test to wait out (test_deadlines.py), long enough that no other
            # saga here comes near it.
            "SAGA_DEADLINE_SECONDS": "12",
        }
        | _server()
    )
    services = {
        svc.name: Service(
            svc.name,
            f"http://127.0.0.1:{svc.web_port + offset}",
            f"http://127.0.0.1:{svc.worker_port + offset}",
            env["SAGA_TOPIC_PREFIX"],
            {role: directory / "logs" / f"{svc.name}-{role}.log" for role in ("web", "worker")},
        )
        for svc in TOPOLOGY.values()
    }
    try:
        system_sh("start", env=env)
        tokens = json.loads((directory / "api-tokens.json").read_text())
        yield System(
            services,
            env,
            ZIPKIN_URL,
            {role: tokens[username] for role, (username, _) in USERS.items()},
        )
    finally:
        system_sh("stop", env=env)
        _drop_databases(name, env)
        delete_topics(env["KAFKA_BOOTSTRAP_SERVERS"], env["SAGA_TOPIC_PREFIX"])


def _server() -> dict[str, str]:
    """Where DATABASE_URL names a server (testcontainers), its address and user for
    tools/system.sh; otherwise nothing, and each service uses its own role of tools/infra.sh."""
    given = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not given.hostname:
        return {}
    return {
        "PGHOST": given.hostname,
        "PGPORT": str(given.port or 5432),
        "PGUSER": unquote(given.username or ""),
        "PGPASSWORD": unquote(given.password or ""),
    }


def _drop_databases(name: str, env: dict[str, str]) -> None:
    """The system's databases, each dropped as its own service's user."""
    for service in SERVICES:
        server = {
            "host": env.get("PGHOST", "localhost"),
            "port": int(env.get("PGPORT", "5432")),
            "user": env.get("PGUSER", service),
            "password": env.get("PGPASSWORD", service),
        }
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            owned = admin.execute(
                "SELECT datname FROM pg_database"
                " WHERE datname LIKE %s AND pg_get_userbyid(datdba) = current_user",
                [f"{name}\\_%"],
            ).fetchall()
            for (database,) in owned:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


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
