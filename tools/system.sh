#!/usr/bin/env bash
# The whole system on this machine, without Docker: infrastructure (tools/infra.sh), then per
# service its migrations, a web server (gunicorn) and a saga worker (manage.py consume_saga);
# then a demo that drives one order down each path of the saga and prints how each ended.
#
#   bash tools/system.sh [up]   start everything (idempotent) and run the demo
#   bash tools/system.sh demo   run the demo again
#   bash tools/system.sh status what runs
#   bash tools/system.sh down   stop the services and the infrastructure
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
SERVICES=(order inventory payment shipment)
declare -A PORT=([order]=8081 [inventory]=8082 [payment]=8083 [shipment]=8084)

log() { echo "$*" >&2; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() { # start NAME DIR COMMAND...: a background process with a pid file and a log, appended
    # to, so that a service started again after it died keeps what its last run wrote
    local name=$1 dir=$2
    shift 2
    if running "$RUN_DIR/$name.pid"; then
        log "$name: already running"
        return
    fi
    # exec: the pid recorded is the service's own, in a session of its own.
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

up() {
    eval "$(bash "$REPO_ROOT/tools/infra.sh" up)"
    ensure_venv
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    export KAFKA_BOOTSTRAP_SERVERS ZIPKIN_ENDPOINT
    export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.local}
    if [[ $DJANGO_SETTINGS_MODULE == *production ]]; then
        production_environment
    fi
    # What the services run with, for tools/bench.py to record beside its figures.
    env | grep -E '^(DJANGO_SETTINGS_MODULE|TRACING_[A-Z_]+|GUNICORN_[A-Z]+)=' >"$RUN_DIR/settings.env" || true
    local python=$VENV/bin/python first=1
    for service in "${SERVICES[@]}"; do
        local dir=$REPO_ROOT/${service}_project
        (cd "$dir" && "$python" manage.py migrate --noinput -v0)
        if [[ $DJANGO_SETTINGS_MODULE == *production ]]; then
            (cd "$dir" && "$python" manage.py collectstatic --noinput -v0)
        fi
        if ((first)); then
            (cd "$dir" && "$python" manage.py create_topics >/dev/null)
            first=0
        fi
        # A local login for the admin; the password is for this machine only.
        (cd "$dir" && DJANGO_SUPERUSER_PASSWORD=admin "$python" manage.py createsuperuser \
            --noinput --username admin --email admin@localhost >/dev/null 2>&1 || true)
        start "$service-web" "$dir" "$VENV/bin/gunicorn" config.wsgi:application \
            --bind "127.0.0.1:${PORT[$service]}" --workers "${GUNICORN_WORKERS:-2}" --threads "${GUNICORN_THREADS:-32}" \
            --no-control-socket --access-logfile -
        start "$service-worker" "$dir" "$python" manage.py consume_saga
    done
    for service in "${SERVICES[@]}"; do
        wait_ready "http://127.0.0.1:${PORT[$service]}/health/ready" "$service-web"
        wait_ready "http://127.0.0.1:$((PORT[$service] + 1000))/health/ready" "$service-worker"
    done
    log "all four services are up"
    demo
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
    for service in "${SERVICES[@]}"; do
        for role in web worker; do
            if running "$RUN_DIR/$service-$role.pid"; then
                echo "$service-$role: running (pid $(cat "$RUN_DIR/$service-$role.pid"))"
            else
                echo "$service-$role: stopped"
            fi
        done
    done
}

down() {
    local pid_file pid
    for service in "${SERVICES[@]}"; do
        for role in web worker; do
            pid_file=$RUN_DIR/$service-$role.pid
            if running "$pid_file"; then
                pid=$(cat "$pid_file")
                kill -TERM "$pid"
                for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
                kill -KILL "$pid" 2>/dev/null || true
                log "$service-$role: stopped"
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
down) down ;;
*) log "usage: $0 [up|demo|status|down]"; exit 2 ;;
esac
