"""Settings helpers: the environment is read once, production refuses unsafe settings, the
four services' admins can be used side by side."""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, override_settings

from saga_runtime.project_settings import (
    DEV_SECRET_KEY,
    check_production,
    database_from_url,
    min_insync_replicas,
    service_settings,
)


def test_database_url_becomes_a_django_database():
    database = database_from_url("postgres://order:s%40cret@db.example:6543/order_db")
    assert database["NAME"] == "order_db"
    assert (database["USER"], database["PASSWORD"]) == ("order", "s@cret")
    assert (database["HOST"], database["PORT"]) == ("db.example", "6543")


def test_statements_are_bound_by_the_server_and_prepared_after_five_runs(monkeypatch):
    monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    options = database_from_url("postgres://u:p@h/db")["OPTIONS"]
    assert options == {"server_side_binding": True, "prepare_threshold": 5}


@pytest.mark.parametrize(("value", "threshold"), [("0", 0), (" 20 ", 20), ("", None)])
def test_the_prepare_threshold_comes_from_the_environment(monkeypatch, value, threshold):
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", value)
    assert database_from_url("postgres://u:p@h/db")["OPTIONS"]["prepare_threshold"] == threshold


@pytest.mark.parametrize("value", ["-1", "often", "2.5"])
def test_a_prepare_threshold_that_is_not_a_count_is_refused(monkeypatch, value):
    monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", value)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PREPARE_THRESHOLD"):
        database_from_url("postgres://u:p@h/db")


@pytest.mark.parametrize(("replication", "expected"), [(1, 1), (2, 1), (3, 2), (5, 4)])
def test_topics_keep_writing_with_one_replica_down_by_default(monkeypatch, replication, expected):
    monkeypatch.delenv("SAGA_TOPIC_MIN_INSYNC_REPLICAS", raising=False)
    assert min_insync_replicas(replication) == expected


def test_min_insync_replicas_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SAGA_TOPIC_MIN_INSYNC_REPLICAS", "3")
    assert min_insync_replicas(3) == 3


@pytest.mark.parametrize("value", ["0", "4"])
def test_min_insync_replicas_beyond_the_replication_is_refused(monkeypatch, value):
    monkeypatch.setenv("SAGA_TOPIC_MIN_INSYNC_REPLICAS", value)
    with pytest.raises(ImproperlyConfigured, match="between 1 and SAGA_TOPIC_REPLICATION"):
        min_insync_replicas(3)


@pytest.mark.django_db
def test_a_statement_run_often_is_prepared_on_the_connection():
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%prepare-me%"],
            )
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        for number in range(6):
            cursor.execute('SELECT %s::int AS "prepare-me"', [number])
    assert prepared() == 1


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "postgres://u:p@h/", "nonsense"])
def test_database_url_of_another_kind_is_refused(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)


@pytest.mark.parametrize(
    "settings",
    [
        {"DEBUG": True, "SECRET_KEY": "x" * 64},
        {"DEBUG": False, "SECRET_KEY": DEV_SECRET_KEY},
        {"DEBUG": False, "SECRET_KEY": "too-short"},
    ],
)
def test_production_refuses_debug_or_a_weak_key(settings):
    with pytest.raises(ImproperlyConfigured):
        check_production(settings)


def test_production_accepts_a_real_key_without_debug():
    check_production({"DEBUG": False, "SECRET_KEY": "k3y-" + "x" * 60})


SERVICES = ["order", "inventory", "payment", "shipment"]


def settings_of(service: str) -> dict:
    return service_settings(
        service=service, base_dir=Path(service), domain_app=f"{service}s", worker_port=0
    )


def test_the_four_services_default_to_cookie_names_of_their_own(monkeypatch):
    monkeypatch.delenv("DJANGO_SESSION_COOKIE_NAME", raising=False)
    monkeypatch.delenv("DJANGO_CSRF_COOKIE_NAME", raising=False)
    names = [
        name
        for service in SERVICES
        for name in (
            settings_of(service)["SESSION_COOKIE_NAME"],
            settings_of(service)["CSRF_COOKIE_NAME"],
        )
    ]
    assert names[:2] == ["order_sessionid", "order_csrftoken"]
    assert len(set(names)) == 8


def test_cookie_names_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SESSION_COOKIE_NAME", "shop_session")
    monkeypatch.setenv("DJANGO_CSRF_COOKIE_NAME", "shop_csrf")
    settings = settings_of("order")
    assert (settings["SESSION_COOKIE_NAME"], settings["CSRF_COOKIE_NAME"]) == (
        "shop_session",
        "shop_csrf",
    )


@pytest.mark.django_db
def test_one_browser_stays_logged_into_two_services_admins_at_once(monkeypatch, django_user_model):
    """One cookie jar for both, as a browser has for every port of localhost; each service's
    admin login (CSRF checked) leaves the other's session and CSRF cookie alone."""
    monkeypatch.delenv("DJANGO_SESSION_COOKIE_NAME", raising=False)
    monkeypatch.delenv("DJANGO_CSRF_COOKIE_NAME", raising=False)
    browser = Client(enforce_csrf_checks=True)
    for service in ("order", "inventory"):
        django_user_model.objects.create_superuser(f"{service}-admin", password="pw")
        with cookies_of(service) as (session, csrf):
            browser.get("/admin/login/")
            answer = browser.post(
                "/admin/login/",
                {
                    "username": f"{service}-admin",
                    "password": "pw",
                    "csrfmiddlewaretoken": browser.cookies[csrf].value,
                },
            )
            assert answer.status_code == 302, answer.content[:300]
            assert session in browser.cookies

    for service in ("order", "inventory"):
        with cookies_of(service):
            assert browser.get("/admin/").context["user"].username == f"{service}-admin"


@contextmanager
def cookies_of(service: str):
    """Act as ``service``'s web process: its session and CSRF cookie names."""
    names = settings_of(service)
    with override_settings(
        SESSION_COOKIE_NAME=names["SESSION_COOKIE_NAME"], CSRF_COOKIE_NAME=names["CSRF_COOKIE_NAME"]
    ):
        yield names["SESSION_COOKIE_NAME"], names["CSRF_COOKIE_NAME"]
