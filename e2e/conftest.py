"""The whole system as real processes: per service a fresh database, its migrations, a gunicorn
web server and a ``consume_saga`` worker, on private topics of the running Kafka, every span
sent to the running Zipkin."""

import os
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

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("order", "inventory", "payment", "shipment")
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


@dataclass
class Service:
    name: str
    url: str
    worker_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)  # by role: web, worker


@dataclass
class System:
    services: dict[str, Service]
    logs: Path
    zipkin_url: str

    def url(self, service: str, path: str) -> str:
        return self.services[service].url + path


def recreate_database(service: str, name: str) -> str:
    """A fresh database for the service; returns its URL.

    Created by the service's own role of the local infrastructure (tools/infra.sh), or, where
    DATABASE_URL names a server (testcontainers), by the user it names.
    """
    given = urlsplit(os.environ.get("DATABASE_URL", ""))
    if given.hostname:
        user, password = unquote(given.username or ""), unquote(given.password or "")
        host, port = given.hostname, given.port or 5432
    else:
        user, password, host, port = service, service, "localhost", 5432
    with psycopg.connect(
        host=host, port=port, dbname="postgres", user=user, password=password, autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://{quote(user)}:{quote(password)}@{host}:{port}/{name}"


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
    }
    services: dict[str, Service] = {}
    for name in SERVICES:
        web_port, worker_port = free_port(), free_port()
        env = common | {
            "DATABASE_URL": recreate_database(name, f"e2e_{name}_db"),
            "SAGA_CONSUMER_GROUP": f"e2e-{run}-{name}",
            "SAGA_WORKER_PORT": str(worker_port),
        }
        services[name] = Service(
            name, f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{worker_port}", env
        )
    managed = [
        (svc, ROOT / f"{svc.name}_project", logs / f"{svc.name}") for svc in services.values()
    ]
    for svc, directory, _ in managed:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=directory,
            env=svc.env,
            check=True,
        )
    subprocess.run(
        [sys.executable, "manage.py", "create_topics"],
        cwd=managed[0][1],
        env=managed[0][0].env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    commands = {
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
    try:
        for svc, directory, log in managed:
            for role, command in commands.items():
                svc.logs[role] = Path(f"{log}-{role}.log")
                with svc.logs[role].open("w") as output:
                    svc.processes.append(
                        subprocess.Popen(
                            command(svc),
                            cwd=directory,
                            env=svc.env,
                            stdout=output,
                            stderr=subprocess.STDOUT,
                        )
                    )
        for svc in services.values():
            web, worker = svc.processes
            wait_until_ready(f"{svc.url}/health/ready", web, svc.logs["web"])
            wait_until_ready(f"{svc.worker_url}/health/ready", worker, svc.logs["worker"])
        yield System(services, logs, ZIPKIN_URL)
    finally:
        for svc in services.values():
            for process in svc.processes:
                process.send_signal(signal.SIGTERM)
        for svc in services.values():
            for process in svc.processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
