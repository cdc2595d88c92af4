from saga_runtime.project_settings import test_overrides

from .base import *  # noqa: F403

globals().update(test_overrides(globals()))
