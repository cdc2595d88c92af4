"""One order, one trace: Zipkin holds the spans of all four services, linked parent to child
across Kafka, through to SHIPPED or to the last compensation; the logs lead to the same trace."""

import json
import urllib.parse
import urllib.request
import uuid

import pytest

from saga_client import add_stock, place_order, poll, wait_terminal

SERVICE_NAMES = {"order-service", "inventory-service", "payment-service", "shipment-service"}

HAPPY_RECORDS = {
    ("inventory-service", "order-placed-topic"),
    ("order-service", "inventory-reserved-topic"),
    ("payment-service", "order-confirmed-topic"),
    ("order-service", "payment-succeeded-topic"),
    ("shipment-service", "order-paid-topic"),
    ("order-service", "shipment-shipped-topic"),
    ("inventory-service", "shipment-shipped-topic"),
}
COMPENSATED_RECORDS = {
    ("inventory-service", "order-placed-topic"),
    ("order-service", "inventory-reserved-topic"),
    ("payment-service", "order-confirmed-topic"),
    ("order-service", "payment-succeeded-topic"),
    ("shipment-service", "order-paid-topic"),
    ("order-service", "shipment-failed-topic"),
    ("inventory-service", "order-shipment-failed-topic"),  # the release
    ("payment-service", "order-shipment-failed-topic"),  # the refund
    ("order-service", "payment-refunded-topic"),
    ("order-service", "inventory-released-topic"),  # the release confirmed
}


class Trace:
    """One trace as Zipkin's API returns it: a list of spans."""

    def __init__(self, spans: list[dict], topic_prefix: str) -> None:
        self.spans = spans
        self.by_id = {span["id"]: span for span in spans}
        self.topic_prefix = topic_prefix

    @staticmethod
    def service(span: dict) -> str:
        return span["localEndpoint"]["serviceName"]

    def topic(self, span: dict) -> str:
        return span["tags"]["messaging.destination.name"].removeprefix(self.topic_prefix)

    def of_kind(self, kind: str) -> list[dict]:
        return [span for span in self.spans if span.get("kind") == kind]

    def records(self) -> set[tuple[str, str]]:
        """(service, topic) of every record handled in this trace."""
        return {(self.service(span), self.topic(span)) for span in self.of_kind("CONSUMER")}

    def consumer(self, service: str, topic: str) -> dict:
        [span] = [
            span
            for span in self.of_kind("CONSUMER")
            if (self.service(span), self.topic(span)) == (service, topic)
        ]
        return span


def zipkin_traces(zipkin_url: str, order_number: str) -> list[list[dict]]:
    query = urllib.parse.urlencode(
        {"annotationQuery": f"orderNumber={order_number}", "lookback": 3_600_000, "limit": 10}
    )
    with urllib.request.urlopen(f"{zipkin_url}/api/v2/traces?{query}", timeout=10) as answer:
        return json.loads(answer.read())


def trace_of(system, order_number: str, records: set[tuple[str, str]]) -> Trace:
    """The order's trace once the span of every expected record, and the parent of every span,
    have reached Zipkin, after checking it is the only trace about the order.

    Each process exports its spans in batches of its own, so a consumer span can reach Zipkin
    before the producer span of another process that is its parent.
    """
    prefix = system.env["SAGA_TOPIC_PREFIX"]

    def complete() -> list[list[dict]] | None:
        traces = zipkin_traces(system.zipkin_url, order_number)
        spans = [span for trace in traces for span in trace]
        ids = {span["id"] for span in spans}
        handled = Trace(spans, prefix).records()
        parents = {span["parentId"] for span in spans if "parentId" in span}
        return traces if records <= handled and parents <= ids else None

    traces = poll(complete, timeout=30, message=f"the spans of order {order_number} in Zipkin")
    assert len(traces) == 1, f"order {order_number} is spread over {len(traces)} traces"
    return Trace(traces[0], prefix)


def assert_one_connected_saga(trace: Trace, order_number: str) -> None:
    """One root (the POST), every span reachable from it, and every hop across Kafka a
    consumer span whose parent is a producer span of another service, for the same topic."""
    [root] = [span for span in trace.spans if "parentId" not in span]
    assert (trace.service(root), root["kind"], root["name"]) == (
        "order-service",
        "SERVER",
        "post api/orders",
    )
    assert all(span["parentId"] in trace.by_id for span in trace.spans if span is not root)
    assert {trace.service(span) for span in trace.spans} == SERVICE_NAMES
    for consumer in trace.of_kind("CONSUMER"):
        producer = trace.by_id[consumer["parentId"]]
        assert producer["kind"] == "PRODUCER"
        assert trace.service(producer) != trace.service(consumer)
        assert trace.topic(producer) == trace.topic(consumer)
        tags = consumer["tags"]
        assert tags["orderNumber"] == order_number
        assert tags["eventId"] == producer["tags"]["eventId"]
        assert tags["messaging.destination.partition.id"] in {"0", "1", "2"}
        assert int(tags["messaging.kafka.offset"]) >= 0
        assert tags["saga.outcome"] == "handled"
    for producer in trace.of_kind("PRODUCER"):
        cause = trace.by_id[producer["parentId"]]
        assert cause["kind"] in {"SERVER", "CONSUMER"}
        assert trace.service(cause) == trace.service(producer)
        assert producer["tags"]["orderNumber"] == order_number
    # The database work of each request and record is in the trace too.
    assert trace.of_kind("CLIENT")


@pytest.fixture(scope="module")
def shipped(system, services) -> tuple[dict, Trace]:
    sku = f"TRACE-{uuid.uuid4().hex[:8]}"
    add_stock(services, sku, 10)
    order = wait_terminal(services, place_order(services, sku, "12.00", 2)["id"])
    assert order["status"] == "SHIPPED"
    return order, trace_of(system, order["orderNumber"], HAPPY_RECORDS)


def test_a_shipped_order_is_one_trace_across_the_four_services(shipped):
    order, trace = shipped

    assert_one_connected_saga(trace, order["orderNumber"])
    assert trace.records() == HAPPY_RECORDS


def test_a_rejected_shipment_traces_its_release_and_refund_in_the_orders_trace(system, services):
    sku = f"TRACE-{uuid.uuid4().hex[:8]}"
    add_stock(services, sku, 100)
    order = wait_terminal(services, place_order(services, sku, "1.50", 60)["id"])
    assert order["status"] == "SHIPMENT_FAILED"

    trace = trace_of(system, order["orderNumber"], COMPENSATED_RECORDS)

    assert_one_connected_saga(trace, order["orderNumber"])
    assert trace.records() == COMPENSATED_RECORDS
    # Both compensations hang off the one OrderShipmentFailed the order service sent.
    release = trace.consumer("inventory-service", "order-shipment-failed-topic")
    refund = trace.consumer("payment-service", "order-shipment-failed-topic")
    assert release["parentId"] == refund["parentId"]
    refunded = trace.consumer("order-service", "payment-refunded-topic")
    assert trace.by_id[trace.by_id[refunded["parentId"]]["parentId"]] is refund
    confirmed = trace.consumer("order-service", "inventory-released-topic")
    assert trace.by_id[trace.by_id[confirmed["parentId"]]["parentId"]] is release


def test_every_log_line_is_json_and_a_records_lines_lead_to_its_trace(system, shipped):
    order, trace = shipped
    consumers = {span["id"]: span for span in trace.of_kind("CONSUMER")}

    handled = []
    for name, service in system.services.items():
        for role, log in service.logs.items():
            for number, text in enumerate(log.read_text().splitlines(), 1):
                line = json.loads(text)  # fails on any line that is not one JSON object
                assert isinstance(line, dict), f"{log}:{number}"
                assert line["service"] == name, f"{log}:{number}"
                assert {"time", "level", "message", "trace_id", "span_id"} <= set(line)
                if role == "worker" and line.get("orderNumber") == order["orderNumber"]:
                    handled.append(line)
    # Each record of the saga logged its outcome inside its span, in the saga's trace.
    assert len(handled) >= len(HAPPY_RECORDS)
    for line in handled:
        assert line["trace_id"] == trace.spans[0]["traceId"]
        span = consumers[line["span_id"]]
        assert Trace.service(span) == f"{line['service']}-service"
        assert line["eventId"] == span["tags"]["eventId"]
