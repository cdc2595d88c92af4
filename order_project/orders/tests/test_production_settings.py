"""``config.settings.production`` as a deployment loads it, in a process of its own: it refuses
DEBUG and a development key, and defaults to what production wants."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
KEY = "k" * 60
#: What a deployment may set; each case starts without any of it.
DEPLOYMENT_VARIABLES = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_SECURE_COOKIES",
    "TRACING_SAMPLE_RATIO",
)
READ = (
    "import django, json; from django.conf import settings; django.setup(); print(json.dumps("
    "{name: getattr(settings, name) for name in ('DEBUG', 'TRACING_SAMPLE_RATIO',"
    " 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE')}))"
)


def load_production(**environment: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", READ],
        cwd=PROJECT,
        env=inherited | {"DJANGO_SETTINGS_MODULE": "config.settings.production"} | environment,
        capture_output=True,
        text=True,
    )


def test_production_settings_default_to_debug_off_secure_cookies_and_a_tenth_traced():
    loaded = load_production(DJANGO_SECRET_KEY=KEY)

    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout) == {
        "DEBUG": False,
        "TRACING_SAMPLE_RATIO": 0.1,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


@pytest.mark.parametrize(
    ("environment", "refusal"),
    [
        ({"DJANGO_SECRET_KEY": KEY, "DJANGO_DEBUG": "true"}, "DEBUG must be off in production"),
        ({}, "Set the DJANGO_SECRET_KEY environment variable."),
        ({"DJANGO_SECRET_KEY": "short"}, "at least 50 characters"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + KEY}, "at least 50 characters"),
    ],
)
def test_production_settings_refuse_to_load_with_debug_or_without_a_real_key(environment, refusal):
    loaded = load_production(**environment)

    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr and refusal in loaded.stderr
