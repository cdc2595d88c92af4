from saga_runtime.project_settings import env_bool

from .base import *  # noqa: F403

# Off unless asked for: the browsable API and the admin work without it (whitenoise serves
# their static files from the apps), and a DEBUG page shows settings and source paths.
DEBUG = env_bool("DJANGO_DEBUG", False)
WHITENOISE_USE_FINDERS = True
