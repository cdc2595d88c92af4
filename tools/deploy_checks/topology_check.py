"""Hold the places that cannot read tools/topology.tsv to it: compose (web ports, databases),
the Helm charts' values (ports, dev database), and each project's settings (worker port).

    python topology_check.py <repository root>     exit 1 and say what differs
"""

import re
import sys
from pathlib import Path

import yaml


def problems(root: Path) -> list[str]:
    sys.path.insert(0, str(root / "tools"))
    from topology import SERVICES

    found = []
    compose = yaml.safe_load((root / "compose" / "docker-compose.yml").read_text())["services"]
    for name, service in SERVICES.items():
        where = f"compose {name}-web"
        web = compose.get(f"{name}-web", {})
        port = service.web_port
        if f"{port}:{port}" not in web.get("ports", []):
            found.append(f"{where}: ports {web.get('ports')} do not publish {port}")
        database = web.get("environment", {}).get("DATABASE_URL", "")
        if not database.endswith(f"/{service.database}"):
            found.append(f"{where}: DATABASE_URL {database!r} is not {service.database}")

        chart = root / "helm" / f"{name}-service"
        values = yaml.safe_load((chart / "values.yaml").read_text())["service"]
        if (values.get("name"), values.get("port"), values.get("workerPort")) != (
            name,
            port,
            service.worker_port,
        ):
            found.append(f"helm {name}-service values.yaml: service is {values}")
        dev = yaml.safe_load((chart / "values-dev.yaml").read_text())
        url = str(dev.get("secrets", {}).get("databaseUrl", ""))
        if url and not url.endswith(f"/{service.database}"):
            found.append(f"helm {name}-service values-dev.yaml: databaseUrl {url!r}")

        settings = (root / service.project / "config" / "settings" / "base.py").read_text()
        ports = re.findall(r"worker_port=(\d+)", settings)
        if ports != [str(service.worker_port)]:
            found.append(f"{service.project} settings: worker_port {ports}")
        if f'service="{name}"' not in settings:
            found.append(f"{service.project} settings: not the {name} service")
    return found


if __name__ == "__main__":
    found = problems(Path(sys.argv[1]).resolve())
    for problem in found:
        print(f"topology: {problem} (tools/topology.tsv says otherwise)", file=sys.stderr)
    sys.exit(1 if found else 0)
