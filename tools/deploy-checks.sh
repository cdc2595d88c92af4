#!/usr/bin/env bash
# Deployment checks that need neither a Docker engine nor a cluster (docs/decisions/0006-deployment.md):
#
#   YAML syntax of every compose, Helm values/Chart and workflow file
#   docker/Dockerfile (the one image definition of all four services): hadolint
#   tools/topology.tsv: compose, the Helm values and each project's settings agree with it
#   compose/docker-compose.yml: the Compose Specification schema, and compose-go (the loader
#     of Docker Compose itself) with run-time checks (tools/deploy_checks/composecheck), and
#     nothing that needs a Docker Engine newer than 20.10
#   .github/workflows/ci.yml: the GitHub workflow schema and actionlint (with shellcheck)
#   every shell script (tools/*.sh, tools/deploy_checks/*.sh, .ci/run): shellcheck
#   Helm: lint every chart (dev, and prod with secrets given), render all four services with
#     dev and prod values, validate every object with kubeconform -strict against offline
#     Kubernetes schemas of K8S_VERSIONS, apply the manifest policy (security contexts,
#     probes, worker replicas <= partitions, ...), and prove that bad values are refused:
#     prod without secrets, more workers than partitions, a development secret key.
#
#   bash tools/deploy-checks.sh        exit 0 when every check passes, 1 otherwise
#
# Tools come from registries and are cached in $DEPLOY_CHECKS_CACHE (default .infra/deploy-checks,
# gitignored): helm, kubeconform and actionlint with `go install` from the Go module proxy,
# the Python ones (tools/deploy_checks/requirements.txt) with pip from PyPI. A second run
# installs nothing. Needs go (1.26 or newer: helm 3.22 requires it), python3.11 and the network on the first run only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$(realpath -m "${DEPLOY_CHECKS_CACHE:-$ROOT/.infra/deploy-checks}")
BIN=$CACHE/bin
VENV=$CACHE/venv
SCHEMAS=$CACHE/schemas
RENDERED=$CACHE/rendered
CHECKS=$ROOT/tools/deploy_checks

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12
# The oldest Kubernetes the charts support (Chart.yaml kubeVersion) and the newest with schemas
# in the pinned kubernetes-validate.
K8S_VERSIONS=(1.30.0 1.37.0)
# shellcheck source=tools/topology.sh
. "$ROOT/tools/topology.sh"
# Rendering needs a secret key (no values file holds one) and, for prod, a database URL; these
# exist only for the checks.
CHECKS_KEY=(--set secrets.djangoSecretKey=deploy-checks-only-secret-key-renders-manifests-never-deployed)
PROD_SECRETS=(--set secrets.databaseUrl=postgres://checks:checks@db.invalid:5432/checks_db "${CHECKS_KEY[@]}")

log() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------ tools

# go_tool NAME MODULE_PATH@VERSION: one `go install` per version; a stamp records what $BIN holds.
go_tool() {
    local name=$1 package=$2 stamp="$CACHE/stamps/$1@${2##*@}"
    [[ -x $BIN/$name && -f $stamp ]] && return 0
    log "tools: go install $package"
    GOBIN=$BIN GOFLAGS=-buildvcs=false go install "$package"
    rm -f "$CACHE/stamps/$name@"*
    touch "$stamp"
}

# A stamp holding the checksum of its inputs: a change to one rebuilds, nothing else does.
stamp_current() { [[ -f $1 && $(<"$1") == "$2" ]]; }

install_tools() {
    command -v go >/dev/null || { log "deploy-checks: go is needed (https://go.dev/dl/ or the distribution's golang package)"; exit 1; }
    mkdir -p "$BIN" "$CACHE/stamps"
    go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    go_tool kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
    go_tool actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"

    local sum
    sum=$(cat "$CHECKS/go.mod" "$CHECKS/go.sum" "$CHECKS"/composecheck/*.go | sha256sum)
    if ! [[ -x $BIN/composecheck ]] || ! stamp_current "$CACHE/stamps/composecheck" "$sum"; then
        log "tools: go build composecheck"
        (cd "$CHECKS" && GOFLAGS=-buildvcs=false go build -o "$BIN/composecheck" ./composecheck)
        echo "$sum" >"$CACHE/stamps/composecheck"
    fi

    sum=$(sha256sum <"$CHECKS/requirements.txt")
    if ! [[ -x $VENV/bin/python ]] || ! stamp_current "$CACHE/stamps/venv" "$sum"; then
        log "tools: pip install -r tools/deploy_checks/requirements.txt"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
            -r "$CHECKS/requirements.txt"
        echo "$sum" >"$CACHE/stamps/venv"
        rm -f "$CACHE/stamps/schemas"
    fi

    sum="${K8S_VERSIONS[*]} $(sha256sum <"$CHECKS/k8s_schemas.py")"
    if ! stamp_current "$CACHE/stamps/schemas" "$sum"; then
        rm -rf "$SCHEMAS"
        "$VENV/bin/python" "$CHECKS/k8s_schemas.py" "$SCHEMAS" "${K8S_VERSIONS[@]}" >&2
        echo "$sum" >"$CACHE/stamps/schemas"
    fi
}

# ----------------------------------------------------------------------------------- checks

RESULTS=()
FAILED=0

# check NAME COMMAND...: run, keep going on failure, remember the outcome for the summary.
check() {
    local name=$1 start=$SECONDS rc=0
    shift
    log ""
    log "== $name"
    "$@" >&2 || rc=$?
    if ((rc == 0)); then
        RESULTS+=("PASS  $name ($((SECONDS - start)) s)")
    else
        RESULTS+=("FAIL  $name ($((SECONDS - start)) s)")
        FAILED=1
    fi
}

helm() { "$BIN/helm" "$@"; }
py() { "$VENV/bin/python" "$@"; }

yaml_files() {
    find "$ROOT/compose" "$ROOT/.github/workflows" -name '*.yml' -o -name '*.yaml' 2>/dev/null
    find "$ROOT/helm" -path '*/templates' -prune -o -path '*/charts' -prune \
        -o \( -name '*.yml' -o -name '*.yaml' \) -print
}

check_yaml_syntax() {
    local files
    mapfile -t files < <(yaml_files | sort)
    py "$CHECKS/yaml_syntax.py" "${files[@]}"
}

check_dockerfile() {
    "$VENV/bin/hadolint" --version
    "$VENV/bin/hadolint" "$ROOT/docker/Dockerfile" && echo "hadolint: ok"
}

check_topology() {
    py "$CHECKS/topology_check.py" "$ROOT" && echo "topology: compose, Helm values and settings agree"
}

check_compose() {
    local rc=0
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec \
        "$ROOT/compose/docker-compose.yml" || rc=1
    "$BIN/composecheck" "$ROOT/compose/docker-compose.yml" || rc=1
    return "$rc"
}

check_workflows() {
    local rc=0
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.github-workflows \
        "$ROOT"/.github/workflows/*.yml || rc=1
    # The run: steps go through shellcheck too; pyflakes is not installed (no Python steps).
    if (cd "$ROOT" && "$BIN/actionlint" -shellcheck="$VENV/bin/shellcheck" -pyflakes= .github/workflows/*.yml); then
        echo "actionlint: ok"
    else
        rc=1
    fi
    return "$rc"
}

check_scripts() {
    # -x, from the root: follow what the scripts source (tools/topology.sh).
    (cd "$ROOT" && "$VENV/bin/shellcheck" -x tools/*.sh tools/deploy_checks/*.sh .ci/run) &&
        echo "shellcheck: ok"
}

# The library is packaged into each chart's charts/ (gitignored) from the working tree, offline.
helm_dependencies() {
    local service
    for service in "${SERVICES[@]}"; do
        helm dependency build "$ROOT/helm/$service-service" >/dev/null || return 1
    done
    echo "helm dependency build: ${#SERVICES[@]} charts"
}

# helm lint only logs a `fail` or a missing `required` value ("[INFO] Fail: ..."), by design;
# with complete values neither may happen, so such a line fails the check here.
lint() {
    local output rc=0
    output=$(helm lint --strict "$@" 2>&1) || rc=1
    printf '%s\n' "$output"
    if grep -E '\[INFO\] (Fail|Missing required value):' <<<"$output" >/dev/null; then
        rc=1
    fi
    return "$rc"
}

check_helm_lint() {
    local service chart rc=0
    lint "$ROOT/helm/saga-service-lib" || rc=1
    for service in "${SERVICES[@]}"; do
        chart=$ROOT/helm/$service-service
        lint --kube-version "${K8S_VERSIONS[0]}" "$chart" -f "$chart/values-dev.yaml" \
            "${CHECKS_KEY[@]}" || rc=1
        lint --kube-version "${K8S_VERSIONS[0]}" "$chart" -f "$chart/values-prod.yaml" \
            "${PROD_SECRETS[@]}" || rc=1
    done
    return "$rc"
}

# render SERVICE ENV [HELM ARGS...]: helm template with the release name the README uses.
render() {
    local service=$1 env=$2 chart=$ROOT/helm/$1-service
    shift 2
    helm template "$service-service" "$chart" --namespace saga --kube-version "${K8S_VERSIONS[0]}" \
        -f "$chart/values-$env.yaml" "$@"
}

check_helm_render() {
    local service env rc=0 files=() version
    rm -rf "$RENDERED"
    mkdir -p "$RENDERED"
    for service in "${SERVICES[@]}"; do
        for env in dev prod; do
            local extra=("${CHECKS_KEY[@]}")
            [[ $env == prod ]] && extra=("${PROD_SECRETS[@]}")
            if render "$service" "$env" "${extra[@]}" >"$RENDERED/$service-$env.yaml"; then
                files+=("$RENDERED/$service-$env.yaml")
            else
                log "helm template $service $env failed"
                rc=1
            fi
        done
    done
    echo "helm template: ${#files[@]} renderings in $RENDERED"
    for version in "${K8S_VERSIONS[@]}"; do
        "$BIN/kubeconform" -strict -summary -output text \
            -schema-location "$SCHEMAS/v$version-local-strict/{{.ResourceKind}}{{.KindSuffix}}.json" \
            "${files[@]}" || rc=1
    done
    py "$CHECKS/manifest_policy.py" "${files[@]}" || rc=1
    return "$rc"
}

# refused SERVICE ENV MESSAGE [HELM ARGS...]: rendering must fail, and for the expected reason.
refused() {
    local service=$1 env=$2 message=$3 output
    shift 3
    if output=$(render "$service" "$env" "$@" 2>&1); then
        log "NOT REFUSED: $service $env $* rendered; expected: $message"
        return 1
    fi
    if [[ $output != *"$message"* ]]; then
        log "REFUSED FOR ANOTHER REASON: $service $env $*: $output"
        return 1
    fi
    echo "refused as expected: $service $env $* -> $message"
}

check_helm_refusals() {
    local service rc=0
    for service in "${SERVICES[@]}"; do
        # values-prod.yaml must carry no credentials: rendering it alone has to fail.
        refused "$service" prod "secrets.databaseUrl is required" || rc=1
        refused "$service" prod "secrets.djangoSecretKey is required" \
            --set secrets.databaseUrl=postgres://checks:checks@db.invalid:5432/checks_db || rc=1
        # Nor may values-dev.yaml hold a secret key: a committed key would be everyone's.
        refused "$service" dev "secrets.djangoSecretKey is required" || rc=1
    done
    refused order prod "must be a random value of at least 50 characters" "${PROD_SECRETS[@]}" \
        --set secrets.djangoSecretKey=django-insecure-dev-only-key-do-not-use-in-production || rc=1
    refused order prod "worker.autoscaling.maxReplicas (4) exceeds kafka.partitions (3)" \
        "${PROD_SECRETS[@]}" --set worker.autoscaling.maxReplicas=4 || rc=1
    refused order dev "worker.replicas (4) exceeds kafka.partitions (3)" "${CHECKS_KEY[@]}" \
        --set worker.replicas=4 || rc=1
    refused order dev "image.repository is required" "${CHECKS_KEY[@]}" --set image.repository= || rc=1
    # An existing Secret replaces the chart's: prod renders without credentials, and no Secret.
    local manifests
    if ! manifests=$(render order prod --set secrets.existingSecret=order-secrets); then
        log "existingSecret given, yet prod does not render"
        rc=1
    elif grep -q '^kind: Secret$' <<<"$manifests"; then
        log "existingSecret given, yet the chart still renders a Secret"
        rc=1
    else
        echo "existingSecret: prod renders without credentials and without a Secret of its own"
    fi
    return "$rc"
}

main() {
    local start=$SECONDS
    install_tools
    check "YAML syntax (PyYAML)" check_yaml_syntax
    check "Dockerfile (hadolint)" check_dockerfile
    check "compose file (compose-spec schema, compose-go)" check_compose
    check "service topology (tools/topology.tsv)" check_topology
    check "CI workflow (workflow schema, actionlint)" check_workflows
    check "shell scripts (shellcheck)" check_scripts
    check "helm dependency build" helm_dependencies
    check "helm lint (dev, prod)" check_helm_lint
    check "helm template x8, kubeconform -strict (k8s ${K8S_VERSIONS[*]}), policy" check_helm_render
    check "helm refuses bad values" check_helm_refusals
    log ""
    log "== summary ($((SECONDS - start)) s)"
    printf '%s\n' "${RESULTS[@]}" >&2
    if ((FAILED)); then
        log "deploy-checks: FAILED"
        return 1
    fi
    log "deploy-checks: all passed"
}

main "$@"
