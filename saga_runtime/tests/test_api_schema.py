"""``manage.py api_schema``: the service's OpenAPI schema against its ``openapi.yaml`` snapshot,
so that an API change is a visible diff."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture
def snapshot(settings, tmp_path) -> Path:
    """Where the command keeps the snapshot: ``openapi.yaml`` beside ``manage.py`` (BASE_DIR),
    here in a directory of the test's own."""
    settings.BASE_DIR = tmp_path
    return tmp_path / "openapi.yaml"


def api_schema(*args: str) -> str:
    out = io.StringIO()
    call_command("api_schema", *args, stdout=out)
    return out.getvalue()


def test_check_passes_on_the_snapshot_write_made(snapshot):
    api_schema("--write")

    assert snapshot.read_text().startswith("openapi: 3.")
    assert api_schema("--check").strip() == f"{snapshot} is up to date"


def test_check_fails_on_a_stale_snapshot_and_leaves_it_as_it_is(snapshot):
    api_schema("--write")
    stale = snapshot.read_text().replace("version: 1.0.0", "version: 0.9.0")
    assert stale != snapshot.read_text()
    snapshot.write_text(stale)

    with pytest.raises(CommandError, match=r"is out of date with the API.*api_schema --write"):
        api_schema("--check")

    assert snapshot.read_text() == stale


def test_check_fails_without_a_snapshot(snapshot):
    with pytest.raises(CommandError, match="is out of date"):
        api_schema("--check")

    assert not snapshot.exists()
