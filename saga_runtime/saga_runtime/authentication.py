"""API token authentication that does not ask the database on every request."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def _cache_key(key: str) -> str:
    # Hashed: a cache shared between processes must not hold the credentials themselves.
    return "saga-api-token:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, its answer for each key kept in Django's cache for
    ``API_TOKEN_CACHE_SECONDS`` (0: not kept).

    The lookup (a query joining the token and its user) was a fifth of the order service's
    CPU per request (docs/decisions/0018). Only a key that authenticates an active user is
    kept; an unknown key or an inactive user is refused by the query each time. Deleting or
    changing a token, or changing its user (deactivating them), drops the entry at once in the
    process that made the change; with the default per-process cache, other processes go on
    accepting the key for at most ``API_TOKEN_CACHE_SECONDS``.
    """

    def authenticate_credentials(self, key: str):
        if (found := cache.get(_cache_key(key))) is not None:
            return found
        found = super().authenticate_credentials(key)
        if settings.API_TOKEN_CACHE_SECONDS > 0:
            cache.set(_cache_key(key), found, settings.API_TOKEN_CACHE_SECONDS)
        return found


@receiver([post_save, post_delete], sender=Token)
def _forget_token(sender, instance: Token, **kwargs) -> None:
    cache.delete(_cache_key(instance.key))


@receiver([post_save, post_delete], sender=settings.AUTH_USER_MODEL)
def _forget_tokens_of_user(sender, instance, **kwargs) -> None:
    keys = Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)
    cache.delete_many([_cache_key(key) for key in keys])
