"""Settings of the shipment service shared by every environment, read from the environment."""

from pathlib import Path

from saga_runtime.project_settings import service_settings

globals().update(
    service_settings(
        service="shipment",
        base_dir=Path(__file__).resolve().parents[2],
        domain_app="shipments",
        worker_port=9084,
    )
)

from saga_runtime.project_settings import env_decimal, env_int  # noqa: E402

# How the carrier decides (shipments.decisions): more units than fit one parcel are rejected;
# otherwise SHIPMENT_SUCCESS_RATE is the seed's random success rate for demos (1.0: always).
SHIPMENT_MAX_PARCEL_QUANTITY = env_int("SHIPMENT_MAX_PARCEL_QUANTITY", 50)
SHIPMENT_SUCCESS_RATE = float(env_decimal("SHIPMENT_SUCCESS_RATE", "1.0"))
