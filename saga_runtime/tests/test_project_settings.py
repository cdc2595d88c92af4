"""Settings helpers: the environment is read once, production refuses unsafe settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from saga_runtime.project_settings import DEV_SECRET_KEY, check_production, database_from_url


def test_database_url_becomes_a_django_database():
    database = database_from_url("postgres://order:s%40cret@db.example:6543/order_db")
    assert database["NAME"] == "order_db"
    assert (database["USER"], database["PASSWORD"]) == ("order", "s@cret")
    assert (database["HOST"], database["PORT"]) == ("db.example", "6543")


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
