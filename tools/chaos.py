"""Chaos run: orders down every path of the saga while processes, the broker and the database
are killed, then an audit that nothing was lost, doubled or left stuck.

It starts the system with ``tools/system.sh up`` (two workers per service, so each consumer
group has two members and partitions move between them), adds stock for SKUs of this run only,
and places N orders through the HTTP API at a steady rate, mixed over the four paths (happy →
SHIPPED, out of stock → FAILED, payment declined → PAYMENT_FAILED, carrier rejects →
SHIPMENT_FAILED), recording each order's intended path. Meanwhile it injects faults, one at a
time, on a schedule drawn from ``--seed``: a gap of 0.5-1.5 × ``--fault-every``, then the next
kind from a shuffled round of all kinds:

- ``worker-kill``: kill -9 of a random worker, revived (``system.sh revive``) 1-5 s later;
- ``web-kill``: kill -9 of the order web server (gunicorn and its workers: the only web server
  under load) while a POST is in flight, revived at once;
- ``worker-stop``: SIGSTOP of a random worker for 12-15 s, longer than the consumer session
  timeout (10 s), so its partitions go to the other member; then SIGCONT;
- ``broker-kill``: kill -9 of the Kafka broker, restarted (``infra.sh up``) 5-20 s later;
- ``postgres-stop``: ``pg_ctl stop -m immediate`` (a crash), restarted 3-10 s later;
- ``duplicates``: 3-10 records of this run that every consumer group has already committed,
  read back and produced again onto their topic, with the same key, value and headers.

The HTTP client keeps going through outages: a 503 (the API's answer while its database is
down), a refused connection (nothing was sent) or no answer (a reset or a timeout) is retried
with the same body and the order's Idempotency-Key, so a retry cannot place it twice; any other
5xx is a failure. Each order also carries a marker of its own, its (SKU, price, quantity),
unique in the run, so the audit finds it in the database whatever the client heard.

Per kind of fault the table shows how long the part was down; ``back``, the time from its
restart until it answered again (a killed worker: its first record applied, read from
``saga_records_total`` on its metrics port; the web server: ready; the broker or PostgreSQL:
answering, as ``infra.sh up`` waits for); and recovery, the time from the restart (or SIGCONT)
until every order the API had accepted before then has ended.

PostgreSQL runs with ``synchronous_commit`` on (SAGA_PG_SYNCHRONOUS_COMMIT, see tools/infra.sh),
as in production: with the local default, off, a crash loses transactions PostgreSQL had
acknowledged and whose Kafka offsets the workers had committed since, and the audit finds
lost events (docs/decisions/0010).

After the load it waits (with a deadline) for quiescence: every order ended, no outbox row
unsent, no consumer group lagging. Then it audits, reading the four databases through read-only
sessions (``default_transaction_read_only``, as the services' own roles) and Kafka:

- every order ended, in the status its path was designed for, with no saga deadline expired and
  no compensation pending or failed;
- per order at most one reservation (SHIPPED, RELEASED, or REJECTED when out of stock), at most
  one payment, a refund exactly when the order ended SHIPMENT_FAILED after a charge, at most one
  shipment; and no reservation, payment or shipment of this run for an order that does not exist;
- per SKU, available + reserved + shipped = total added, reserved = 0, shipped = the happy
  orders' quantities;
- no unsent outbox row in any service database; no record written to a ``.DLT`` topic;
- every POST answered 201 exists exactly once; a POST with no answer at most once. The client
  retries a POST that got a 503, no connection or no answer, with the order's Idempotency-Key,
  until it gets its answer or the run's patience ends.

It prints one table and exits 1 on any violation, listing the offending orders with their
histories. The system is left running (``bash tools/system.sh down`` stops it). The
infrastructure's location and ports come from the environment as for ``tools/system.sh``
(SAGA_INFRA_DIR, PGPORT, SAGA_KAFKA_PORT). Run with the project's venv:

    .infra/venv/bin/python tools/chaos.py -n 300 --rate 3 --fault-every 3 --seed 1
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from saga_client import TERMINAL, Services, add_stock, infra_dir
from saga_events.topics import DEFAULT_TOPICS, dead_letter_topic
from topology import SERVICES as TOPOLOGY

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(TOPOLOGY)
WEB_PORTS = {name: service.web_port for name, service in TOPOLOGY.items()}
FAULT_KINDS = (
    "worker-kill",
    "web-kill",
    "worker-stop",
    "broker-kill",
    "postgres-stop",
    "duplicates",
)

HAPPY, OUT_OF_STOCK, DECLINED, REJECTED = "happy", "out of stock", "payment declined", "carrier"
#: Each path and the status its orders must end in.
EXPECTED_STATUS = {
    HAPPY: "SHIPPED",
    OUT_OF_STOCK: "FAILED",
    DECLINED: "PAYMENT_FAILED",
    REJECTED: "SHIPMENT_FAILED",
}
#: What each path leaves in the other services: reservation, payment, shipment (None: no row).
EXPECTED_EFFECTS = {
    HAPPY: ("SHIPPED", "SUCCEEDED", "SHIPPED"),
    OUT_OF_STOCK: ("REJECTED", None, None),
    DECLINED: ("RELEASED", "DECLINED", None),
    REJECTED: ("RELEASED", "REFUNDED", "REJECTED"),
}
SKUS_PER_PATH = 3
#: An order's amount above this is declined, its quantity above this rejected by the carrier
#: (the services' PAYMENT_DECLINE_ABOVE and SHIPMENT_MAX_PARCEL_QUANTITY defaults).
DECLINE_ABOVE, PARCEL_MAX = Decimal("5000.00"), 50
#: The most orders whose markers stay unique and whose paths stay as designed (a rejected
#: parcel of 60 units at price 0.01 × (j + 1) stays under the decline limit for j < 8333).
MAX_ORDERS = 30000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ environment


@dataclass(frozen=True)
class Infra:
    """Where tools/infra.sh and tools/system.sh keep things, from the same environment."""

    directory: Path
    pgport: int
    bootstrap: str
    topic_prefix: str

    @classmethod
    def from_environment(cls) -> "Infra":
        return cls(
            directory=infra_dir(),
            pgport=int(os.environ.get("PGPORT", "5432")),
            bootstrap=f"localhost:{os.environ.get('SAGA_KAFKA_PORT', '9092')}",
            topic_prefix=os.environ.get("SAGA_TOPIC_PREFIX", ""),
        )

    def database_url(self, service: str) -> str:
        database = TOPOLOGY[service].database
        return f"postgres://{service}:{service}@localhost:{self.pgport}/{database}"

    def pid(self, name: str) -> int | None:
        path = self.directory / "run" / f"{name}.pid"
        try:
            return int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def settings(self) -> dict[str, str]:
        """What tools/system.sh last started the services with (its run/settings.env)."""
        path = self.directory / "run" / "settings.env"
        lines = path.read_text().splitlines() if path.exists() else []
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def kafka_config(self) -> dict:
        # Warnings and errors only: the clients' informational lines would land in the table.
        return {"bootstrap.servers": self.bootstrap, "log_level": 4}

    def topics(self) -> list[str]:
        return [self.topic_prefix + name for name in DEFAULT_TOPICS.values()]

    def infrastructure_runs(self) -> bool:
        """PostgreSQL, Kafka and Zipkin all run (``infra.sh status``)."""
        status = [str(REPO_ROOT / "tools" / "infra.sh"), "status"]
        return subprocess.run(["bash", *status], capture_output=True).returncode == 0

    def run(self, *command: str, timeout: float = 300) -> None:
        """A command of tools/, its output appended to the run's log; CalledProcessError if it
        fails."""
        with open(self.directory / "logs" / "chaos.log", "a") as output:
            subprocess.run(
                ["bash", str(REPO_ROOT / "tools" / command[0]), *command[1:]],
                stdout=output,
                stderr=output,
                timeout=timeout,
                check=True,
            )


def worker_names(workers: int) -> dict[str, int]:
    """Each worker's pid-file name and its metrics port, as tools/system.sh gives them."""
    return {
        (f"{service}-worker" if n == 1 else f"{service}-worker-{n}"): WEB_PORTS[service]
        + 1000
        + 100 * (n - 1)
        for service in SERVICES
        for n in range(1, workers + 1)
    }


def alive(pid: int | None) -> bool:
    """The process exists and is no zombie (a killed process not yet reaped by its parent)."""
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_until(condition, *, timeout: float, interval: float = 0.25):
    """Poll ``condition`` until it returns something truthy (returned) or ``timeout`` passes
    (None)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result or None
        time.sleep(interval)


class ReadOnly:
    """A read-only session on one service database, reconnecting after an outage."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: psycopg.Connection | None = None

    def rows(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        try:
            return self._query(sql, params)
        except psycopg.OperationalError:
            # A connection from before an outage fails once; a new one tells if it is over.
            self.close()
            try:
                return self._query(sql, params)
            except psycopg.OperationalError:
                self.close()
                raise

    def _query(self, sql: str, params: tuple | dict) -> list[tuple]:
        if self.connection is None:
            self.connection = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=3,
                options="-c default_transaction_read_only=on",
            )
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


# ------------------------------------------------------------------------------------ orders


@dataclass
class Placed:
    """One order the client means to place, and what became of its POST."""

    index: int
    path: str
    sku: str
    price: Decimal
    quantity: int
    #: created (201), unknown (no answer at the last try), unavailable (503 or refused until
    #: the deadline), failed (another status).
    outcome: str = "pending"
    attempts: list[str] = field(default_factory=list)
    order_id: int | None = None
    answered_at: float | None = None
    #: The POST's Idempotency-Key, the same on every retry.
    key: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def marker(self) -> tuple[str, Decimal, int]:
        return self.sku, self.price, self.quantity


def plan_orders(count: int, run: str, rng: random.Random) -> tuple[list[Placed], dict[str, int]]:
    """The run's orders, a quarter per path in a seeded order, and the stock each SKU needs.

    Every SKU belongs to one path and is stocked with what all its orders could hold at once,
    so no path depends on the timing of another; the out-of-stock SKU has 1 unit and its orders
    ask for 2-5. Prices count up within a path, which makes (SKU, price, quantity) unique.
    """
    paths = [list(EXPECTED_STATUS)[i % 4] for i in range(count)]
    rng.shuffle(paths)
    stock: dict[str, int] = defaultdict(int)
    per_path: Counter = Counter()
    orders = []
    for index, path in enumerate(paths):
        j = per_path[path]
        per_path[path] += 1
        sku = f"CHAOS-{run}-{path.split()[0].upper()}-{j % SKUS_PER_PATH}"
        cents = (Decimal(j + 1) / 100).quantize(Decimal("0.01"))
        if path == HAPPY:
            price, quantity = Decimal("1.00") + cents, rng.randint(1, 3)
        elif path == OUT_OF_STOCK:
            sku = f"CHAOS-{run}-OUT"
            price, quantity = Decimal("1.00") + cents, rng.randint(2, 5)
        elif path == DECLINED:
            price, quantity = DECLINE_ABOVE + cents, 1
        else:
            price, quantity = cents, rng.randint(PARCEL_MAX + 1, PARCEL_MAX + 10)
        orders.append(Placed(index, path, sku, price, quantity))
        stock[sku] += 0 if path == OUT_OF_STOCK else quantity
    stock[f"CHAOS-{run}-OUT"] = 1
    return orders, dict(stock)


def post_json(
    url: str, body: dict, timeout: float, token: str, key: str
) -> tuple[str, int | None, dict, str]:
    """POST ``body``: (what happened, status, answer, Retry-After). What happened is
    ``answered``, ``refused`` (no connection: nothing was sent) or ``no answer`` (the request
    may or may not have been applied)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Token {token}",
            # One key per order, the same on every retry: a retry of a POST whose order was
            # stored but whose answer was lost (no answer, or a 503 when the database went away
            # after the commit) gets that order back instead of placing a second one.
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "answered", response.status, json.loads(response.read() or b"{}"), ""
    except urllib.error.HTTPError as error:
        try:
            answer = json.loads(error.read() or b"{}")
        except (ValueError, OSError, http.client.HTTPException):
            answer = {}
        return "answered", error.code, answer, error.headers.get("Retry-After", "")
    except urllib.error.URLError as error:
        if isinstance(error.reason, ConnectionRefusedError):
            return "refused", None, {}, ""
        return "no answer", None, {}, ""
    except (OSError, ValueError, http.client.HTTPException):
        return "no answer", None, {}, ""


class Load:
    """Places the planned orders at a steady rate, each POST in a thread of its own pool."""

    def __init__(self, services: Services, orders: list[Placed], rate: float) -> None:
        self.services, self.orders, self.rate = services, orders, rate
        self.in_flight = 0
        self.lock = threading.Lock()
        #: How long one order may keep trying through 503s and refused connections.
        self.give_up_after = 180.0

    def run(self) -> None:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for order in self.orders:
                due = started + order.index / self.rate
                if (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)  # the schedule of arrivals, not a wait for a result
                pool.submit(self.place, order)
                if (order.index + 1) % max(1, len(self.orders) // 10) == 0:
                    log(f"  {order.index + 1}/{len(self.orders)} orders placed")

    def place(self, order: Placed) -> None:
        body = {"skuCode": order.sku, "price": str(order.price), "quantity": order.quantity}
        deadline = time.monotonic() + self.give_up_after
        for _ in range(1000):  # bounded by the deadline long before this count
            with self.lock:
                self.in_flight += 1
            try:
                what, status, answer, retry_after = post_json(
                    f"{self.services.order}/api/orders", body, 15, self.services.token, order.key
                )
            finally:
                with self.lock:
                    self.in_flight -= 1
            order.attempts.append(str(status) if what == "answered" else what)
            if status == 201:
                order.outcome, order.order_id = "created", answer.get("id")
                order.answered_at = time.time()
                return
            if what == "answered" and status != 503:
                order.outcome = "failed"
                order.attempts[-1] += f" {json.dumps(answer)[:200]}"
                return
            if time.monotonic() > deadline:
                order.outcome = "unknown" if "no answer" in order.attempts else "unavailable"
                return
            # 503 (database down), refused (web server down) or no answer (it died mid-request):
            # the same request, with the same Idempotency-Key, again later.
            time.sleep(min(float(retry_after or 1), 5))


# ------------------------------------------------------------------------------------ faults


@dataclass
class Fault:
    kind: str
    target: str
    started: float  # time.time()
    #: When what was broken was started again (restarted, continued, the records sent).
    restarted: float = 0.0
    #: Seconds from the restart until the restarted part answered: the worker applied a
    #: record, the web server was ready, the broker or PostgreSQL answered.
    back: float | None = None
    #: Seconds from the restart until every order accepted before it had ended (None: not
    #: within the bound, or not measured).
    recovery: float | None = None
    note: str = ""

    @property
    def down(self) -> float:
        return self.restarted - self.started


class Faults:
    """Injects one fault at a time until stopped; restores what it broke before it returns."""

    #: The longest wait for a recovery; an order still open then is left to the audit.
    RECOVERY_BOUND = 120

    def __init__(
        self,
        infra: Infra,
        services: Services,
        load: Load,
        *,
        rng: random.Random,
        kinds: list[str],
        every: float,
        workers: dict[str, int],
        run_start_offsets: dict[tuple[str, int], int],
    ) -> None:
        self.infra, self.services, self.load, self.rng = infra, services, load, rng
        self.kinds, self.every, self.workers = kinds, every, workers
        self.run_start_offsets = run_start_offsets
        self.stop = threading.Event()
        self.done: list[Fault] = []
        self.crashed: list[str] = []  # processes that died without being killed here
        self.duplicated = 0
        self.orders_db = ReadOnly(infra.database_url("order"))
        self.stuck: set[int] = set()
        self.thread = threading.Thread(target=self._run, name="faults", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=300)

    def _run(self) -> None:
        round_: list[str] = []
        for _ in range(100_000):  # ended by stop() long before
            if self.stop.wait(self.rng.uniform(0.5, 1.5) * self.every):
                return
            if not round_:
                round_ = list(self.kinds)
                self.rng.shuffle(round_)
            kind = round_.pop()
            try:
                fault = getattr(self, "_" + kind.replace("-", "_"))()
                self._supervise()
            except Exception as error:
                log(f"  fault {kind} failed: {error!r}; restoring everything")
                self.restore()
                continue
            if kind != "duplicates":  # nothing was down
                self._measure(fault)
            self.done.append(fault)
            back = "" if fault.back is None else f", back {fault.back:.1f} s after"
            recovery = (
                f"recovered {fault.recovery:.1f} s after"
                if fault.recovery is not None
                else f"NOT recovered within {self.RECOVERY_BOUND} s"
                if kind != "duplicates"
                else ""
            )
            log(
                f"  fault {len(self.done)}: {kind} {fault.target} {fault.note} "
                f"down {fault.down:.1f} s{back}; {recovery}"
            )

    # -- the kinds ---------------------------------------------------------------------------

    def _worker_kill(self) -> Fault:
        name = self.rng.choice(sorted(self.workers))
        delay = self.rng.uniform(1, 5)
        fault = Fault("worker-kill", name, time.time())
        kill(self.infra.pid(name))
        time.sleep(delay)  # the fault's planned length
        fault.restarted = time.time()
        self.infra.run("system.sh", "revive")
        # The new process's counter starts at 0: the first record it applied.
        if wait_until(lambda: applied_records(self.workers[name]) > 0, timeout=60):
            fault.back = time.time() - fault.restarted
        return fault

    def _web_kill(self) -> Fault:
        name = "order-web"
        # Mid-request: wait (briefly) for a POST to be in flight.
        wait_until(lambda: self.load.in_flight > 0, timeout=5, interval=0.01)
        fault = Fault("web-kill", name, time.time(), note=f"({self.load.in_flight} POSTs open)")
        kill(self.infra.pid(name), group=True)  # gunicorn and its workers
        fault.restarted = time.time()
        self.infra.run("system.sh", "revive")
        if wait_until(lambda: http_ok(f"{self.services.order}/health/ready"), timeout=60):
            fault.back = time.time() - fault.restarted
        return fault

    def _worker_stop(self) -> Fault:
        name = self.rng.choice(sorted(self.workers))
        pid = self.infra.pid(name)
        length = self.rng.uniform(12, 15)
        fault = Fault("worker-stop", name, time.time())
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(length)  # the fault's planned length
        finally:
            os.kill(pid, signal.SIGCONT)
        fault.restarted = time.time()
        return fault

    def _broker_kill(self) -> Fault:
        length = self.rng.uniform(5, 20)
        fault = Fault("broker-kill", "kafka", time.time())
        kill(self.infra.pid("kafka"))
        time.sleep(length)  # the fault's planned length
        fault.restarted = time.time()
        self.infra.run("infra.sh", "up")  # returns once the broker answers
        fault.back = time.time() - fault.restarted
        return fault

    def _postgres_stop(self) -> Fault:
        length = self.rng.uniform(3, 10)
        fault = Fault("postgres-stop", "postgres", time.time())
        subprocess.run(
            [
                *("runuser", "-u", "postgres", "--", str(pg_ctl()), "stop", "-m", "immediate"),
                *("-D", str(self.infra.directory / "postgres" / "data"), "-w", "-t", "30"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        time.sleep(length)  # the fault's planned length
        fault.restarted = time.time()
        self.infra.run("infra.sh", "up")  # returns once PostgreSQL answers
        fault.back = time.time() - fault.restarted
        return fault

    def _duplicates(self) -> Fault:
        count = self.rng.randint(3, 10)
        fault = Fault("duplicates", "", time.time())
        topic, sent = reproduce_delivered(self.infra, self.run_start_offsets, self.rng, count)
        self.duplicated += sent
        fault.restarted = time.time()
        fault.target, fault.note = topic, f"({sent} records again)"
        return fault

    # -- after each fault --------------------------------------------------------------------

    def _supervise(self) -> None:
        """Restart what died by itself meanwhile (as Kubernetes would), and note it."""
        dead = [
            name
            for name in [*self.workers, *(f"{s}-web" for s in SERVICES)]
            if not alive(self.infra.pid(name))
        ]
        for name in dead:
            self.crashed.append(name)
            log(f"  {name} exited by itself; reviving it")
        if dead or not self.infra.infrastructure_runs():
            self.restore()

    def restore(self) -> None:
        """Start whatever is down: the infrastructure, then the services' processes."""
        self.infra.run("infra.sh", "up")
        self.infra.run("system.sh", "revive")

    def _measure(self, fault: Fault) -> None:
        """Recovery: until every order accepted before the restart has ended.

        An order that did not end within the bound is left out of later measurements, so one
        stuck order does not count against every later fault (the audit reports it).
        """
        open_orders = [
            o.order_id
            for o in self.load.orders
            if o.order_id is not None and o.answered_at is not None
            if o.answered_at <= fault.restarted and o.order_id not in self.stuck
        ]

        def ended() -> bool:
            nonlocal open_orders
            try:
                open_orders = [
                    row[0]
                    for row in self.orders_db.rows(
                        "SELECT id FROM orders_order WHERE id = ANY(%s) AND status <> ALL(%s)",
                        (open_orders, list(TERMINAL)),
                    )
                ]
            except psycopg.OperationalError:
                return False
            return not open_orders

        if wait_until(ended, timeout=self.RECOVERY_BOUND):
            fault.recovery = max(0.0, time.time() - fault.restarted)
        else:
            self.stuck.update(open_orders)


def kill(pid: int, *, group: bool = False) -> None:
    """SIGKILL ``pid`` (or its process group) and wait until it is gone: a process still
    tearing down would look alive to ``system.sh revive``, which would then leave it be."""
    if group:
        os.killpg(pid, signal.SIGKILL)
    else:
        os.kill(pid, signal.SIGKILL)
    if not wait_until(lambda: not alive(pid), timeout=30, interval=0.05):
        raise RuntimeError(f"pid {pid} survives SIGKILL")


def applied_records(port: int) -> float:
    """Records the worker on ``port`` applied (handled or duplicate) since it started."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("saga_records_total{")
        and ('outcome="handled"' in line or 'outcome="duplicate"' in line)
    )


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def pg_ctl() -> Path:
    """The newest PostgreSQL's pg_ctl, as tools/infra.sh picks it."""
    candidates = Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    return max(candidates, key=lambda path: int(path.parts[-3].split(".")[0]))


# ------------------------------------------------------------------------------------- kafka


def end_offsets(infra: Infra, topics: list[str]) -> dict[tuple[str, int], int]:
    """The high watermark of every partition of ``topics``."""
    consumer = Consumer(infra.kafka_config() | {"group.id": "chaos-offsets"})
    try:
        metadata = consumer.list_topics(timeout=10)
        offsets = {}
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                offsets[(topic, partition)] = high
        return offsets
    finally:
        consumer.close()


def committed_offsets(infra: Infra) -> dict[str, dict[tuple[str, int], int]]:
    """Each service's consumer group's committed offsets."""
    admin = AdminClient(infra.kafka_config())
    committed = {}
    for service in SERVICES:
        group = f"{service}-service"
        future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
        committed[group] = {
            (tp.topic, tp.partition): tp.offset
            for tp in future.result(timeout=10).topic_partitions
            if tp.offset >= 0
        }
    return committed


def lagging(infra: Infra) -> dict[str, int]:
    """Records each service's consumer group has not committed yet, on the topics it reads."""
    committed = committed_offsets(infra)
    ends = end_offsets(infra, infra.topics())
    lag = {}
    for group, offsets in committed.items():
        topics = {topic for topic, _ in offsets}
        lag[group] = sum(
            end - offsets.get((topic, partition), 0)
            for (topic, partition), end in ends.items()
            if topic in topics
        )
    return lag


def reproduce_delivered(
    infra: Infra, run_start: dict[tuple[str, int], int], rng: random.Random, count: int
) -> tuple[str, int]:
    """Produce again up to ``count`` consecutive records of this run that every group reading
    their topic has committed (so they were delivered and applied). Returns (topic, sent)."""
    committed = committed_offsets(infra)
    delivered: dict[tuple[str, int], int] = {}
    for (topic, partition), start in run_start.items():
        readers = [
            offsets[(topic, partition)]
            for offsets in committed.values()
            if (topic, partition) in offsets
        ]
        if readers and min(readers) > start:
            delivered[(topic, partition)] = min(readers)
    if not delivered:
        return "", 0
    (topic, partition), end = rng.choice(sorted(delivered.items()))
    begin = max(run_start[(topic, partition)], end - count)
    begin = rng.randint(run_start[(topic, partition)], begin)
    consumer = Consumer(
        {
            **infra.kafka_config(),
            "group.id": f"chaos-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    producer = Producer(infra.kafka_config() | {"acks": "all"})
    sent = 0
    try:
        consumer.assign([TopicPartition(topic, partition, begin)])
        deadline = time.monotonic() + 30
        while sent < min(count, end - begin) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            producer.produce(
                topic, key=message.key(), value=message.value(), headers=message.headers()
            )
            sent += 1
        if producer.flush(30):
            raise RuntimeError("the re-produced records were not acknowledged")
    finally:
        consumer.close()
    return f"{topic}[{partition}]", sent


# ------------------------------------------------------------------------------------- audit


@dataclass
class Violation:
    category: str
    message: str
    order_id: int | None = None


class Audit:
    """The checks, on the four databases (read-only) and the dead-letter topics."""

    CATEGORIES = (
        "lost",
        "duplicated effects",
        "stuck",
        "wrong outcome",
        "wrong effects",
        "stock drift",
        "unsent outbox rows",
        "dead letters",
        "HTTP failures",
    )

    def __init__(self, infra: Infra, run: str, orders: list[Placed], stock: dict[str, int]):
        self.infra, self.run, self.orders, self.stock = infra, run, orders, stock
        self.db = {service: ReadOnly(infra.database_url(service)) for service in SERVICES}
        self.violations: list[Violation] = []
        self.pattern = f"CHAOS-{run}-%"

    def add(self, category: str, message: str, order_id: int | None = None) -> None:
        self.violations.append(Violation(category, message, order_id))

    def unsent_outbox(self) -> dict[str, int]:
        return {
            service: db.rows(
                "SELECT count(*) FROM saga_runtime_outboxmessage WHERE sent_at IS NULL"
            )[0][0]
            for service, db in self.db.items()
        }

    def open_orders(self) -> int:
        return self.db["order"].rows(
            "SELECT count(*) FROM orders_order WHERE sku_code LIKE %s AND status <> ALL(%s)",
            (self.pattern, list(TERMINAL)),
        )[0][0]

    def columns(self, service: str, table: str) -> set[str]:
        rows = self.db[service].rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        )
        return {row[0] for row in rows}

    def check(self, dlt_before: dict, dlt_after: dict, run_started: float) -> dict:
        """Run every check; return the orders found, by id, for the report."""
        orders = self._orders()
        self._http(orders)
        self._effects(orders, run_started)
        self._stock(orders)
        for service, unsent in self.unsent_outbox().items():
            if unsent:
                self.add("unsent outbox rows", f"{service}_db: {unsent} outbox rows unsent")
        for (topic, partition), end in dlt_after.items():
            if end > dlt_before.get((topic, partition), 0):
                self.add(
                    "dead letters",
                    f"{topic}[{partition}]: {end - dlt_before.get((topic, partition), 0)} "
                    "records dead-lettered during the run",
                )
        return orders

    def _orders(self) -> dict[int, dict]:
        columns = self.columns("order", "orders_order")
        extra = [c for c in ("expired_at", "compensation") if c in columns]
        rows = self.db["order"].rows(
            "SELECT id, order_number, sku_code, price, quantity, status, failure_reason, "
            "created_at" + "".join(f", {c}" for c in extra) + " FROM orders_order "
            "WHERE sku_code LIKE %s",
            (self.pattern,),
        )
        names = ["id", "order_number", "sku", "price", "quantity", "status", "reason", "created"]
        found = {row[0]: dict(zip(names + extra, row, strict=True)) for row in rows}
        ended = self.db["order"].rows(
            "SELECT order_id, min(occurred_at) FROM orders_orderhistory "
            "WHERE order_id = ANY(%s) AND to_status = ANY(%s) AND from_status <> to_status "
            "GROUP BY order_id",
            (list(found), list(TERMINAL)),
        )
        for order_id, at in ended:
            found[order_id]["ended"] = at
        return found

    def _http(self, orders: dict[int, dict]) -> None:
        by_marker: dict[tuple, list[dict]] = defaultdict(list)
        for order in orders.values():
            by_marker[(order["sku"], order["price"], order["quantity"])].append(order)
        planned = {placed.marker: placed for placed in self.orders}
        for marker, rows in by_marker.items():
            placed = planned.get(marker)
            if placed is None:
                for row in rows:
                    self.add("duplicated effects", "an order this run never placed", row["id"])
                continue
            for row in rows:
                row["path"] = placed.path
        for placed in self.orders:
            rows = by_marker.get(placed.marker, [])
            ids = sorted(row["id"] for row in rows)
            attempts = ", ".join(placed.attempts)
            if placed.outcome == "created":
                if placed.order_id not in ids:
                    self.add("lost", f"POST answered 201 (id {placed.order_id}) but no such order")
                if len(rows) > 1:
                    self.add(
                        "duplicated effects",
                        f"one POST made orders {ids}, its 201 named {placed.order_id}: an "
                        f"attempt answered otherwise had created one (answers: {attempts})",
                        placed.order_id,
                    )
            elif placed.outcome == "failed":
                self.add("HTTP failures", f"POST {placed.marker} answered {attempts}")
            elif len(rows) > 1:
                self.add("duplicated effects", f"one POST ({attempts}) made orders {ids}", ids[0])
            elif rows and placed.outcome == "unavailable":
                self.add(
                    "HTTP failures",
                    f"POST answered only 503/refused ({attempts}) but made order {ids[0]}",
                    ids[0],
                )

    def _effects(self, orders: dict[int, dict], run_started: float) -> None:
        numbers = {order["order_number"]: order for order in orders.values()}
        effects: dict[str, dict] = {}
        for service, sql in (
            (
                "inventory",
                "SELECT order_number, status, quantity FROM inventory_reservation "
                "WHERE sku_code LIKE %(sku)s OR order_number = ANY(%(numbers)s)",
            ),
            (
                "payment",
                "SELECT order_number, status, amount FROM payments_payment "
                "WHERE order_number = ANY(%(numbers)s) OR created_at >= to_timestamp(%(since)s)",
            ),
            (
                "shipment",
                "SELECT order_number, status, quantity FROM shipments_shipment "
                "WHERE order_number = ANY(%(numbers)s) OR created_at >= to_timestamp(%(since)s)",
            ),
        ):
            rows = self.db[service].rows(
                sql, {"sku": self.pattern, "numbers": list(numbers), "since": run_started}
            )
            per_order: dict = defaultdict(list)
            for number, status, value in rows:
                if number not in numbers:
                    self.add(
                        "duplicated effects",
                        f"{service}: a {status} row for order number {number}, no order of ours",
                    )
                    continue
                per_order[number].append((status, value))
            effects[service] = per_order
        for number, order in numbers.items():
            self._order(order, [effects[s].get(number, []) for s in SERVICES[1:]])

    def _order(self, order: dict, rows: list[list[tuple]]) -> None:
        order_id, path = order["id"], order.get("path")
        if path is None:
            return  # reported by _http
        status, expected = order["status"], EXPECTED_STATUS[path]
        if status not in TERMINAL:
            self.add("stuck", f"{path}: still {status}", order_id)
            return
        if status != expected:
            self.add("wrong outcome", f"{path}: ended {status}, not {expected}", order_id)
        if order.get("expired_at"):
            self.add(
                "wrong outcome", f"its saga deadline expired at {order['expired_at']}", order_id
            )
        if order.get("compensation") in ("PENDING", "FAILED"):
            self.add("wrong outcome", f"compensation {order['compensation']}", order_id)
        for service, found, wanted in zip(SERVICES[1:], rows, EXPECTED_EFFECTS[path], strict=True):
            if len(found) > 1:
                self.add("duplicated effects", f"{service}: {len(found)} rows {found}", order_id)
            statuses = [s for s, _ in found]
            if statuses != ([wanted] if wanted else []):
                self.add(
                    "wrong effects",
                    f"{path}: {service} has {statuses or 'nothing'}, "
                    f"expected {wanted or 'nothing'}",
                    order_id,
                )
        amounts = [amount for _, amount in rows[1]]
        if amounts and amounts[0] != order["price"] * order["quantity"]:
            self.add("wrong effects", f"payment of {amounts[0]}, not price × quantity", order_id)

    def _stock(self, orders: dict[int, dict]) -> None:
        shipped: Counter = Counter()
        for order in orders.values():
            if order.get("path") == HAPPY and order["status"] == "SHIPPED":
                shipped[order["sku"]] += order["quantity"]
        rows = self.db["inventory"].rows(
            "SELECT sku_code, available, reserved, shipped, total_added FROM inventory_stock "
            "WHERE sku_code LIKE %s",
            (self.pattern,),
        )
        found = {row[0]: row[1:] for row in rows}
        for sku, added in self.stock.items():
            if sku not in found:
                self.add("stock drift", f"{sku}: no stock row")
                continue
            available, reserved, shipped_units, total = found[sku]
            want = (added - shipped[sku], 0, shipped[sku], added)
            if (available, reserved, shipped_units, total) != want or (
                available + reserved + shipped_units != total
            ):
                self.add(
                    "stock drift",
                    f"{sku}: available {available}, reserved {reserved}, shipped "
                    f"{shipped_units}, total {total}; expected {want}",
                )

    def history(self, order_id: int) -> list[tuple]:
        return self.db["order"].rows(
            "SELECT occurred_at, from_status, to_status, event_type, reason "
            "FROM orders_orderhistory WHERE order_id = %s ORDER BY occurred_at, id",
            (order_id,),
        )


# ------------------------------------------------------------------------------------ report


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def seconds(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):5.1f} / {max(values):5.1f}"


def report(args, *, run, orders, faults, audit, found, phases) -> str:
    lines = [
        f"Chaos run {run}: seed {args.seed}, {len(orders)} orders at {args.rate}/s, a fault "
        f"every ~{args.fault_every} s, {args.workers} workers per service, static membership "
        f"{'on' if phases['static_membership'] else 'off'}, PostgreSQL synchronous_commit "
        f"{phases['synchronous_commit']}",
        "",
    ]
    paths = Counter(o.path for o in orders)
    created = Counter(o.path for o in orders if o.outcome == "created")
    lines.append(
        f"  {'path → status':<36} {'placed':>6} {'answered 201':>13} {'in the database':>16}"
    )
    in_db = Counter(o.get("path") for o in found.values())
    for path, status in EXPECTED_STATUS.items():
        lines.append(
            f"  {path + ' → ' + status:<36} {paths[path]:>6} {created[path]:>13} {in_db[path]:>16}"
        )
    attempts = Counter(a.split(" {")[0] for o in orders for a in o.attempts)
    outcomes = Counter(o.outcome for o in orders)
    lines += [
        "",
        "POST answers: "
        + ", ".join(f"{k} × {v}" for k, v in sorted(attempts.items()))
        + "; orders: "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "",
        "faults (down: until restarted; back: restart → answering, a killed worker → its first"
        " record applied;",
        "        recovery: restart → every order accepted before it has ended; longest saga: of "
        "those placed meanwhile)",
        f"  {'kind':<14} {'injected':>8} {'down p50':>9} {'back p50 / max s':>17} "
        f"{'recovery p50 / max s':>21} {'longest saga s':>15}",
    ]
    by_kind: dict[str, list[Fault]] = defaultdict(list)
    for fault in faults.done:
        by_kind[fault.kind].append(fault)
    for kind in FAULT_KINDS:
        done = by_kind.get(kind, [])
        downs = [f.down for f in done]
        backs = [f.back for f in done if f.back is not None]
        recoveries = [f.recovery for f in done if f.recovery is not None]
        note = ""
        if unrecovered := sum(f.recovery is None for f in done) * (kind != "duplicates"):
            note = f"  {unrecovered} NOT recovered within {Faults.RECOVERY_BOUND} s"
        if kind == "duplicates" and done:
            note = f"  {faults.duplicated} records produced again"
        longest = [
            o["ended"].timestamp() - o["created"].timestamp()
            for o in found.values()
            if o.get("ended")
            and any(f.started <= o["created"].timestamp() <= f.restarted for f in done)
        ]
        if not done:
            lines.append(f"  {kind:<14} {0:>8} {'-':>9} {'-':>17} {'-':>21} {'-':>15}")
            continue
        lines.append(
            f"  {kind:<14} {len(done):>8} {statistics.median(downs):>9.1f} "
            f"{seconds(backs):>17} {seconds(recoveries):>21} "
            f"{f'{max(longest):.1f}' if longest else '-':>15}{note}"
        )
    if faults.crashed:
        lines.append(f"  exited by themselves (revived): {', '.join(faults.crashed)}")
    counts = Counter(v.category for v in audit.violations)
    lines += ["", "audit (read-only SQL on the four databases; Kafka offsets of the .DLT topics)"]
    lines += [f"  {category:<20} {counts[category]}" for category in Audit.CATEGORIES]
    ended = [o["ended"].timestamp() for o in found.values() if o.get("ended")]
    during = [t for t in ended if phases["load_start"] <= t <= phases["load_end"]]
    latencies = [
        o["ended"].timestamp() - o["created"].timestamp() for o in found.values() if o.get("ended")
    ]
    load_seconds = phases["load_end"] - phases["load_start"]
    lines += [
        "",
        f"duration: load with faults {load_seconds:.0f} s, then {phases['settled']:.0f} s until "
        f"{'quiescence' if phases['quiescent'] else 'the settle timeout, NOT quiescent'}; "
        f"whole run {phases['total']:.0f} s",
        f"throughput during the faults: {len(during) / load_seconds:.2f} sagas/s ended "
        f"({len(during)} of {len(found)}; offered {args.rate}/s)",
    ]
    if latencies:
        lines.append(
            f"saga latency (placed → ended): p50 {percentile(latencies, 0.5):.2f} s, "
            f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--orders", type=int, default=300, help="Orders to place (300).")
    parser.add_argument("--rate", type=float, default=5.0, help="Orders per second (5).")
    parser.add_argument(
        "--fault-every", type=float, default=5.0, help="Mean seconds between faults (5)."
    )
    parser.add_argument(
        "--seed", type=int, default=random.randrange(1_000_000), help="Seed (random)."
    )
    parser.add_argument(
        "--faults",
        default=",".join(FAULT_KINDS),
        help=f"Kinds of fault to inject, comma-separated (all: {','.join(FAULT_KINDS)}).",
    )
    parser.add_argument("--workers", type=int, default=2, help="Workers per service (2).")
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=300,
        help="Longest wait for quiescence after the last order (300 s).",
    )
    parser.add_argument("--output", help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.faults.split(",") if kind.strip()]
    if unknown := set(kinds) - set(FAULT_KINDS):
        parser.error(f"unknown fault kinds: {', '.join(sorted(unknown))}")
    args.kinds = kinds
    if not 1 <= args.orders <= MAX_ORDERS:
        parser.error(f"--orders must be between 1 and {MAX_ORDERS}")
    if args.rate <= 0 or args.fault_every <= 0 or args.workers < 1:
        parser.error("--rate, --fault-every and --workers must be positive")
    return args


def wait_for_quiescence(infra: Infra, audit: Audit, timeout: float) -> bool:
    """Every order of the run ended, no outbox row unsent, no group lagging."""

    def quiet() -> bool:
        try:
            return (
                audit.open_orders() == 0
                and not any(audit.unsent_outbox().values())
                and not any(lagging(infra).values())
            )
        except (psycopg.Error, KafkaException) as error:
            log(f"  not yet: {error}")
            return False

    return bool(wait_until(quiet, timeout=timeout, interval=1.0))


def main() -> int:
    args = parse_args()
    # Crashing PostgreSQL is only a fair test with the durability production has: with
    # synchronous_commit off (tools/infra.sh's default, for speed) a crash loses transactions
    # that were acknowledged, whose Kafka offsets the workers have committed since.
    os.environ.setdefault("SAGA_PG_SYNCHRONOUS_COMMIT", "on")
    infra = Infra.from_environment()
    run = uuid.uuid4().hex[:8].upper()
    started = time.monotonic()
    log(f"chaos {run}: starting the system ({args.workers} workers per service)")
    env = os.environ | {
        "SAGA_WORKERS": str(args.workers),
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "config.settings.production"
        ),
    }
    subprocess.run(
        ["bash", str(REPO_ROOT / "tools" / "system.sh"), "up"],
        env=env,
        check=True,
        stdout=sys.stderr,
    )
    workers = worker_names(args.workers)
    services = Services.local()  # with the tokens of the users system.sh created

    orders, stock = plan_orders(args.orders, run, random.Random(f"{args.seed}-orders"))
    for sku, quantity in stock.items():
        add_stock(services, sku, quantity)
    dlt_topics = [dead_letter_topic(topic) for topic in infra.topics()]
    dlt_before = end_offsets(infra, dlt_topics)
    run_start_offsets = end_offsets(infra, infra.topics())
    run_started = time.time()

    load = Load(services, orders, args.rate)
    faults = Faults(
        infra,
        services,
        load,
        rng=random.Random(f"{args.seed}-faults"),
        kinds=args.kinds,
        every=args.fault_every,
        workers=workers,
        run_start_offsets=run_start_offsets,
    )
    log(f"chaos {run}: {args.orders} orders at {args.rate}/s, faults {', '.join(args.kinds)}")
    faults.start()
    try:
        load.run()
    finally:
        load_end = time.time()
        log(f"chaos {run}: all orders placed; ending the fault in progress")
        faults.finish()
        faults.restore()
    quiet_from = time.time()

    audit = Audit(infra, run, orders, stock)
    log(f"chaos {run}: waiting for quiescence (at most {args.settle_timeout:.0f} s)")
    quiescent = wait_for_quiescence(infra, audit, args.settle_timeout)
    settled = time.time() - quiet_from
    dlt_after = end_offsets(infra, dlt_topics)
    found = audit.check(dlt_before, dlt_after, run_started)
    synchronous_commit = audit.db["order"].rows("SHOW synchronous_commit")[0][0]

    phases = {
        "static_membership": infra.settings().get("SAGA_STATIC_MEMBERSHIP") != "0",
        "synchronous_commit": synchronous_commit,
        "load_start": run_started,
        "load_end": load_end,
        "settled": settled,
        "quiescent": quiescent,
        "total": time.monotonic() - started,
    }
    table = report(
        args, run=run, orders=orders, faults=faults, audit=audit, found=found, phases=phases
    )
    print(table)
    if args.output:
        write_output(args, run, orders, faults, audit, phases)
    if audit.violations:
        print(f"\n{len(audit.violations)} violation(s):")
        for violation in audit.violations[:200]:
            where = f"order {violation.order_id}: " if violation.order_id else ""
            print(f"  [{violation.category}] {where}{violation.message}")
        for order_id in sorted({v.order_id for v in audit.violations if v.order_id})[:50]:
            print(f"\n  history of order {order_id}:")
            for at, before, after, event, reason in audit.history(order_id):
                print(f"    {at:%H:%M:%S.%f} {before or '∅':>15} → {after:<15} {event} {reason}")
        return 1
    print("\nno violations")
    return 0


def write_output(args, run, orders, faults, audit, phases) -> None:
    figures = {
        "run": run,
        "seed": args.seed,
        "orders": len(orders),
        "rate": args.rate,
        "fault_every": args.fault_every,
        "workers": args.workers,
        "static_membership": phases["static_membership"],
        "outcomes": Counter(o.outcome for o in orders),
        "faults": [vars(f) for f in faults.done],
        "crashed": faults.crashed,
        "violations": [vars(v) for v in audit.violations],
        "phases": phases,
    }
    Path(args.output).write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
