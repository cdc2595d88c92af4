#!/usr/bin/env bash
# The whole system on this machine, without Docker: infrastructure (tools/infra.sh), then per
# service its migrations, a web server (gunicorn) and saga workers (manage.py consume_saga);
# then a demo that drives one order down each path of the saga and prints how each ended.
#
#   bash tools/system.sh [up]   the infrastructure, then `start`, then the demo (idempotent)
#   bash tools/system.sh start  the services only, on infrastructure that runs: databases (made
#                               if missing) and their migrations, topics, the local users, web
#                               servers and workers, waiting until each is ready. The e2e suite
#                               starts the system this way.
#   bash tools/system.sh demo   run the demo again
#   bash tools/system.sh status what runs
#   bash tools/system.sh revive start any web or worker process that is not running, as the last
#                               `start` did (no migrations, no demo, no waiting): a supervisor's
#                               restart, which tools/chaos.py uses after killing one
#   bash tools/system.sh stop [NAME...]  stop the services' processes (or those named, e.g.
#                               inventory-worker), cleanly (SIGTERM), leaving the infrastructure
#   bash tools/system.sh down   stop the services and the infrastructure
#
# SAGA_WORKERS (1) workers per service, one consumer group of that many: pid and log names
# <service>-worker, <service>-worker-2, ...; health and metrics ports 9081-9084 for the first,
# 9181-9184 for the second, and so on. Each is a static member of its group under the id
# <service>-worker-<n> (docs/decisions/0010), so a worker killed and revived gets its partitions
# back at once; SAGA_STATIC_MEMBERSHIP=0 starts them as dynamic members instead.
# The services reach PostgreSQL on PGHOST:PGPORT (localhost:5432) as PGUSER/PGPASSWORD (default:
# the service's own role of tools/infra.sh), Kafka at KAFKA_BOOTSTRAP_SERVERS and Zipkin at
# ZIPKIN_ENDPOINT (default: where tools/infra.sh, with the same SAGA_INFRA_DIR and ports, puts
# them). Logs are appended to, never truncated.
#
# A second system on the same infrastructure, apart from the first: SAGA_SYSTEM_NAME=<name>
# ([a-z0-9_]) gives it databases <name>_<database>, topics <name>-<topic> and consumer groups
# <name>-<service>-service; SAGA_PORT_OFFSET moves every web and worker port by that much; its
# pid files, logs and tokens live in SAGA_SYSTEM_DIR (default $SAGA_INFRA_DIR/systems/<name>,
# and $SAGA_INFRA_DIR for the unnamed system). SAGA_VENV runs the services with that virtualenv
# (which must have the projects' requirements) instead of the one made in .infra/venv.
#
# DJANGO_SETTINGS_MODULE=config.settings.production runs them as production does (DEBUG off,
# static files collected, a secret key generated once into <system dir>/secret-key unless
# DJANGO_SECRET_KEY is set); the benchmarks use it. The environment passes through to the
# services (TRACING_ENABLED, TRACING_SAMPLE_RATIO, SAGA_DEADLINE_SECONDS, ...); GUNICORN_WORKERS
# and GUNICORN_THREADS size each gunicorn (2 and 32: a client long-polling
# GET /api/orders/{id}?wait= holds a thread while it waits).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/venv.sh
. "$REPO_ROOT/tools/venv.sh"
INFRA_DIR=$(realpath -m "${SAGA_INFRA_DIR:-$REPO_ROOT/.infra}")
SYSTEM_NAME=${SAGA_SYSTEM_NAME:-}
if [[ -n $SYSTEM_NAME && ! $SYSTEM_NAME =~ ^[a-z0-9_]+$ ]]; then
    echo "SAGA_SYSTEM_NAME must be lowercase letters, digits and _: $SYSTEM_NAME" >&2
    exit 2
fi
if [[ -n $SYSTEM_NAME ]]; then
    SYSTEM_DIR=$(realpath -m "${SAGA_SYSTEM_DIR:-$INFRA_DIR/systems/$SYSTEM_NAME}")
else
    SYSTEM_DIR=$(realpath -m "${SAGA_SYSTEM_DIR:-$INFRA_DIR}")
fi
RUN_DIR=$SYSTEM_DIR/run
LOG_DIR=$SYSTEM_DIR/logs
# shellcheck source=tools/topology.sh
. "$REPO_ROOT/tools/topology.sh"
PORT_OFFSET=${SAGA_PORT_OFFSET:-0}
PGHOST=${PGHOST:-localhost}
PGPORT=${PGPORT:-5432}

log() { echo "$*" >&2; }

# api_token NAME: the local API token of user NAME, generated once into
# <system dir>/api-tokens.json (tools/saga_client.py reads it; so do people, see the README's
# "Authentication"; so does the e2e suite).
api_token() {
    local file=$SYSTEM_DIR/api-tokens.json
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

web_port() { echo $((WEB_PORT[$1] + PORT_OFFSET)); }

worker_port() { echo $((WORKER_PORT[$1] + PORT_OFFSET + 100 * ($2 - 1))); }

database_name() { echo "${SYSTEM_NAME:+${SYSTEM_NAME}_}${DATABASE[$1]}"; }

database_url() {
    local user=${PGUSER:-$1} password=${PGPASSWORD:-$1}
    echo "postgres://$user:$password@$PGHOST:$PGPORT/$(database_name "$1")"
}

# ensure_database SERVICE: its database exists (tools/infra.sh makes the unnamed system's; a named
# system's, or one on another server, is made here, as the service's user, who may create them).
ensure_database() {
    "$VENV/bin/python" - "$(database_url "$1")" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
server = dict(host=url.hostname, port=url.port, user=unquote(url.username), password=unquote(url.password))
with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PY
}

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

wait_ready() { # wait_ready URL NAME: fails at once if NAME's process has exited
    local deadline=$((SECONDS + 90)) problem=""
    until curl -sf -o /dev/null "$1"; do
        if ! running "$RUN_DIR/$2.pid"; then
            problem="exited"
        elif ((SECONDS > deadline)); then
            problem="is not ready after 90s"
        fi
        if [[ -n $problem ]]; then
            log "$2 $problem; see $LOG_DIR/$2.log"
            tail -n 20 "$LOG_DIR/$2.log" >&2 || true
            exit 1
        fi
        sleep 0.2
    done
}

# The settings the services run with: Kafka and Zipkin as given (or as infra.sh places them),
# Django's settings module (and for production its secret key), the worker count, a named
# system's topics.
service_environment() {
    local given_kafka=${KAFKA_BOOTSTRAP_SERVERS:-} given_zipkin=${ZIPKIN_ENDPOINT:-}
    eval "$(bash "$REPO_ROOT/tools/infra.sh" env)"
    export KAFKA_BOOTSTRAP_SERVERS=${given_kafka:-$KAFKA_BOOTSTRAP_SERVERS}
    export ZIPKIN_ENDPOINT=${given_zipkin:-$ZIPKIN_ENDPOINT}
    if [[ -n $SYSTEM_NAME ]]; then
        export SAGA_TOPIC_PREFIX=${SAGA_TOPIC_PREFIX-$SYSTEM_NAME-}
    fi
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
    if [[ -n $SYSTEM_NAME ]]; then
        export SAGA_CONSUMER_GROUP=$SYSTEM_NAME-$service-service
    fi
    start "$service-web" "$dir" "$VENV/bin/gunicorn" config.wsgi:application \
        --bind "127.0.0.1:$(web_port "$service")" --workers "${GUNICORN_WORKERS:-2}" --threads "${GUNICORN_THREADS:-32}" \
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
    start_system
    demo
}

start_system() {
    ensure_venv
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    service_environment
    # What the services run with, for tools/bench.py to record beside its figures and for
    # `revive` to start a process again as it was (everything of ours but the secret key).
    env | grep -E '^(DJANGO_[A-Z_]+|TRACING_[A-Z_]+|OTEL_[A-Z_]+|GUNICORN_[A-Z]+|SAGA_[A-Z_]+|KAFKA_BOOTSTRAP_SERVERS|ZIPKIN_ENDPOINT|PG(HOST|PORT|USER|PASSWORD))=' \
        | grep -v '^DJANGO_SECRET_KEY=' >"$RUN_DIR/settings.env" || true
    local python=$VENV/bin/python first=1 n
    for service in "${SERVICES[@]}"; do
        local dir=$REPO_ROOT/${PROJECT[$service]}
        export DATABASE_URL
        DATABASE_URL=$(database_url "$service")
        ensure_database "$service"
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
        wait_ready "http://127.0.0.1:$(web_port "$service")/health/ready" "$service-web"
        for ((n = 1; n <= SAGA_WORKERS; n++)); do
            wait_ready "http://127.0.0.1:$(worker_port "$service" "$n")/health/ready" "$(worker_name "$service" "$n")"
        done
    done
    log "all four services are up ($SAGA_WORKERS worker(s) each)"
}

revive() {
    [ -f "$RUN_DIR/settings.env" ] || { log "nothing to revive: run $0 up first"; exit 1; }
    local name value
    while IFS='=' read -r name value; do
        export "$name=$value"
    done <"$RUN_DIR/settings.env"
    PORT_OFFSET=${SAGA_PORT_OFFSET:-0}
    VENV=${SAGA_VENV:-$VENV}
    ensure_venv
    service_environment
    for service in "${SERVICES[@]}"; do
        start_service "$service"
    done
}

# Production settings refuse the development key and secure-only cookies need HTTPS, which
# this machine's services do not have.
production_environment() {
    local key_file=$SYSTEM_DIR/secret-key
    if [[ -z ${DJANGO_SECRET_KEY:-} ]]; then
        [[ -s $key_file ]] || (umask 077 && "$VENV/bin/python" -c \
            'import secrets; print(secrets.token_urlsafe(50))' >"$key_file")
        DJANGO_SECRET_KEY=$(<"$key_file")
    fi
    export DJANGO_SECRET_KEY DJANGO_SECURE_COOKIES=${DJANGO_SECURE_COOKIES:-false}
}

# The demo talks to this system: its ports, its users' tokens and its Zipkin.
demo() {
    SAGA_PORT_OFFSET=$PORT_OFFSET SAGA_TOKENS_FILE=$SYSTEM_DIR/api-tokens.json \
        ZIPKIN_ENDPOINT=${ZIPKIN_ENDPOINT:-http://localhost:${SAGA_ZIPKIN_PORT:-9411}/api/v2/spans} \
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

# stop_process PIDFILE: SIGTERM, then SIGKILL after 30 s.
stop_process() {
    local pid name
    name=$(basename "$1" .pid)
    if running "$1"; then
        pid=$(cat "$1")
        kill -TERM "$pid"
        for _ in $(seq 1 150); do running "$1" || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        log "$name: stopped"
    fi
    rm -f "$1"
}

# A worker stopped with SIGTERM commits and closes, but as a static member it does not leave its
# group: its partitions wait for it until the session timeout (10 s), which a later `start`
# within that time ends at once by rejoining under the same id (docs/decisions/0010).
stop() { # stop [NAME...]: those processes (by pid-file name), or every process of the services
    local pid_file name
    if (($#)); then
        for name in "$@"; do
            [ -f "$RUN_DIR/$name.pid" ] || { log "$name: no such process of this system"; exit 2; }
            stop_process "$RUN_DIR/$name.pid"
        done
        return
    fi
    for service in "${SERVICES[@]}"; do
        for pid_file in $(pid_files "$service"); do
            stop_process "$pid_file"
        done
    done
}

down() {
    stop
    bash "$REPO_ROOT/tools/infra.sh" down
}

case ${1:-up} in
up) up ;;
start) start_system ;;
demo) demo ;;
status) status ;;
revive) revive ;;
stop) shift; stop "$@" ;;
down) down ;;
*) log "usage: $0 [up|start|demo|status|revive|stop [NAME...]|down]"; exit 2 ;;
esac
