"""Lay out offline Kubernetes JSON schemas for kubeconform, from the kubernetes-validate wheel.

kubernetes-validate (PyPI) ships the strict JSON schemas of every Kubernetes minor version it
supports, one file per kind and API version ("deployment-apps-v1.json", the names kubeconform's
{{.ResourceKind}}{{.KindSuffix}} template expects), sharing one _definitions.json. Their $refs
are absolute ("/api/_definitions.json#...") below an https $id, which kubeconform would try to
fetch; this rewrites them to the sibling file and drops the $ids, so that every reference
resolves on disk.

    python k8s_schemas.py DEST VERSION...     e.g. DEST 1.30.0 1.37.0
"""

import json
import sys
from pathlib import Path

import kubernetes_validate


def lay_out(dest: Path, version: str) -> int:
    name = f"v{version}-local-strict"
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / name
    if not source.is_dir():
        raise SystemExit(f"kubernetes-validate {kubernetes_validate.__version__} has no {name}")
    target = dest / name
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text())
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        (target / path.name).write_text(text)
        count += 1
    return count


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    dest = Path(argv[0])
    for version in argv[1:]:
        print(f"k8s schemas: {lay_out(dest, version)} files for v{version} in {dest}")


if __name__ == "__main__":
    main(sys.argv[1:])
