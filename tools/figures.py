"""What every benchmark writes: its figures with the machine they were measured on."""

import json
import os
import platform
from datetime import datetime


def write_figures(path: str, figures: dict) -> None:
    """Add the machine and the time to ``figures``, write them to ``path`` and print them."""
    figures = figures | {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    with open(path, "w") as output:
        json.dump(figures, output, indent=2)
    print(json.dumps(figures, indent=2))


def cpu_model() -> str | None:
    """The processor's name: machines of the same kind have come with different ones, at
    different speeds."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None
