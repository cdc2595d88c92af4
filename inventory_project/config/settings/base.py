"""Settings of the inventory service shared by every environment, read from the environment."""

from pathlib import Path

from saga_runtime.project_settings import service_settings

globals().update(
    service_settings(
        service="inventory",
        base_dir=Path(__file__).resolve().parents[2],
        domain_app="inventory",
        worker_port=9082,
    )
)
