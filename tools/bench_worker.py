"""Single-worker benchmark: fill a topic with valid events, time one worker draining them.

The worker is the service's own ``manage.py consume_saga`` under production settings (DEBUG
off), on a database of its own (``bench_<service>``, made afresh) and on topics and a consumer
group of its own (a ``bench-<run>-`` prefix, deleted afterwards), so nothing of the running
system is touched.
The rate counts records whose offsets the worker has committed, which it does only after their
transaction (processed-events row, effect, outbox rows) has committed; it runs from the first
committed offset to the last, so the process's start-up and group join are left out. The
relay's publishing of the outbox is timed beside it. Needs ``tools/infra.sh up``:

    .infra/venv/bin/python tools/bench_worker.py inventory -n 20000 --output bench-worker.json
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition

from figures import write_figures
from proc_cpu import CpuMeter, MachineMeter, system_processes
from saga_client import infra_dir
from saga_events import Event, OrderConfirmedEvent, OrderPaidEvent, OrderPlacedEvent
from saga_events.codec import encode
from saga_events.topics import DEFAULT_TOPICS
from saga_runtime.topics import delete_topics

REPO_ROOT = Path(__file__).resolve().parents[1]
SKU = "BENCH-SKU"


def order_placed(order_id: int) -> OrderPlacedEvent:
    return OrderPlacedEvent.new(
        order_id=order_id,
        order_number=uuid.uuid4(),
        sku_code=SKU,
        price=Decimal("10.00"),
        quantity=1,
    )


def order_confirmed(order_id: int) -> OrderConfirmedEvent:
    return OrderConfirmedEvent.new(
        order_id=order_id, order_number=uuid.uuid4(), price=Decimal("10.00"), quantity=1
    )


def order_paid(order_id: int) -> OrderPaidEvent:
    return OrderPaidEvent.new(
        order_id=order_id, order_number=uuid.uuid4(), sku_code=SKU, quantity=1
    )


#: service → (the event its worker drains, how to make one, Python run before the worker to
#: make every event applicable, given the number of events)
WORKLOADS: dict[str, tuple[type[Event], Callable[[int], Event], Callable[[int], str]]] = {
    "inventory": (
        OrderPlacedEvent,
        order_placed,
        lambda n: (
            f"from inventory.services import add_stock; add_stock(sku_code={SKU!r}, quantity={n})"
        ),
    ),
    "payment": (OrderConfirmedEvent, order_confirmed, lambda n: "pass"),
    "shipment": (OrderPaidEvent, order_paid, lambda n: "pass"),
}


def manage(service: str, env: dict, *args: str, **kwargs) -> subprocess.Popen | None:
    command = [sys.executable, "manage.py", *args]
    cwd = REPO_ROOT / f"{service}_project"
    if kwargs.pop("background", False):
        return subprocess.Popen(command, cwd=cwd, env=env, **kwargs)
    subprocess.run(command, cwd=cwd, env=env, check=True, **kwargs)
    return None


def fresh_database(service: str, name: str) -> str:
    """Drop and create ``name``, owned by the service's role; return its URL."""
    url = f"postgres://{service}:{service}@localhost:5432"
    with psycopg.connect(f"{url}/{service}_db", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{url}/{name}"


def headers(event: Event, index: int, tracing_ratio: float | None) -> list[tuple[str, str]]:
    """The headers the upstream relay sends with the ``index``-th event: with tracing on, the
    ``traceparent`` of its saga's trace, sampled for a share ``tracing_ratio`` of the events
    (evenly spread, so every run samples as many); with tracing off, no traceparent."""
    sent = {"eventType": event.event_type, "content-type": "application/json"}
    if tracing_ratio is not None:
        sampled = int((index + 1) * tracing_ratio) > int(index * tracing_ratio)
        flags = "01" if sampled else "00"
        sent["traceparent"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{flags}"
    return list(sent.items())


def fill(bootstrap: str, topic: str, events: Iterator[Event], tracing_ratio: float | None) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    count = 0
    for event in events:
        while True:
            try:
                producer.produce(
                    topic,
                    key=str(event.order_number),
                    value=encode(event),
                    headers=headers(event, count, tracing_ratio),
                )
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
    if producer.flush(60):
        raise RuntimeError(f"{topic}: the broker did not take every record")
    return count


def committed(consumer: Consumer, partitions: list[TopicPartition]) -> int:
    return sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))


def unsent_outbox(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT count(*) FROM saga_runtime_outboxmessage WHERE sent_at IS NULL"
        ).fetchone()[0]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("service", choices=sorted(WORKLOADS), help="Whose worker to measure.")
    parser.add_argument("-n", "--records", type=int, default=20000, help="Events (20000).")
    parser.add_argument(
        "--tracing-ratio",
        type=float,
        help="Trace with this sampling ratio, the events carrying the traceparent of a saga "
        "sampled at it (default: tracing off, no traceparent).",
    )
    parser.add_argument("--output", default="bench-worker.json", help="Where to write figures.")
    parser.add_argument("--label", default="", help="A note stored with the figures.")
    parser.add_argument(
        "--timeout", type=float, default=900, help="Give up after this many seconds (900)."
    )
    args = parser.parse_args()
    if args.records < 1:
        parser.error("--records must be positive")
    return args


def main() -> int:
    args = parse_args()
    event_class, make_event, setup = WORKLOADS[args.service]
    run = uuid.uuid4().hex[:8]
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": fresh_database(args.service, f"bench_{args.service}"),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SAGA_TOPIC_PREFIX": f"bench-{run}-",
        "SAGA_CONSUMER_GROUP": f"bench-{run}",
        "TRACING_ENABLED": "false" if args.tracing_ratio is None else "true",
        "TRACING_SAMPLE_RATIO": str(args.tracing_ratio or 0),
    }
    database_url = env["DATABASE_URL"]
    manage(args.service, env, "migrate", "--noinput", "-v0")
    manage(args.service, env, "create_topics", stdout=subprocess.DEVNULL)
    manage(args.service, env, "shell", "-c", setup(args.records))
    topic = env["SAGA_TOPIC_PREFIX"] + DEFAULT_TOPICS[event_class]
    print(f"filling {topic} with {args.records} {event_class.__name__}s", file=sys.stderr)
    fill(bootstrap, topic, (make_event(i + 1) for i in range(args.records)), args.tracing_ratio)

    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": env["SAGA_CONSUMER_GROUP"]})
    partitions = [
        TopicPartition(topic, p) for p in watcher.list_topics(topic).topics[topic].partitions
    ]
    infra = infra_dir()
    log_path = infra / "logs" / f"bench-worker-{args.service}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        worker = manage(
            args.service,
            env,
            "consume_saga",
            "--port",
            "0",
            background=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    cpu = CpuMeter({"worker": worker.pid} | system_processes(infra))
    machine = MachineMeter()
    started = time.monotonic()
    deadline = started + args.timeout
    first = last = None
    done_at_first = 0
    try:
        while (done := committed(watcher, partitions)) < args.records:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker stopped or timed out with {done} records committed")
            if first is None and done:
                first, done_at_first = time.monotonic(), done
            time.sleep(0.05)
        last = time.monotonic()
        while unsent_outbox(database_url):
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not publish the outbox in time")
            time.sleep(0.05)
        relayed = time.monotonic()
        cpu_seconds, machine_cpu = cpu.read(), machine.read()
    finally:
        worker.send_signal(signal.SIGTERM)
        exit_code = worker.wait(60)
        watcher.close()
        delete_topics(bootstrap, env["SAGA_TOPIC_PREFIX"])
    first = first or last
    measured = args.records - done_at_first
    figures = {
        "label": args.label,
        "service": args.service,
        "event": event_class.__name__,
        "records": args.records,
        "seconds_to_drain": round(last - started, 3),
        "records_per_second": round(measured / (last - first), 1) if last > first else None,
        "ms_per_record": round(1000 * (last - first) / measured, 3) if measured else None,
        "seconds_until_outbox_sent": round(relayed - started, 3),
        "cpu_seconds": cpu_seconds,
        "worker_cpu_ms_per_record": round(1000 * cpu_seconds["worker"] / args.records, 3),
        "machine_cpu": machine_cpu,
        "worker_exit_code": exit_code,
        "worker_log": str(log_path),
        "tracing_ratio": args.tracing_ratio,
    }
    write_figures(args.output, figures)
    return 0 if exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
