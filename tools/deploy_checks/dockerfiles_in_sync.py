"""The four service Dockerfiles must be the same file but for the service's name and ports.

Docker has no include, so each <service>_project/Dockerfile is a full copy; this keeps the
copies from drifting apart (a fix made in one and forgotten in the others fails the checks).

    python dockerfiles_in_sync.py REPO_ROOT
"""

import sys
from pathlib import Path

# service -> (web port, worker port), as in the conventions
SERVICES = {
    "order": (8081, 9081),
    "inventory": (8082, 9082),
    "payment": (8083, 9083),
    "shipment": (8084, 9084),
}


def normalized(root: Path, service: str) -> str:
    port, worker_port = SERVICES[service]
    text = (root / f"{service}_project" / "Dockerfile").read_text()
    text = text.replace(f"ARG PORT={port}\n", "ARG PORT=@PORT@\n")
    text = text.replace(f"ARG WORKER_PORT={worker_port}\n", "ARG WORKER_PORT=@WORKER_PORT@\n")
    return text.replace(service, "@SERVICE@")


def main(root: Path) -> int:
    reference = normalized(root, "order")
    drifted = [s for s in SERVICES if normalized(root, s) != reference]
    for service in drifted:
        print(
            f"{service}_project/Dockerfile differs from order_project/Dockerfile beyond the "
            "service name and ports",
            file=sys.stderr,
        )
    print(f"dockerfiles in sync: {len(SERVICES) - len(drifted)}/{len(SERVICES)}")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
