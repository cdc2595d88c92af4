"""Policy checks on rendered Helm manifests, beyond what a JSON schema can say.

kubeconform proves each manifest is a valid Kubernetes object; this proves the objects keep the
rules the charts promise (docs/decisions/0006-deployment.md), so that a template edit that
drops one fails the checks:

- no unexpanded ${...} text (the seed's prod values shipped some);
- every pod: non-root uid 10001, RuntimeDefault seccomp, no service account token; every
  container: read-only root, no privilege escalation, ALL capabilities dropped, resource
  requests and a memory limit, /tmp mounted;
- every Deployment container has liveness and readiness probes on /health/live, /health/ready;
- workers: never more replicas, or HPA maximum, than topic partitions, and no surge on rollout;
- a web or worker pod is given the time its shutdown takes (terminationGracePeriodSeconds);
- migrations run as a pre-install and pre-upgrade hook.

    python manifest_policy.py RENDERED.yaml...
"""

import sys
from pathlib import Path

import yaml

#: What stopping takes, in seconds: a web pod's preStop (5) and gunicorn's --graceful-timeout
#: (40, the image's; a ?wait= may take 30); a worker's batch, relay flush (30) and commit.
SHUTDOWN_SECONDS = {"web": 45, "worker": 60}


def pod_problems(where: str, kind: str, spec: dict) -> list[str]:
    problems = []
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: automountServiceAccountToken must be false")
    security = spec.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True or security.get("runAsUser") != 10001:
        problems.append(f"{where}: pod must run as non-root uid 10001")
    if (security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: pod seccompProfile must be RuntimeDefault")
    for container in spec.get("containers", []):
        at = f"{where} container {container.get('name')}"
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation must be false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{at}: readOnlyRootFilesystem must be true")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{at}: capabilities must drop ALL")
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        if not requests.get("cpu") or not requests.get("memory"):
            problems.append(f"{at}: cpu and memory requests are required")
        if not (resources.get("limits") or {}).get("memory"):
            problems.append(f"{at}: a memory limit is required")
        if not any(m.get("mountPath") == "/tmp" for m in container.get("volumeMounts") or []):
            problems.append(f"{at}: /tmp must be mounted (the root filesystem is read-only)")
        image = container.get("image", "")
        if ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest"):
            problems.append(f"{at}: image {image!r} needs a pinned tag")
        if kind == "Deployment":
            for probe, path in (
                ("livenessProbe", "/health/live"),
                ("readinessProbe", "/health/ready"),
            ):
                if ((container.get(probe) or {}).get("httpGet") or {}).get("path") != path:
                    problems.append(f"{at}: {probe} must GET {path}")
    return problems


def file_problems(path: Path) -> list[str]:
    text = path.read_text()
    problems = [
        f"{path}:{number}: unexpanded ${{...}} text: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if "${" in line
    ]
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    partitions = None
    for doc in docs:
        if doc["kind"] == "ConfigMap" and "helm.sh/hook" not in annotations_of(doc):
            partitions = int(doc["data"]["SAGA_TOPIC_PARTITIONS"])
    if partitions is None:
        return [*problems, f"{path}: no ConfigMap with SAGA_TOPIC_PARTITIONS"]
    migrate_hook = False
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        where = f"{path}: {kind} {name}"
        labels = doc["metadata"].get("labels") or {}
        component = labels.get("app.kubernetes.io/component")
        if kind in ("Deployment", "Job"):
            problems += pod_problems(where, kind, doc["spec"]["template"]["spec"])
        if kind == "Deployment" and component == "worker":
            if doc["spec"].get("replicas", 1) > partitions:
                problems.append(
                    f"{where}: {doc['spec']['replicas']} replicas > {partitions} partitions"
                )
            if doc["spec"]["strategy"]["rollingUpdate"].get("maxSurge") != 0:
                problems.append(f"{where}: a worker rollout must not surge above the partitions")
        if kind == "Deployment" and component in SHUTDOWN_SECONDS:
            grace = doc["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
            if grace < SHUTDOWN_SECONDS[component]:
                problems.append(
                    f"{where}: terminationGracePeriodSeconds {grace} < the"
                    f" {SHUTDOWN_SECONDS[component]} s its shutdown may take"
                )
        if kind == "HorizontalPodAutoscaler" and component == "worker":
            if doc["spec"]["maxReplicas"] > partitions:
                problems.append(
                    f"{where}: maxReplicas {doc['spec']['maxReplicas']} > {partitions} partitions"
                )
        if kind == "Job" and component == "migrate":
            hooks = set(annotations_of(doc).get("helm.sh/hook", "").split(","))
            migrate_hook = {"pre-install", "pre-upgrade"} <= hooks
    if not migrate_hook:
        problems.append(f"{path}: no migration Job hooked to pre-install and pre-upgrade")
    return problems


def annotations_of(doc: dict) -> dict:
    return doc["metadata"].get("annotations") or {}


def main(paths: list[str]) -> int:
    problems = [problem for path in paths for problem in file_problems(Path(path))]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"manifest policy: {len(paths)} renderings, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
