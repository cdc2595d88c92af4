"""Settings of the payment service shared by every environment, read from the environment."""

from pathlib import Path

from saga_runtime.project_settings import service_settings

globals().update(
    service_settings(
        service="payment",
        base_dir=Path(__file__).resolve().parents[2],
        domain_app="payments",
        worker_port=9083,
    )
)

from saga_runtime.project_settings import env_decimal  # noqa: E402

# How payments are decided (payments.decisions): an amount above the limit is declined; below
# it, PAYMENT_SUCCESS_RATE is the seed's random success rate for demos (1.0: always succeed).
PAYMENT_DECLINE_ABOVE = env_decimal("PAYMENT_DECLINE_ABOVE", "5000.00")
PAYMENT_SUCCESS_RATE = float(env_decimal("PAYMENT_SUCCESS_RATE", "1.0"))
