"""Settings of the order service shared by every environment, read from the environment."""

from pathlib import Path

from saga_runtime.project_settings import env_int, service_settings

globals().update(
    service_settings(
        service="order",
        base_dir=Path(__file__).resolve().parents[2],
        domain_app="orders",
        worker_port=9081,
    )
)

# The order's status appears in orders and in their history lines: one enum in the schema.
globals()["SPECTACULAR_SETTINGS"]["ENUM_NAME_OVERRIDES"] = {
    "OrderStatusEnum": "orders.models.OrderStatus"
}

# How long an order may stay PENDING, CONFIRMED or PAID, and how long a compensation may stay
# unconfirmed, before the worker steps in (orders.services.expire_saga, ADR 0011).
SAGA_DEADLINE_SECONDS = env_int("SAGA_DEADLINE_SECONDS", 300)
SAGA_PERIODIC_TASKS = "orders.handlers.PERIODIC_TASKS"
# How long POST /api/orders remembers an Idempotency-Key (orders.services.place_order_once).
IDEMPOTENCY_KEY_RETENTION_HOURS = env_int("IDEMPOTENCY_KEY_RETENTION_HOURS", 24)
