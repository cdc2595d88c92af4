#!/usr/bin/env bash
# The whole system on this machine, without Docker: infrastructure (tools/infra.sh), then per
# service its migrations, a web server (gunicorn) and saga workers (manage.py consume_saga);
# then a demo that drives one order down each path of the saga and prints how each ended.
#
#   bash tools/system.sh [up]   start everything (idempotent) and run the demo
#   bash tools/system.sh demo   run the demo again
#   bash tools/system.sh status what runs
#   bash tools/system.sh revive start any web or worker process that is not running, as the last
#                               `up` did (no migrations, no demo, no waiting): a supervisor's
#                               restart, which tools/chaos.py uses after killing one
#   bash tools/system.sh down   stop the services and the infrastructure
#
# SAGA_WORKERS (1) workers per service, one consumer group of that many: pid and log names
# <service>-worker, <service>-worker-2, ...; health and metrics ports 9081-9084 for the first,
# 9181-9184 for the second, and so on. Each is a static member of its group under the id
# <service>-worker-<n> (docs/decisions/0010), so a worker killed and revived gets its partitions
# back at once; SAGA_STATIC_MEMBERSHIP=0 starts them as dynamic members instead.
# The services reach PostgreSQL on PGPORT (5432) and Kafka and Zipkin where tools/infra.sh
# (with the same SAGA_INFRA_DIR and ports) says; logs are appended to, never truncated.
#
# DJANGO_SETTINGS_MODULE=config.settings.production runs them as production does (DEBUG off,
# static files collected, a secret key generated once into .infra/secret-key unless
# DJANGO_SECRET_KEY is set); the benchmarks use it. TRACING_ENABLED and TRACING_SAMPLE_RATIO
# pass through; GUNICORN_WORKERS and GUNICORN_THREADS size each gunicorn (2 and 32: a client
# long-polling GET /api/orders/{id}?wait= holds a thread while it waits).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/venv.sh
. "$REPO_ROOT/tools/venv.sh"
INFRA_DIR=$(realpath -m "${SAGA_INFRA_DIR:-$REPO_ROOT/.infra}")
RUN_DIR=$INFRA_DIR/run
LOG_DIR=$INFRA_DIR/logs
# shellcheck source=tools/topology.sh
. "$REPO_ROOT/tools/topology.sh"
PGPORT=${PGPORT:-5432}

log() { echo "$*" >&2; }

# api_token NAME: the local API token of user NAME, generated once into .infra/api-tokens.json
# (tools/saga_client.py reads it; so do people, see the README's "Authentication").
api_token() {
    local file=$INFRA_DIR/api-tokens.json
    (umask 077 && python3.11 - "$file" "$1" <<'PY'
import json, secrets, sys
from pathlib import Path
path, name = Path(sys.argv[1]), sys.argv[2]
tokens = json.loads(path.read_text()) if path.exists() else {}
if name not in tokens:
    tokens[name] = secrets.token_hex(20)
    path.write_text(json.dumps(tokens, indent=2) + "\n")
print(tokens[name])
PY
    )
}

# running PIDFILE: its process exists and is no zombie. A process started by an earlier run is no
# child of ours; killed, it lingers as a zombie until its new parent reaps it, which kill -0
# still reports.
running() {
    local state
    [ -f "$1" ] || return 1
    state=$(awk '{print $3}' "/proc/$(cat "$1")/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

worker_name() { # worker_name SERVICE N: the first worker keeps the name it had alone
    if (($2 == 1)); then echo "$1-worker"; else echo "$1-worker-$2"; fi
}

worker_port() { echo $((WORKER_PORT[$1] + 100 * ($2 - 1))); }

database_url() { echo "postgres://$1:$1@localhost:$PGPORT/${DATABASE[$1]}"; }

# The pid files of a service's processes: its web server and every worker that has one, also
# workers beyond SAGA_WORKERS left from an earlier `up` with more.
pid_files() {
    local file
    echo "$RUN_DIR/$1-web.pid"
    for file in "$RUN_DIR/$1-worker.pid" $(compgen -G "$RUN_DIR/$1-worker-*.pid" | sort -V); do
        [ -f "$file" ] && echo "$file"
    done
    return 0
}

start() { # start NAME DIR COMMAND...: a background process with a pid file and a log, appended
    # to, so that a service started again after it died keeps what its last run wrote
    local name=$1 dir=$2
    shift 2
    if running "$RUN_DIR/$name.pid"; then
        log "$name: already running"
        return
    fi
    # exec: the pid recorded is the service's own, in a session of its own (so a kill of its
    # process group takes a web server's workers with it).
    (cd "$dir" && exec setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null) &
    echo $! >"$RUN_DIR/$name.pid"
    log "$name: started (log: $LOG_DIR/$name.log)"
}

wait_ready() { # wait_ready URL NAME
    local deadline=$((SECONDS + 90))
    until curl -sf -o /dev/null "$1"; do
        if ((SECONDS > deadline)); then
            log "$2 is not ready after 90s; see $LOG_DIR/$2.log"
            tail -n 20 "$LOG_DIR/$2.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

# The settings the services run with: Kafka and Zipkin as infra.sh places them, Django's
# settings module (and for production its secret key), the worker count.
service_environment() {
    export KAFKA_BOOTSTRAP_SERVERS ZIPKIN_ENDPOINT
    export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
    export SAGA_WORKERS=${SAGA_WORKERS:-1} SAGA_STATIC_MEMBERSHIP=${SAGA_STATIC_MEMBERSHIP:-1}
    if [[ $DJANGO_SETTINGS_MODULE == *production ]]; then
        production_environment
    fi
}

# start_service SERVICE: its web server and SAGA_WORKERS workers, those not running already.
start_service() {
    local service=$1 dir=$REPO_ROOT/${PROJECT[$1]} n
    export DATABASE_URL
    DATABASE_URL=$(database_url "$service")
    start "$service-web" "$dir" "$VENV/bin/gunicorn" config.wsgi:application \
        --bind "127.0.0.1:${WEB_PORT[$service]}" --workers "${GUNICORN_WORKERS:-2}" --threads "${GUNICORN_THREADS:-32}" \
        --no-control-socket --access-logfile -
    for ((n = 1; n <= SAGA_WORKERS; n++)); do
        local membership=()
        if [[ $SAGA_STATIC_MEMBERSHIP != 0 ]]; then
            membership=(--instance-id "$service-worker-$n")
        fi
        start "$(worker_name "$service" "$n")" "$dir" "$VENV/bin/python" manage.py consume_saga \
            --port "$(worker_port "$service" "$n")" "${membership[@]}"
    done
}

up() {
    eval "$(bash "$REPO_ROOT/tools/infra.sh" up)"
    ensure_venv
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    service_environment
    # What the services run with, for tools/bench.py to record beside its figures and for
    # `revive` to start a process again as it was.
    env | grep -E '^(DJANGO_SETTINGS_MODULE|TRACING_[A-Z_]+|GUNICORN_[A-Z]+|SAGA_WORKERS|SAGA_STATIC_MEMBERSHIP)=' \
        >"$RUN_DIR/settings.env" || true
    local python=$VENV/bin/python first=1 n
    for service in "${SERVICES[@]}"; do
        local dir=$REPO_ROOT/${PROJECT[$service]}
        export DATABASE_URL
        DATABASE_URL=$(database_url "$service")
        (cd "$dir" && "$python" manage.py migrate --noinput -v0)
        if [[ $DJANGO_SETTINGS_MODULE == *production ]]; then
            (cd "$dir" && "$python" manage.py collectstatic --noinput -v0)
        fi
        if ((first)); then
            (cd "$dir" && "$python" manage.py create_topics >/dev/null)
            first=0
        fi
        # Local users, the same token in all four services; passwords for this machine only.
        (cd "$dir" && env DJANGO_API_USER_PASSWORD=admin "$python" manage.py create_api_user admin \
            --superuser --token "$(api_token admin)" >/dev/null)
        (cd "$dir" && env DJANGO_API_USER_PASSWORD=demo "$python" manage.py create_api_user demo \
            --token "$(api_token demo)" >/dev/null)
        start_service "$service"
    done
    for service in "${SERVICES[@]}"; do
        wait_ready "http://127.0.0.1:${WEB_PORT[$service]}/health/ready" "$service-web"
        for ((n = 1; n <= SAGA_WORKERS; n++)); do
            wait_ready "http://127.0.0.1:$(worker_port "$service" "$n")/health/ready" "$(worker_name "$service" "$n")"
        done
    done
    log "all four services are up ($SAGA_WORKERS worker(s) each)"
    demo
}

revive() {
    [ -f "$RUN_DIR/settings.env" ] || { log "nothing to revive: run $0 up first"; exit 1; }
    eval "$(bash "$REPO_ROOT/tools/infra.sh" env)"
    local name value
    while IFS='=' read -r name value; do
        export "$name=$value"
    done <"$RUN_DIR/settings.env"
    service_environment
    for service in "${SERVICES[@]}"; do
        start_service "$service"
    done
}

# Production settings refuse the development key and secure-only cookies need HTTPS, which
# this machine's services do not have.
production_environment() {
    local key_file=$INFRA_DIR/secret-key
    if [[ -z ${DJANGO_SECRET_KEY:-} ]]; then
        [[ -s $key_file ]] || (umask 077 && "$VENV/bin/python" -c \
            'import secrets; print(secrets.token_urlsafe(50))' >"$key_file")
        DJANGO_SECRET_KEY=$(<"$key_file")
    fi
    export DJANGO_SECRET_KEY DJANGO_SECURE_COOKIES=${DJANGO_SECURE_COOKIES:-false}
}

demo() {
    "$VENV/bin/python" "$REPO_ROOT/tools/demo.py"
}

status() {
    bash "$REPO_ROOT/tools/infra.sh" status || true
    local pid_file name
    for service in "${SERVICES[@]}"; do
        for pid_file in $(pid_files "$service"); do
            name=$(basename "$pid_file" .pid)
            if running "$pid_file"; then
                echo "$name: running (pid $(cat "$pid_file"))"
            else
                echo "$name: stopped"
            fi
        done
    done
}

# A worker stopped with SIGTERM commits and closes, but as a static member it does not leave its
# group: its partitions wait for it until the session timeout (10 s), which a later `up` within
# that time ends at once by rejoining under the same id (docs/decisions/0010).
down() {
    local pid_file pid name
    for service in "${SERVICES[@]}"; do
        for pid_file in $(pid_files "$service"); do
            name=$(basename "$pid_file" .pid)
            if running "$pid_file"; then
                pid=$(cat "$pid_file")
                kill -TERM "$pid"
                for _ in $(seq 1 60); do running "$pid_file" || break; sleep 0.5; done
                kill -KILL "$pid" 2>/dev/null || true
                log "$name: stopped"
            fi
            rm -f "$pid_file"
        done
    done
    bash "$REPO_ROOT/tools/infra.sh" down
}

case ${1:-up} in
up) up ;;
demo) demo ;;
status) status ;;
revive) revive ;;
down) down ;;
*) log "usage: $0 [up|demo|status|revive|down]"; exit 2 ;;
esac
