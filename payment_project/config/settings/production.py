from saga_runtime.project_settings import check_production, production_overrides

from .base import *  # noqa: F403

globals().update(production_overrides(BASE_DIR))  # noqa: F405
check_production(globals())
