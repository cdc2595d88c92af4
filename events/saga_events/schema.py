"""JSON Schemas (draft 2020-12) of the events, their committed snapshots, the compatibility rule.

The schema of an event is generated from its dataclass fields. A snapshot of each is committed in
``schemas/<EventType>.json``, so any change of the wire format shows up in review::

    python -m saga_events.schema --check    # exit 1 if a snapshot differs from its event class
    python -m saga_events.schema --write    # regenerate; refuses breaking changes
    python -m saga_events.schema --write --allow-breaking
"""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from saga_events.base import Event, event_fields
from saga_events.contracts import ALL_EVENTS

SCHEMA_DIR = Path(__file__).parent / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

_TYPE_SCHEMAS: dict[type, dict[str, Any]] = {
    UUID: {"type": "string", "format": "uuid"},
    int: {"type": "integer"},
    Decimal: {"type": "number", "multipleOf": 0.01},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
}

# Keywords that document a field without constraining its values.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "$comment"})


def event_schema(event_class: type[Event]) -> dict[str, Any]:
    """The JSON Schema of ``event_class``'s JSON form, as the codec writes and reads it."""
    specs = event_fields(event_class)
    return {
        "$schema": DRAFT_2020_12,
        "title": event_class.event_type,
        "type": "object",
        "properties": {spec.wire_name: dict(_TYPE_SCHEMAS[spec.type]) for spec in specs},
        "required": [spec.wire_name for spec in specs if spec.required],
        "additionalProperties": True,
    }


def _constraints(field_schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in field_schema.items() if key not in _ANNOTATIONS}


def check_compatible(old_schema: dict[str, Any], new_schema: dict[str, Any]) -> list[str]:
    """The breaking changes from ``old_schema`` to ``new_schema``; an empty list means compatible.

    Services are deployed one at a time, so both directions must keep working: consumers built on
    the old schema read what new producers write (so no required field may disappear, be renamed
    or change type), and new consumers read what old producers wrote (so no field may become
    required). Adding an optional field is the compatible way to evolve an event.
    """
    old_properties = old_schema.get("properties", {})
    new_properties = new_schema.get("properties", {})
    old_required = old_schema.get("required", [])
    new_required = new_schema.get("required", [])
    problems = []
    for name in old_required:
        if name not in new_properties:
            problems.append(f"required field {name!r} was removed or renamed")
        elif name not in new_required:
            problems.append(f"field {name!r} is no longer required")
    for name in new_required:
        if name not in old_required:
            problems.append(f"field {name!r} is newly required (old producers do not send it)")
    for name, old_field in old_properties.items():
        if name in new_properties:
            before, after = _constraints(old_field), _constraints(new_properties[name])
            if before != after:
                problems.append(
                    f"field {name!r} changed from {json.dumps(before)} to {json.dumps(after)}"
                )
    if old_schema.get("additionalProperties", True) and not new_schema.get(
        "additionalProperties", True
    ):
        problems.append("unknown fields are no longer allowed")
    return problems


def render(schema: dict[str, Any]) -> str:
    """The snapshot text of ``schema``: stable, indented, newline-terminated."""
    return json.dumps(schema, indent=2) + "\n"


def generated_snapshots() -> dict[str, str]:
    """Snapshot file name → text, for every event of the contract."""
    return {
        f"{event_class.event_type}.json": render(event_schema(event_class))
        for event_class in ALL_EVENTS
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saga_events.schema",
        description="Check or regenerate the committed JSON Schema snapshots of the saga events.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a snapshot is out of date")
    mode.add_argument("--write", action="store_true", help="regenerate the snapshots")
    parser.add_argument(
        "--allow-breaking", action="store_true", help="with --write: accept breaking changes"
    )
    parser.add_argument(
        "--dir", type=Path, default=SCHEMA_DIR, help="snapshot directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    expected = generated_snapshots()
    existing = {path.name: path.read_text(encoding="utf-8") for path in args.dir.glob("*.json")}
    differing = sorted(
        name
        for name in expected.keys() | existing.keys()
        if expected.get(name) != existing.get(name)
    )
    breaking = []
    for name in differing:
        if name not in expected:
            breaking.append(f"{name}: event removed")
        elif name in existing:
            problems = check_compatible(json.loads(existing[name]), json.loads(expected[name]))
            breaking.extend(f"{name}: {problem}" for problem in problems)
    for problem in breaking:
        print(f"breaking: {problem}", file=sys.stderr)

    if args.check:
        for name in differing:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if differing else 0
    if breaking and not args.allow_breaking:
        print("refusing to write breaking changes (see --allow-breaking)", file=sys.stderr)
        return 1
    args.dir.mkdir(parents=True, exist_ok=True)
    for name in differing:
        path = args.dir / name
        if name in expected:
            path.write_text(expected[name], encoding="utf-8")
            print(f"wrote {path}")
        else:
            path.unlink()
            print(f"removed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
