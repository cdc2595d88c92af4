#!/usr/bin/env bash
# End-to-end smoke test of compose/docker-compose.yml, for CI (it needs a Docker engine with the
# compose plugin, which the deploy checks' machine lacks): build and start the whole system,
# wait until every web process and worker is healthy, drive one order through the saga to
# SHIPPED, then tear everything down (volumes too). On failure, prints the containers' logs.
#
#   bash tools/deploy_checks/compose_smoke.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COMPOSE=(docker compose -f "$ROOT/compose/docker-compose.yml")
STARTUP_SECONDS=${STARTUP_SECONDS:-420}
SAGA_SECONDS=${SAGA_SECONDS:-120}

finish() {
    local status=$?
    if ((status)); then
        "${COMPOSE[@]}" ps --all || true
        "${COMPOSE[@]}" logs --no-color --timestamps --tail 300 || true
    fi
    "${COMPOSE[@]}" down --volumes --remove-orphans || true
    exit "$status"
}
trap finish EXIT

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# All eight long-running app containers report healthy (their healthchecks call /health/ready).
all_healthy() {
    local service state
    for service in order inventory payment shipment; do
        for state in web worker; do
            [[ $("${COMPOSE[@]}" ps --format '{{.Health}}' "$service-$state" 2>/dev/null) == healthy ]] || return 1
        done
    done
}

# The file requires a secret key from the environment; a throwaway one unless one is given.
DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}
export DJANGO_SECRET_KEY

# Not `up --wait`: some Compose versions count the one-shot jobs' exit as a failure.
"${COMPOSE[@]}" up --build --detach
deadline=$((SECONDS + STARTUP_SECONDS))
until all_healthy; do
    ((SECONDS < deadline)) || { echo "smoke: not all services healthy after ${STARTUP_SECONDS}s" >&2; exit 1; }
    sleep 2
done
echo "smoke: all web processes and workers healthy after ${SECONDS}s"

# The API wants a user: a staff one (it may add stock) with the same token in order and inventory.
token=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
for service in order inventory; do
    "${COMPOSE[@]}" exec -T "$service-web" python manage.py create_api_user smoke --staff \
        --token "$token" >/dev/null
done
auth=(-H "Authorization: Token $token")

sku="smoke-$(date +%s)"
curl -fsS "${auth[@]}" -X POST http://localhost:8082/api/inventories \
    -H 'Content-Type: application/json' -d "{\"skuCode\": \"$sku\", \"quantity\": 10}" >/dev/null
order_id=$(curl -fsS "${auth[@]}" -X POST http://localhost:8081/api/orders \
    -H 'Content-Type: application/json' \
    -d "{\"skuCode\": \"$sku\", \"price\": 12.50, \"quantity\": 2}" | json_field id)
deadline=$((SECONDS + SAGA_SECONDS))
while :; do
    status=$(curl -fsS "${auth[@]}" "http://localhost:8081/api/orders/$order_id" | json_field status)
    [[ $status == SHIPPED ]] && break
    ((SECONDS < deadline)) || { echo "smoke: order $order_id still $status after ${SAGA_SECONDS}s" >&2; exit 1; }
    sleep 1
done
echo "smoke: order $order_id SHIPPED through the composed system"
