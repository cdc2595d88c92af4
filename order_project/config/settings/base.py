"""Settings of the order service shared by every environment, read from the environment."""

from pathlib import Path

from saga_runtime.project_settings import service_settings

globals().update(
    service_settings(
        service="order",
        base_dir=Path(__file__).resolve().parents[2],
        domain_app="orders",
        worker_port=9081,
    )
)
