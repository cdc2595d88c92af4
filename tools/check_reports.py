"""Fail unless every tox env that runs pytest left a JUnit report with tests that ran and passed.

A green tox run in which a suite collected nothing (or was skipped) must not pass CI.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

EXPECTED = ["events", "runtime", "order", "inventory", "payment", "shipment", "e2e", "apifuzz"]


def main(directory: str) -> int:
    failures = []
    total = 0
    for name in EXPECTED:
        path = Path(directory) / f"{name}.xml"
        if not path.exists():
            failures.append(f"{name}: no report at {path}")
            continue
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
        count = {
            key: sum(int(s.get(key, 0)) for s in suites)
            for key in ("tests", "failures", "errors", "skipped")
        }
        ran = count["tests"] - count["skipped"]
        total += ran
        print(
            f"{name:10} {ran:4} ran, {count['failures']} failed, {count['errors']} errors, "
            f"{count['skipped']} skipped"
        )
        if ran == 0:
            failures.append(f"{name}: no test ran")
        if count["failures"] or count["errors"]:
            failures.append(f"{name}: {count['failures']} failures, {count['errors']} errors")
    print(f"{'total':10} {total:4} tests ran")
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "reports"))
