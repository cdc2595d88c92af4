"""Settings shared by the four services, read from the environment.

Only a project's ``config/settings/*.py`` modules call into this module: everything here runs
when Django loads its settings, and nowhere else reads the environment.
"""

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

#: The key local and test settings use when none is given. Production refuses to start with it.
DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def env_decimal(name: str, default: str) -> Decimal:
    value = os.environ.get(name, default)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {value!r}.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Turn ``postgres://user:password@host:port/name`` into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must look like postgres://user:password@host:5432/name, not {url!r}."
        )
    return {
        # Django's PostgreSQL backend, counting connections, queries and their durations for
        # /metrics (django-prometheus).
        "ENGINE": "django_prometheus.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "localhost",
        "PORT": str(parts.port or 5432),
        # Workers and gunicorn threads keep their connection; health checks catch dead ones.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": _statement_options(),
    }


def _statement_options() -> dict:
    """Parameters bound by the server, and statements prepared once a connection has run them
    ``DATABASE_PREPARE_THRESHOLD`` times (5; empty: never, for a transaction-pooling PgBouncer
    without prepared-statement support).

    Every saga step runs the same few statements on a long-lived connection. Parsed and planned
    once instead of each time, the inventory worker's reservation costs PostgreSQL 110 µs instead
    of 190, and sending parameters apart from the text saves the client quoting them
    (docs/decisions/0015).
    """
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5").strip()
    if threshold and not (threshold.isascii() and threshold.isdigit()):
        raise ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD must be a whole number (0: prepare at once) or "
            f"empty (never prepare), not {threshold!r}."
        )
    return {
        "server_side_binding": True,
        "prepare_threshold": int(threshold) if threshold else None,
    }


def min_insync_replicas(replication: int) -> int:
    """``min.insync.replicas`` of the saga topics: ``SAGA_TOPIC_MIN_INSYNC_REPLICAS``, by default
    one less than the replication factor (at least 1).

    The producers send with ``acks=all``, which waits only for the replicas in sync at the time:
    without this, a partition down to its leader alone would acknowledge records held on one
    broker. By default one replica may be down without stopping writes, and an acknowledged
    record is on every other one (replication 3: on two brokers at least).
    """
    value = env_int("SAGA_TOPIC_MIN_INSYNC_REPLICAS", max(1, replication - 1))
    if not 1 <= value <= replication:
        raise ImproperlyConfigured(
            f"SAGA_TOPIC_MIN_INSYNC_REPLICAS must be between 1 and SAGA_TOPIC_REPLICATION "
            f"({replication}), not {value}: above it, every write would be refused."
        )
    return value


def service_settings(*, service: str, base_dir: Path, domain_app: str, worker_port: int) -> dict:
    """Everything a service's ``config/settings/base.py`` needs, as a dict of setting names.

    ``service`` is the short name (``order``); the database, the consumer group, the tracing
    service name and the defaults of the local infrastructure all derive from it.
    """
    replication = env_int("SAGA_TOPIC_REPLICATION", 1)
    return {
        "SERVICE_NAME": service,
        "BASE_DIR": base_dir,
        "SECRET_KEY": env("DJANGO_SECRET_KEY", DEV_SECRET_KEY),
        "DEBUG": env_bool("DJANGO_DEBUG", False),
        "ALLOWED_HOSTS": env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]"),
        # A browser keeps cookies per host, not per port: under one name, logging into one
        # service's admin on localhost would replace the session of the three others.
        "SESSION_COOKIE_NAME": env("DJANGO_SESSION_COOKIE_NAME", f"{service}_sessionid"),
        "CSRF_COOKIE_NAME": env("DJANGO_CSRF_COOKIE_NAME", f"{service}_csrftoken"),
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django_prometheus",
            "rest_framework",
            "rest_framework.authtoken",
            "django_filters",
            "drf_spectacular",
            "drf_spectacular_sidecar",
            "saga_runtime",
            domain_app,
        ],
        "MIDDLEWARE": [
            "django_prometheus.middleware.PrometheusBeforeMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "saga_runtime.middleware.RequestTooLargeMiddleware",
            "saga_runtime.middleware.RejectNulMiddleware",
            "saga_runtime.middleware.DatabaseUnavailableMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "django_prometheus.middleware.PrometheusAfterMiddleware",
        ],
        "ROOT_URLCONF": "config.urls",
        "WSGI_APPLICATION": "config.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DATABASES": {
            "default": database_from_url(
                env("DATABASE_URL", f"postgres://{service}:{service}@localhost:5432/{service}_db")
            )
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        # How long a process may go on accepting an API token after it was revoked or its user
        # deactivated elsewhere (saga_runtime.authentication; 0: ask the database every time).
        "API_TOKEN_CACHE_SECONDS": env_int("API_TOKEN_CACHE_SECONDS", 10),
        "LANGUAGE_CODE": "en-us",
        "TIME_ZONE": "UTC",
        "USE_I18N": False,
        "USE_TZ": True,
        "STATIC_URL": "static/",
        "REST_FRAMEWORK": {
            # Serializers name fields in snake_case; the wire is camelCase, converted once here
            # (djangorestframework-camel-case). HTML forms post the serializers' own names, which
            # the form parsers accept as well as camelCase.
            "DEFAULT_RENDERER_CLASSES": [
                "djangorestframework_camel_case.render.CamelCaseJSONRenderer",
                "djangorestframework_camel_case.render.CamelCaseBrowsableAPIRenderer",
            ],
            "DEFAULT_PARSER_CLASSES": [
                "saga_runtime.parsers.JSONParser",
                "djangorestframework_camel_case.parser.CamelCaseFormParser",
                "djangorestframework_camel_case.parser.CamelCaseMultiPartParser",
            ],
            "DEFAULT_PAGINATION_CLASS": "saga_runtime.pagination.PageNumberPagination",
            "PAGE_SIZE": 20,
            "EXCEPTION_HANDLER": "saga_runtime.api.exception_handler",
            # Programs send "Authorization: Token <key>"; people use the browsable API and the
            # admin with a session (ADR 13). Token first: an anonymous request answers 401
            # with WWW-Authenticate rather than 403.
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "saga_runtime.authentication.CachedTokenAuthentication",
                "rest_framework.authentication.SessionAuthentication",
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_THROTTLE_CLASSES": [
                "rest_framework.throttling.AnonRateThrottle",
                "rest_framework.throttling.UserRateThrottle",
            ],
            "DEFAULT_THROTTLE_RATES": {
                "anon": env("API_THROTTLE_ANON", "60/minute"),
                "user": env("API_THROTTLE_USER", "100/second"),
            },
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": f"{service.capitalize()} service API",
            "DESCRIPTION": f"The {service} service of the saga orders system.",
            "VERSION": "1.0.0",
            # The UI's assets come from this service (drf-spectacular-sidecar), not a CDN.
            "SWAGGER_UI_DIST": "SIDECAR",
            "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
            "REDOC_DIST": "SIDECAR",
            "SERVE_INCLUDE_SCHEMA": False,
            "COMPONENT_SPLIT_REQUEST": True,
            "POSTPROCESSING_HOOKS": [
                "drf_spectacular.hooks.postprocess_schema_enums",
                "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
            ],
        },
        # DRF's name for errors of no one field stays as DRF clients know it.
        "JSON_CAMEL_CASE": {"JSON_UNDERSCOREIZE": {"ignore_keys": ("non_field_errors",)}},
        "LOGGING": logging_config(service),
        "LOGGING_CONFIG": "saga_runtime.logs.configure",
        # The Kafka runtime (saga_runtime.conf reads these lazily).
        "KAFKA_BOOTSTRAP_SERVERS": env("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        "SAGA_TOPIC_PREFIX": env("SAGA_TOPIC_PREFIX", ""),
        "SAGA_TOPIC_PARTITIONS": env_int("SAGA_TOPIC_PARTITIONS", 3),
        "SAGA_TOPIC_REPLICATION": replication,
        "SAGA_TOPIC_MIN_INSYNC_REPLICAS": min_insync_replicas(replication),
        "SAGA_CONSUMER_GROUP": env("SAGA_CONSUMER_GROUP", f"{service}-service"),
        # The worker's static membership id in its group (unset: dynamic membership), unique
        # per worker and stable across its restarts; docs/decisions/0010.
        "SAGA_GROUP_INSTANCE_ID": os.environ.get("SAGA_GROUP_INSTANCE_ID") or None,
        "SAGA_HANDLERS": f"{domain_app}.handlers.HANDLERS",
        # Dotted path to {callable: seconds between runs} the worker also runs, or "" for none.
        "SAGA_PERIODIC_TASKS": "",
        "SAGA_WORKER_PORT": env_int("SAGA_WORKER_PORT", worker_port),
        "SAGA_RETENTION_DAYS": env_int("SAGA_RETENTION_DAYS", 7),
        # How often each worker deletes what is older than the retention (saga_runtime.retention).
        "SAGA_PURGE_INTERVAL_SECONDS": float(env("SAGA_PURGE_INTERVAL_SECONDS", "3600")),
        "SAGA_MAX_CONSECUTIVE_FAILURES": env_int("SAGA_MAX_CONSECUTIVE_FAILURES", 10),
        "SAGA_MAX_HANDLER_ATTEMPTS": env_int("SAGA_MAX_HANDLER_ATTEMPTS", 5),
        "SAGA_RETRY_BACKOFF_MAX_SECONDS": float(env("SAGA_RETRY_BACKOFF_MAX_SECONDS", "15")),
        "SAGA_RELAY_POLL_SECONDS": float(env("SAGA_RELAY_POLL_SECONDS", "1.0")),
        # Most records the worker applies in one transaction (1: one record per transaction).
        "SAGA_BATCH_MAX_RECORDS": env_int("SAGA_BATCH_MAX_RECORDS", 200),
        # Least time between two asynchronous offset commits (revocation and shutdown commit
        # at once, synchronously).
        "SAGA_COMMIT_INTERVAL_SECONDS": float(env("SAGA_COMMIT_INTERVAL_SECONDS", "0.2")),
        # Tracing (saga_runtime.tracing).
        "TRACING_ENABLED": env_bool("TRACING_ENABLED", True),
        "TRACING_SERVICE_NAME": env("OTEL_SERVICE_NAME", f"{service}-service"),
        "TRACING_SAMPLE_RATIO": float(env("TRACING_SAMPLE_RATIO", "1.0")),
        "ZIPKIN_ENDPOINT": env("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans"),
    }


def logging_config(service: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "saga_runtime.logs.ContextFilter", "service": service}},
        "formatters": {"json": {"()": "saga_runtime.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                # stdout, as twelve-factor apps and the README have it; stderr is left to what
                # is not a log line (a crash's traceback).
                "class": "saga_runtime.logs.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            "kafka": {"level": "WARNING"},
        },
    }


def check_production(settings: dict) -> None:
    """Refuse to start a production process with DEBUG on or a development secret key."""
    if settings["DEBUG"]:
        raise ImproperlyConfigured("DEBUG must be off in production (unset DJANGO_DEBUG).")
    key = settings["SECRET_KEY"]
    if key == DEV_SECRET_KEY or len(key) < 50 or key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY to a random value of at least 50 characters in production."
        )


def production_overrides(base_dir: Path) -> dict:
    """Settings production adds to base: no DEBUG default, a required key, hardened cookies,
    and static files collected (``collectstatic``) and served by WhiteNoise."""
    secure = env_bool("DJANGO_SECURE_COOKIES", True)
    return {
        "STATIC_ROOT": base_dir / "staticfiles",
        "DEBUG": env_bool("DJANGO_DEBUG", False),
        # One saga in ten traced unless told otherwise (local and test settings trace all):
        # at 1.0 tracing costs a third of the throughput (docs/decisions/0009).
        "TRACING_SAMPLE_RATIO": float(env("TRACING_SAMPLE_RATIO", "0.1")),
        "SECRET_KEY": env("DJANGO_SECRET_KEY"),
        "SESSION_COOKIE_SECURE": secure,
        "CSRF_COOKIE_SECURE": secure,
        "CSRF_TRUSTED_ORIGINS": env_list("DJANGO_CSRF_TRUSTED_ORIGINS", ""),
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "STORAGES": {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
    }


def test_overrides(settings: dict) -> dict:
    """Settings tests add to base: private topics and consumer group per test session."""
    from uuid import uuid4

    session = uuid4().hex[:8]
    return {
        "DEBUG": False,
        "SAGA_TOPIC_PREFIX": env("SAGA_TOPIC_PREFIX", f"test-{session}-"),
        "SAGA_CONSUMER_GROUP": env(
            "SAGA_CONSUMER_GROUP", f"{settings['SERVICE_NAME']}-test-{session}"
        ),
        "SAGA_RETRY_BACKOFF_MAX_SECONDS": 1.0,
        "SAGA_RELAY_POLL_SECONDS": 0.2,
        "TRACING_ENABLED": env_bool("TRACING_ENABLED", False),
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        # Tests fire requests far faster than any client should; test_throttling.py lowers these.
        "REST_FRAMEWORK": settings["REST_FRAMEWORK"]
        | {"DEFAULT_THROTTLE_RATES": {"anon": "100000/second", "user": "100000/second"}},
    }
