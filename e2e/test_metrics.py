"""Every /metrics endpoint, scraped before and after: the counters move by what happened.

A worker counts every record it receives (``saga_records_consumed_total``) and what became of
it (``saga_records_total``); the order service counts sagas by how they ended. Each test
compares scrapes taken around its own saga, so values left by earlier tests do not matter.
"""

import urllib.request
import uuid
from collections import Counter

import pytest
from confluent_kafka import Consumer, Message, Producer
from conftest import Scrape, scrape

from saga_client import add_stock, place_order, poll, wait_terminal
from saga_runtime.kafka import produce_and_wait

WORKER_FAMILIES = ("saga_records_consumed_total", "saga_records_total")


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def record_deltas(system, before: dict[str, Scrape], after: dict[str, Scrape]) -> Counter:
    """Every change of the workers' record counters, as (service, metric, topic, outcome)."""
    prefix = system.env["SAGA_TOPIC_PREFIX"]
    changes: Counter = Counter()
    for service in before:
        for (name, labels), value in after[service].items():
            if name in WORKER_FAMILIES and (
                change := value - before[service].get((name, labels), 0)
            ):
                labels = dict(labels)
                topic = labels["topic"].removeprefix(prefix)
                changes[(service, name, topic, labels.get("outcome", ""))] = change
    return changes


def handled(service: str, topic: str) -> dict[tuple[str, str, str, str], int]:
    return {
        (service, "saga_records_consumed_total", topic, ""): 1,
        (service, "saga_records_total", topic, "handled"): 1,
    }


SHIPPED_SAGA = Counter(
    handled("inventory", "order-placed-topic")
    | handled("order", "inventory-reserved-topic")
    | handled("payment", "order-confirmed-topic")
    | handled("order", "payment-succeeded-topic")
    | handled("shipment", "order-paid-topic")
    | handled("order", "shipment-shipped-topic")
    | handled("inventory", "shipment-shipped-topic")
)


@pytest.fixture
def workers(system):
    """Scrapes of every worker's /metrics, by service."""
    return lambda: {name: scrape(svc.worker_url) for name, svc in system.services.items()}


@pytest.fixture
def kafka(system):
    """A producer and a reader on the system's topics (prefixed names), as any client would."""
    bootstrap = system.env["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = system.env["SAGA_TOPIC_PREFIX"]
    producer = Producer({"bootstrap.servers": bootstrap})

    class Client:
        def topic(self, name: str) -> str:
            return prefix + name

        def send(self, topic: str, key: bytes, value: bytes, headers=None) -> None:
            produce_and_wait(producer, topic, key=key, value=value, headers=headers or [])

        def read(self, topic: str, key: bytes) -> Message:
            """The first record of ``key`` on ``topic``, read from the beginning."""
            consumer = Consumer(
                {
                    "bootstrap.servers": bootstrap,
                    "group.id": f"e2e-reader-{uuid.uuid4().hex}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                }
            )
            consumer.subscribe([topic])
            try:

                def of_key() -> Message | None:
                    message = consumer.poll(0.5)
                    ok = message is not None and not message.error() and message.key() == key
                    return message if ok else None

                return poll(of_key, timeout=30, message=f"a record of {key!r} on {topic}")
            finally:
                consumer.close()

    return Client()


def total_delta(before: Scrape, after: Scrape, name: str) -> float:
    """The change of ``name`` summed over all its labels."""
    return sum(value - before.get(key, 0.0) for key, value in after.items() if key[0] == name)


def shipped_saga(system, services, workers) -> tuple[dict, dict[str, Scrape], dict[str, Scrape]]:
    """Place an order and wait until it has shipped and every record of it has been counted;
    return the order and the workers' scrapes from before and after."""
    sku = f"METRICS-{uuid.uuid4().hex[:8]}"
    add_stock(services, sku, 10)
    before = workers()
    order = wait_terminal(services, place_order(services, sku, "3.00", 1)["id"])
    assert order["status"] == "SHIPPED"
    # The last records (inventory's ShipmentShipped) may still be in hand when the order ends.
    after = poll(
        lambda: (s := workers()) and record_deltas(system, before, s) == SHIPPED_SAGA and s,
        message="every record of the saga counted",
    )
    return order, before, after


def test_a_shipped_saga_moves_each_counter_once_per_record(system, services, workers):
    web_before = scrape(services.order)

    _order, before, after = shipped_saga(system, services, workers)

    assert record_deltas(system, before, after) == SHIPPED_SAGA
    for service in before:
        handled_here = sum(
            count
            for (svc, _name, _topic, outcome), count in SHIPPED_SAGA.items()
            if svc == service and outcome == "handled"
        )
        assert (
            total_delta(before[service], after[service], "saga_handler_duration_seconds_count")
            == handled_here
        )
    published = {
        service: delta(before[service], after[service], "saga_outbox_published_total")
        for service in before
    }
    assert published == {"order": 3, "inventory": 1, "payment": 1, "shipment": 1}
    order_worker = (before["order"], after["order"])
    assert total_delta(*order_worker, "saga_ended_total") == 1
    assert delta(*order_worker, "saga_ended_total", status="SHIPPED") == 1
    assert delta(*order_worker, "saga_duration_seconds_count", status="SHIPPED") == 1
    # Every row the saga wrote to an outbox has left; none waits.
    poll(
        lambda: all(s[("saga_outbox_backlog", frozenset())] == 0 for s in workers().values()),
        message="empty outboxes",
    )

    web = (web_before, scrape(services.order))
    assert delta(*web, "django_http_requests_total_by_method_total", method="POST") == 1
    assert delta(*web, "django_http_responses_total_by_status_total", status="201") == 1
    assert delta(*web, "django_db_execute_total", alias="default", vendor="postgresql") > 0


def test_a_web_scrape_counts_the_requests_of_every_gunicorn_process(services):
    # The system's web servers run two processes each; a request on a connection of its own
    # may go to either, and so may each scrape.
    before = scrape(services.order)
    for _ in range(30):
        with urllib.request.urlopen(f"{services.order}/health/live", timeout=10) as answer:
            assert answer.status == 200
    after = scrape(services.order)

    # The 30, and the first scrape's own answer (counted once it was sent).
    assert delta(before, after, "django_http_responses_total_by_status_total", status="200") == 31


def test_a_redelivered_record_is_counted_as_duplicate(system, services, workers, kafka):
    order, _, before = shipped_saga(system, services, workers)
    topic = kafka.topic("order-placed-topic")
    original = kafka.read(topic, order["orderNumber"].encode())

    # The same record again, eventId and all, as a producer retry or a replay would send it.
    kafka.send(topic, original.key(), original.value(), original.headers())

    duplicate = Counter(
        {
            ("inventory", "saga_records_consumed_total", "order-placed-topic", ""): 1,
            ("inventory", "saga_records_total", "order-placed-topic", "duplicate"): 1,
        }
    )
    after = poll(
        lambda: (s := workers()) and record_deltas(system, before, s) == duplicate and s,
        message="the duplicate counted",
    )
    assert delta(before["inventory"], after["inventory"], "saga_outbox_published_total") == 0


def test_a_malformed_record_is_counted_as_dead_lettered_and_parked(system, workers, kafka):
    topic = kafka.topic("order-placed-topic")
    key = f"malformed-{uuid.uuid4()}".encode()
    before = workers()

    kafka.send(topic, key, b"{this is not an event")

    dead_lettered = Counter(
        {
            ("inventory", "saga_records_consumed_total", "order-placed-topic", ""): 1,
            ("inventory", "saga_records_total", "order-placed-topic", "dead_lettered"): 1,
        }
    )
    poll(
        lambda: record_deltas(system, before, workers()) == dead_lettered,
        message="the dead letter counted",
    )
    parked = kafka.read(f"{topic}.DLT", key)
    assert parked.value() == b"{this is not an event"
    assert dict(parked.headers())["dlt-original-topic"] == topic.encode()
