"""``manage.py create_api_user``: a user with a token, the same token wherever it is given."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

KEY = "0123456789abcdef0123456789abcdef01234567"


def create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_user", *args, stdout=out)
    return out.getvalue().strip()


def test_a_new_user_gets_the_given_token_and_no_usable_password():
    assert create("alice", "--token", KEY) == KEY

    user = get_user_model().objects.get(username="alice")
    assert Token.objects.get(user=user).key == KEY
    assert not user.has_usable_password()
    assert not (user.is_staff or user.is_superuser)


def test_running_it_again_keeps_the_user_and_token_or_replaces_the_token_when_told():
    first = create("bob")
    assert create("bob") == first

    assert create("bob", "--token", KEY) == KEY
    assert list(Token.objects.filter(user__username="bob").values_list("key", flat=True)) == [KEY]


def test_the_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_API_USER_PASSWORD", "s3cret-pw")

    create("carol")

    assert get_user_model().objects.get(username="carol").check_password("s3cret-pw")


def test_staff_may_view_everything_in_the_admin_but_change_nothing():
    create("dave", "--staff")

    dave = get_user_model().objects.get(username="dave")
    assert dave.is_staff and not dave.is_superuser
    assert dave.has_perm("saga_runtime.view_outboxmessage")
    assert not dave.has_perm("saga_runtime.change_outboxmessage")


@pytest.mark.parametrize("token", ["short", KEY.upper(), KEY[:-1] + "g"])
def test_a_malformed_token_is_refused(token):
    with pytest.raises(CommandError, match="40 lowercase hexadecimal"):
        create("erin", "--token", token)
    assert not get_user_model().objects.filter(username="erin").exists()


def test_a_superuser_is_staff_too_and_may_do_everything_in_the_admin():
    key = create("root", "--superuser")

    root = get_user_model().objects.get(username="root")
    assert root.is_superuser and root.is_staff
    assert root.has_perm("saga_runtime.change_outboxmessage")
    assert root.has_perm("saga_runtime.replay_deadletter")
    assert Token.objects.get(user=root).key == key


def test_running_it_again_sets_the_flags_to_what_it_says_this_time():
    create("frank", "--superuser")

    create("frank", "--staff")
    frank = get_user_model().objects.get(username="frank")
    assert frank.is_staff and not frank.is_superuser

    create("frank")
    frank = get_user_model().objects.get(username="frank")
    assert not (frank.is_staff or frank.is_superuser)
    assert not frank.has_perm("saga_runtime.view_outboxmessage")
