import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Create (or update) a user of this service's API and print its token. Run it in each "
        "service with the same --token to use one token for all four. Example: "
        "DJANGO_API_USER_PASSWORD=secret python manage.py create_api_user alice --staff"
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The user's name; created if new, else updated.")
        parser.add_argument(
            "--staff",
            action="store_true",
            help="Staff: may add stock, read every order, payment and shipment, and view "
            "everything in the admin.",
        )
        parser.add_argument("--superuser", action="store_true", help="Superuser (implies --staff).")
        parser.add_argument(
            "--token",
            help="The API token to give the user (40 hex characters; default: keep the user's "
            "token, or generate one).",
        )

    @transaction.atomic
    def handle(self, *args, username: str, staff: bool, superuser: bool, token: str | None, **o):
        if token is not None and not (len(token) == 40 and set(token) <= set("0123456789abcdef")):
            raise CommandError("--token must be 40 lowercase hexadecimal characters.")
        user, created = get_user_model().objects.get_or_create(username=username)
        user.is_staff = staff or superuser
        user.is_superuser = superuser
        # The password (for the admin and the browsable API) only ever comes from the
        # environment, never the command line, where other users of the machine could read it.
        if password := os.environ.get("DJANGO_API_USER_PASSWORD"):
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        # A staff member who may log into the admin should also see what is in it.
        views = Permission.objects.filter(codename__startswith="view_")
        user.user_permissions.set(views if user.is_staff and not superuser else [])
        if token is not None:
            Token.objects.filter(user=user).exclude(key=token).delete()
            key, _ = Token.objects.get_or_create(user=user, key=token)
        else:
            key, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(key.key)
