"""Generated JSON Schemas, their committed snapshots, and the compatibility rule."""

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from saga_events import ALL_EVENTS, Event
from saga_events.base import event_fields
from saga_events.codec import encode
from saga_events.schema import SCHEMA_DIR, check_compatible, event_schema, main, render


def test_schema_matches_its_committed_snapshot(event_class: type[Event]) -> None:
    snapshot = SCHEMA_DIR / f"{event_class.event_type}.json"
    assert snapshot.read_text(encoding="utf-8") == render(event_schema(event_class)), (
        "schema changed: run `python -m saga_events.schema --write` and review the diff"
    )


def test_there_is_no_snapshot_without_an_event() -> None:
    expected = {f"{event_class.event_type}.json" for event_class in ALL_EVENTS}
    assert {path.name for path in SCHEMA_DIR.glob("*.json")} == expected


def test_schema_describes_what_the_codec_writes(event_class, make_event) -> None:
    schema = event_schema(event_class)
    written = json.loads(encode(make_event(event_class)))
    assert list(written) == list(schema["properties"])
    required = [spec.wire_name for spec in event_fields(event_class) if spec.required]
    assert schema["required"] == required
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is True


def test_field_types_in_the_schema() -> None:
    properties = event_schema(ALL_EVENTS[0])["properties"]
    assert properties["eventId"] == {"type": "string", "format": "uuid"}
    assert properties["orderId"] == {"type": "integer"}
    assert properties["occurredAt"] == {"type": "string", "format": "date-time"}
    assert properties["skuCode"] == {"type": "string"}
    assert properties["price"] == {"type": "number", "multipleOf": 0.01}


def _changed(schema: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(schema)


def test_an_unchanged_schema_is_compatible(event_class: type[Event]) -> None:
    schema = event_schema(event_class)
    assert check_compatible(schema, _changed(schema)) == []


def test_removing_any_field_is_breaking(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    for name in old["required"]:
        new = _changed(old)
        del new["properties"][name]
        new["required"].remove(name)
        assert check_compatible(old, new) == [f"required field {name!r} was removed or renamed"]


def test_renaming_a_field_is_breaking(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["properties"]["orderNo"] = new["properties"].pop("orderNumber")
    new["required"] = ["orderNo" if name == "orderNumber" else name for name in new["required"]]
    assert check_compatible(old, new) == [
        "required field 'orderNumber' was removed or renamed",
        "field 'orderNo' is newly required (old producers do not send it)",
    ]


@pytest.mark.parametrize(
    ("name", "retyped"),
    [
        ("orderId", {"type": "string"}),
        ("orderNumber", {"type": "string"}),
        ("occurredAt", {"type": "integer"}),
    ],
)
def test_retyping_a_field_is_breaking(event_class, name: str, retyped: dict[str, Any]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["properties"][name] = retyped
    [problem] = check_compatible(old, new)
    assert problem.startswith(f"field {name!r} changed from ")


def test_changing_money_precision_is_breaking() -> None:
    old = event_schema(ALL_EVENTS[0])
    new = _changed(old)
    new["properties"]["price"]["multipleOf"] = 0.001
    assert check_compatible(old, new) == [
        (
            'field \'price\' changed from {"type": "number", "multipleOf": 0.01} '
            'to {"type": "number", "multipleOf": 0.001}'
        )
    ]


def test_adding_an_optional_field_is_compatible(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["properties"]["note"] = {"type": "string"}
    assert check_compatible(old, new) == []


def test_documenting_a_field_is_compatible(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["properties"]["orderId"]["description"] = "the order's database id"
    assert check_compatible(old, new) == []


def test_adding_a_required_field_is_breaking(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["properties"]["note"] = {"type": "string"}
    new["required"].append("note")
    assert check_compatible(old, new) == [
        "field 'note' is newly required (old producers do not send it)"
    ]


def test_making_a_required_field_optional_is_breaking(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["required"].remove("orderId")
    assert check_compatible(old, new) == ["field 'orderId' is no longer required"]


def test_rejecting_unknown_fields_is_breaking(event_class: type[Event]) -> None:
    old = event_schema(event_class)
    new = _changed(old)
    new["additionalProperties"] = False
    assert check_compatible(old, new) == ["unknown fields are no longer allowed"]


def test_the_committed_snapshots_pass_the_cli_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "saga_events.schema", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert main(["--write", "--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        path.name for path in SCHEMA_DIR.glob("*.json")
    )
    capsys.readouterr()

    (tmp_path / "OrderPaidEvent.json").write_text("{}\n", encoding="utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert "out of date: OrderPaidEvent.json" in capsys.readouterr().err


def test_write_refuses_breaking_changes(tmp_path: Path, capsys) -> None:
    main(["--write", "--dir", str(tmp_path)])
    snapshot = tmp_path / "OrderPaidEvent.json"
    # Pretend the committed schema had a required field the event class no longer has.
    old = json.loads(snapshot.read_text(encoding="utf-8"))
    old["properties"]["carrier"] = {"type": "string"}
    old["required"].append("carrier")
    snapshot.write_text(render(old), encoding="utf-8")
    (tmp_path / "OrderCancelledEvent.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["--write", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "breaking: OrderPaidEvent.json: required field 'carrier' was removed" in err
    assert "breaking: OrderCancelledEvent.json: event removed" in err
    assert json.loads(snapshot.read_text(encoding="utf-8")) == old

    assert main(["--write", "--allow-breaking", "--dir", str(tmp_path)]) == 0
    assert main(["--check", "--dir", str(tmp_path)]) == 0
    assert not (tmp_path / "OrderCancelledEvent.json").exists()
