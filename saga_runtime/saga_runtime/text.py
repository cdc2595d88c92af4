"""Text from other services, made fit for PostgreSQL."""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with what PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD.

    Reasons and SKUs arrive in events from other services, and the codec accepts any JSON
    string. One the database refused would fail every attempt, so its record would be
    dead-lettered and its saga stuck; a replaced character keeps the saga moving.
    """
    return _UNSTORABLE.sub("\ufffd", text)
