"""The services of tools/topology.tsv, for Python (stdlib only)."""

from dataclasses import dataclass
from pathlib import Path

#: How far apart the health/metrics ports of a service's workers are (second, third, ...).
WORKER_PORT_STEP = 100


@dataclass(frozen=True)
class Service:
    name: str
    project: str
    web_port: int
    worker_port: int
    database: str

    def worker_ports(self, workers: int) -> list[int]:
        return [self.worker_port + WORKER_PORT_STEP * n for n in range(workers)]


def _load() -> dict[str, Service]:
    lines = (Path(__file__).with_name("topology.tsv")).read_text().splitlines()
    rows = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    return {
        name: Service(name, project, int(web), int(worker), database)
        for name, project, web, worker, database in rows
    }


#: By name, in the saga's order: order, inventory, payment, shipment.
SERVICES: dict[str, Service] = _load()
