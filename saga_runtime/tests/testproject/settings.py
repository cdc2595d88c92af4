"""A minimal service for the runtime's own tests: the ``testapp`` handlers on private topics."""

from pathlib import Path

from saga_runtime.project_settings import database_from_url, env, service_settings, test_overrides

globals().update(
    service_settings(
        service="runtime", base_dir=Path(__file__).parent, domain_app="testapp", worker_port=0
    )
)
globals().update(test_overrides(globals()))
# The runtime has no database of its own; its tests borrow the order service's role.
DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", "postgres://order:order@localhost:5432/runtime_db")
    )
}
ROOT_URLCONF = "testproject.urls"
SAGA_MAX_HANDLER_ATTEMPTS = 3
