"""schemathesis against each running service's own OpenAPI schema: every operation, with a
staff token (staff may call all of them) and, on the order service, a customer's too. Each
answer must be no server error and must match the schema: its status code, content type and
body documented, invalid input rejected with a 4xx, and no operation open without credentials.

The apifuzz tox env runs this module (``pytest fuzz_openapi.py``) on the system that
``conftest.py`` starts; its name is not ``test_*.py`` so that the e2e env, which does not
install schemathesis, leaves it out.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from saga_client import (
    add_stock,
    payments_of,
    place_order,
    shipments_of,
    wait_terminal,
)

#: The checks every answer must pass. Not positive_data_acceptance: some valid-looking input
#: is refused on purpose by rules a schema cannot state (price × quantity over the maximum,
#: stock over its limit), and answers 400 with a message.
CHECKS = {
    mode: [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.response_schema_conformance,
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.ignored_auth,
    ]
    + ([schemathesis.checks.negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    for mode in GenerationMode
}

#: Generated cases per (service, role) pass, shared out evenly over its operations and the two
#: generation modes (data that fits the schema, and data that does not). hypothesis may use
#: fewer where an operation has fewer distinct inputs; the counts printed are what was sent.
CASES_PER_PASS = 300
#: What any request may take: ``GET /api/orders/{id}?wait=30`` waits up to 30 s by design.
REQUEST_TIMEOUT = 60

#: Reproducible: the same cases on every run (derandomize, no example database), no shrinking
#: (a failing case is counted, not raised), and no deadline or health check that a slow,
#: shared machine could trip.
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@dataclass
class Report:
    """What one pass sent and what came back."""

    cases: Counter = field(default_factory=Counter)  # by operation
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: Counter = field(default_factory=Counter)  # by check
    #: The first case of each distinct failure (check, operation, kind), and how many there were.
    distinct: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    #: Operations schemathesis finds nothing to make invalid in (every string is a valid
    #: ``{sku_code}``), so that have no negative cases.
    not_negatable: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def known(services) -> dict[str, list]:
    """Existing records of every kind, so that detail operations answer 200 (and their bodies
    are checked) rather than only 404: one order per end of the saga, placed by the customer,
    with the payments and shipments they made."""
    sku = "FUZZ-1"
    add_stock(services, sku, 1000)
    # Happy, out of stock (a SKU never stocked), payment declined, carrier rejects: the
    # saga's four paths (README).
    placed = [
        place_order(services, sku_code, price, quantity)["id"]
        for sku_code, price, quantity in [
            (sku, "49.99", 2),
            ("FUZZ-NONE", "49.99", 2),
            (sku, "6000.00", 3),
            (sku, "1.50", 60),
        ]
    ]
    orders = [wait_terminal(services, order_id)["id"] for order_id in placed]
    return {
        "order": orders,
        "inventory": [sku],
        "payment": [p["id"] for order_id in orders for p in payments_of(services, order_id)],
        "shipment": [s["id"] for order_id in orders for s in shipments_of(services, order_id)],
    }


def strategy(operation, mode: GenerationMode, known_values: list):
    """The operation's cases; for one with a path parameter, half of the positive ones name an
    existing record."""
    generated = operation.as_strategy(generation_mode=mode)
    names = [parameter.name for parameter in operation.path_parameters]
    if mode is GenerationMode.NEGATIVE or not names:
        return generated
    [name] = names
    existing = st.sampled_from(known_values).flatmap(
        lambda value: operation.as_strategy(generation_mode=mode, path_parameters={name: value})
    )
    return st.one_of(generated, existing)


def fuzz(operation, mode: GenerationMode, cases: int, token: str, known_values: list, report):
    headers = {"Authorization": f"Token {token}"}

    @settings(FUZZ_SETTINGS, max_examples=cases)
    @given(case=strategy(operation, mode, known_values))
    def run(case) -> None:
        response = case.call(headers=headers, timeout=REQUEST_TIMEOUT)
        report.cases[operation.label] += 1
        report.statuses[operation.label][response.status_code] += 1
        for check in CHECKS[mode]:
            try:
                case.validate_response(
                    response,
                    checks=[check],
                    headers=headers,
                    transport_kwargs={"headers": headers, "timeout": REQUEST_TIMEOUT},
                )
            except FailureGroup as group:
                report.failures[check.__name__] += 1
                for failure in group.exceptions:
                    key = f"{check.__name__} on {operation.label}: {failure.code} {failure.title}"
                    report.distinct[key] += 1
                    report.examples.setdefault(key, str(failure))

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        report.not_negatable.append(operation.label)


@pytest.mark.parametrize(
    "service, role",
    [
        ("order", "staff"),
        ("order", "customer"),
        ("inventory", "staff"),
        ("payment", "staff"),
        ("shipment", "staff"),
    ],
)
def test_answers_conform_to_the_schema(system, known, service, role, capsys):
    schema = schemathesis.openapi.from_url(
        system.url(service, "/api/schema/?format=json"), timeout=REQUEST_TIMEOUT
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    per_run = max(1, CASES_PER_PASS // (2 * len(operations)))
    report = Report()
    for operation in operations:
        for mode in GenerationMode:
            fuzz(operation, mode, per_run, system.tokens[role], known[service], report)

    checks = dict.fromkeys(check.__name__ for mode in GenerationMode for check in CHECKS[mode])
    with capsys.disabled():
        print(
            f"\n{service} as {role}: {len(operations)} operations, "
            f"{sum(report.cases.values())} cases; failures: "
            + ", ".join(f"{check} {report.failures[check]}" for check in checks)
        )
        for operation in operations:
            answered = sorted(report.statuses[operation.label].items())
            statuses = ", ".join(f"{code}×{count}" for code, count in answered)
            negative = " (valid only)" if operation.label in report.not_negatable else ""
            print(
                f"  {operation.label}: {report.cases[operation.label]} cases{negative} ({statuses})"
            )
    assert not report.failures, "\n\n".join(
        f"{key} (×{count})\n{report.examples[key]}" for key, count in report.distinct.items()
    )
    # Else a pass could be green having checked only error answers (a token gone wrong, say).
    succeeded = {
        operation.label
        for operation in operations
        if any(200 <= code < 300 for code in report.statuses[operation.label])
    }
    assert succeeded == {operation.label for operation in operations}
