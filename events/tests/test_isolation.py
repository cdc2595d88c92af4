"""The package stays stdlib-only: every service, tool and test environment can import it."""

import importlib.metadata
import subprocess
import sys

PROBE = """
import sys
before = set(sys.modules)
import saga_events, saga_events.codec, saga_events.schema, saga_events.topics
added = {name.partition(".")[0] for name in set(sys.modules) - before}
print(sorted(added - set(sys.stdlib_module_names) - {"saga_events"}))
print("django" in sys.modules)
"""


def test_importing_saga_events_loads_no_django_and_no_third_party_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "False"]


def test_the_distribution_declares_no_dependencies() -> None:
    assert not importlib.metadata.requires("saga-events")
