#!/usr/bin/env bash
# Local infrastructure without Docker (see docs/decisions/0002-infrastructure-without-docker.md):
# PostgreSQL from Debian's packages, Kafka (KRaft, one node) and Zipkin from Maven Central jars.
#
#   tools/infra.sh [up]   install what is missing, start all three, wait until each answers,
#                         then print the environment the services need (stdout)
#   tools/infra.sh status running (pid) / stopped for each; exit 0 if all run, 3 otherwise
#   tools/infra.sh down   stop what this script started (data is kept)
#   tools/infra.sh env    print the environment lines only
#   tools/infra.sh reset  down, then delete all data (the downloaded jars stay)
#
# Everything lives in $SAGA_INFRA_DIR (default <repo>/.infra). Progress goes to stderr, so
# `eval "$(tools/infra.sh up)"` works. PGPORT (default 5432) moves PostgreSQL; SAGA_KAFKA_PORT,
# SAGA_KAFKA_CONTROLLER_PORT and SAGA_ZIPKIN_PORT move the others. SAGA_PG_SYNCHRONOUS_COMMIT
# (default off, see pg_settings) is applied by every `up`, to a running PostgreSQL too.
set -euo pipefail

TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$TOOLS_DIR")
INFRA_DIR=$(realpath -m "${SAGA_INFRA_DIR:-$REPO_ROOT/.infra}")

PGPORT=${PGPORT:-5432}
PG_SYNCHRONOUS_COMMIT=${SAGA_PG_SYNCHRONOUS_COMMIT:-off}
# The other ports move only for a second, independent instance (e.g. trying this script out
# beside the one in use): the project's defaults are 9092/9093/9411.
KAFKA_PORT=${SAGA_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${SAGA_KAFKA_CONTROLLER_PORT:-9093}
ZIPKIN_PORT=${SAGA_ZIPKIN_PORT:-9411}
# shellcheck source=tools/topology.sh
. "$TOOLS_DIR/topology.sh"

LIB_DIR=$INFRA_DIR/lib
KAFKA_LIB=$LIB_DIR/kafka
ZIPKIN_LIB=$LIB_DIR/zipkin
JARS_STAMP=$LIB_DIR/pom.sha256
LOG_DIR=$INFRA_DIR/logs
RUN_DIR=$INFRA_DIR/run
PG_ROOT=$INFRA_DIR/postgres
PG_DATA=$PG_ROOT/data
# Our own socket directory: /var/run/postgresql belongs to the Debian cluster and may not exist.
PG_SOCKET_DIR=$PG_ROOT/run
KAFKA_DIR=$INFRA_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_CONFIG=$KAFKA_DIR/server.properties
KAFKA_PID=$RUN_DIR/kafka.pid
ZIPKIN_PID=$RUN_DIR/zipkin.pid

log() { echo "$*" >&2; }
die() { echo "infra: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------- helpers

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS CHECK [ARGS...]: CHECK returns 0 when ready, 1 while not yet, anything else
# when waiting is pointless (the process died); that code is returned at once.
wait_for() {
    local deadline=$((SECONDS + $1)) rc
    shift
    while :; do
        rc=0
        "$@" || rc=$?
        case $rc in
            0) return 0 ;;
            1) ;;
            *) return "$rc" ;;
        esac
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# pid_alive PIDFILE MARKER: the pid in PIDFILE runs and its command line contains MARKER, so a
# recycled pid after a reboot is not mistaken for our process.
pid_alive() {
    local pid cmdline
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmdline == *"$2"* ]]
}

pid_of() { if [[ -s $1 ]]; then cat "$1"; fi; }

# A process we started in an earlier run is no child of ours; if its new parent is slow to reap
# it, it lingers as a zombie, which kill -0 still reports.
pid_gone() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [[ -z $state || $state == Z ]]
}

# stop_pid NAME PIDFILE MARKER: SIGTERM (Kafka then shuts down cleanly), SIGKILL after 60 s.
stop_pid() {
    local name=$1 pidfile=$2 marker=$3 pid
    if pid_alive "$pidfile" "$marker"; then
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_for 60 pid_gone "$pid"; then
            log "$name: no exit 60 s after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_for 10 pid_gone "$pid" || die "$name: pid $pid survives SIGKILL"
        fi
        log "$name: stopped"
    else
        log "$name: already stopped"
    fi
    rm -f "$pidfile"
}

# A port we are about to bind must be free; otherwise the process would die with a bind error
# and the failure would surface far from its cause.
require_free_port() {
    port_open "$2" && die "$1: port $2 is already in use by another process (not started by infra.sh); stop it first"
    return 0
}

# start_background PIDFILE LOGFILE CMD...: detached (own session, so closing the calling shell
# or its process group does not take it down), pid recorded for status/down.
start_background() {
    local pidfile=$1 logfile=$2
    shift 2
    (cd "$INFRA_DIR" && exec setsid nohup "$@" >>"$logfile" 2>&1 </dev/null) &
    echo $! >"$pidfile"
}

need_java() {
    command -v java >/dev/null || die "java (17 or newer) is needed for Kafka and Zipkin"
}

# ------------------------------------------------------------------------------------- jars

jars_current() {
    [[ -f $JARS_STAMP && $(<"$JARS_STAMP") == "$(sha256sum <"$TOOLS_DIR/pom.xml")" ]] &&
        compgen -G "$KAFKA_LIB/kafka_2.13-*.jar" >/dev/null &&
        compgen -G "$ZIPKIN_LIB/zipkin-server-*-exec.jar" >/dev/null
}

# The stamp holds the pom's checksum: a version bump in tools/pom.xml resolves the jars anew.
resolve_jars() {
    jars_current && return 0
    command -v mvn >/dev/null || die "mvn is needed to fetch the Kafka and Zipkin jars from Maven Central"
    log "jars: resolving Kafka and Zipkin from Maven Central (tools/pom.xml)"
    rm -rf "$KAFKA_LIB" "$ZIPKIN_LIB" "$JARS_STAMP"
    # Maven 3.8 prints colour resets even in batch mode; sed drops them from the progress output.
    mvn -q -B -Dstyle.color=never -f "$TOOLS_DIR/pom.xml" \
        dependency:copy-dependencies@kafka dependency:copy@zipkin \
        -Dinfra.lib.dir="$LIB_DIR" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
    sha256sum <"$TOOLS_DIR/pom.xml" >"$JARS_STAMP"
}

# ------------------------------------------------------------------------------- PostgreSQL

pg_bin_dir() {
    local candidates=(/usr/lib/postgresql/*/bin/postgres)
    [[ -x ${candidates[0]} ]] || return 1
    dirname "$(printf '%s\n' "${candidates[@]}" | sort -V | tail -n1)"
}

as_postgres() { runuser -u postgres -- "$@"; }

pg_running() {
    local bin
    bin=$(pg_bin_dir) || return 1
    [[ -f $PG_DATA/postmaster.pid ]] && as_postgres "$bin/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

pg_pid() { if [[ -f $PG_DATA/postmaster.pid ]]; then head -n1 "$PG_DATA/postmaster.pid"; fi; }

pg_install() {
    pg_bin_dir >/dev/null && return 0
    log "postgres: installing Debian package postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
    pg_bin_dir >/dev/null || die "postgres: apt-get installed postgresql but /usr/lib/postgresql/*/bin/postgres is missing"
}

port_closed() { ! port_open "$1"; }

# apt's postinst starts the Debian "main" cluster on 5432 where it can; we run our own cluster
# (data in $INFRA_DIR, our settings), so a Debian cluster on our port is stopped.
pg_claim_port() {
    port_open "$PGPORT" || return 0
    if command -v pg_lsclusters >/dev/null; then
        local version name port status _rest
        while read -r version name port status _rest; do
            if [[ $port == "$PGPORT" && $status == online* ]]; then
                log "postgres: stopping Debian cluster $version/$name, which holds port $PGPORT"
                pg_ctlcluster "$version" "$name" stop
            fi
        done < <(pg_lsclusters -h)
    fi
    wait_for 15 port_closed "$PGPORT" ||
        die "postgres: port $PGPORT is in use by another process; stop it or run with PGPORT=<free port>"
}

# The postgres OS user must be able to reach its data dir; a checkout under a private home
# (mode 700) would stop it, so grant search permission (x only, no listing) on the ancestors.
pg_grant_path() {
    as_postgres test -x "$PG_ROOT" && return 0
    log "postgres: granting o+x on the parent directories of $PG_ROOT so the postgres user can reach it"
    local dir=$PG_ROOT
    while [[ $dir != / ]]; do
        dir=$(dirname "$dir")
        chmod o+x "$dir"
    done
    as_postgres test -x "$PG_ROOT" || die "postgres: the postgres user cannot reach $PG_ROOT"
}

pg_init() {
    local bin=$1
    install -d -o postgres -g postgres -m 700 "$PG_ROOT" "$PG_SOCKET_DIR"
    pg_grant_path
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        log "postgres: initdb $PG_DATA"
        install -d -o postgres -g postgres -m 700 "$PG_DATA"
        as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$LOG_DIR/initdb.log" 2>&1 ||
            die "postgres: initdb failed, see $LOG_DIR/initdb.log"
        echo "include_if_exists = 'saga.conf'" >>"$PG_DATA/postgresql.conf"
    fi
    pg_settings >/dev/null
}

# pg_settings: write saga.conf, on every start (so a changed PGPORT or setting here takes
# effect) and every `up`; print "changed" if its content did.
# synchronous_commit=off by default: a crash may lose the last few commits, which a local
# dev/test cluster can afford for speed; unlike fsync=off it can never corrupt the data. It does
# break the saga's exactly-once effects across a crash: a worker commits its Kafka offsets once
# PostgreSQL has acknowledged the transaction, which the crash then loses, so the event is never
# applied. tools/chaos.py, which crashes PostgreSQL on purpose, runs with
# SAGA_PG_SYNCHRONOUS_COMMIT=on, PostgreSQL's default and what production runs.
pg_settings() {
    local conf=$PG_DATA/saga.conf before=""
    [[ -f $conf ]] && before=$(<"$conf")
    cat >"$conf" <<EOF
# written by tools/infra.sh
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
synchronous_commit = $PG_SYNCHRONOUS_COMMIT
EOF
    chown postgres:postgres "$conf"
    if [[ $(<"$conf") != "$before" ]]; then echo changed; fi
}

pg_provision() { # a login role per service (password = name, for this machine only) owning its database
    local bin=$1 service
    for service in "${SERVICES[@]}"; do
        as_postgres "$bin/psql" -X -q -v ON_ERROR_STOP=1 -v role="$service" \
            -v db="${DATABASE[$service]}" -h "$PG_SOCKET_DIR" -p "$PGPORT" -d postgres >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'role') \gexec
SQL
    done
}

pg_up() {
    ((EUID == 0)) || die "postgres: run as root (apt-get and runuser -u postgres need it)"
    pg_install
    local bin
    bin=$(pg_bin_dir)
    if pg_running; then
        log "postgres: already running (pid $(pg_pid))"
        if [[ $(pg_settings) == changed ]]; then
            as_postgres "$bin/pg_ctl" reload -D "$PG_DATA" >/dev/null
            log "postgres: settings reloaded (synchronous_commit = $PG_SYNCHRONOUS_COMMIT)"
        fi
    else
        pg_claim_port
        pg_init "$bin"
        local logfile=$LOG_DIR/postgres.log
        touch "$logfile"
        chown postgres:postgres "$logfile"
        as_postgres "$bin/pg_ctl" start -D "$PG_DATA" -l "$logfile" -w -t 60 >/dev/null ||
            { tail -n 20 "$logfile" >&2; die "postgres: did not start, see $logfile"; }
        log "postgres: started (pid $(pg_pid), port $PGPORT)"
    fi
    wait_for 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || die "postgres: not answering on 127.0.0.1:$PGPORT"
    pg_provision "$bin"
}

pg_down() {
    if pg_running; then
        as_postgres "$(pg_bin_dir)/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null
        log "postgres: stopped"
    else
        log "postgres: already stopped"
    fi
}

# ------------------------------------------------------------------------------------ Kafka

# A Kafka command-line class from the broker's classpath, with a small client JVM and
# warnings-only logging on stderr: "${KAFKA_CLI[@]}" MAIN-CLASS ARGS...
KAFKA_CLI=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Dlog4j2.configurationFile="$TOOLS_DIR/kafka/tools-log4j2.properties" -cp "$KAFKA_LIB/*")

# StorageTool is Scala code in kafka_2.13 (kafka.tools) up to 4.1; prefer the Java port in
# org.apache.kafka.tools should the pinned version have it. Class names sit uncompressed in a
# jar's directory, so grep finds them without unzip.
kafka_storage_tool() {
    if grep -qsF "org/apache/kafka/tools/StorageTool.class" "$KAFKA_LIB"/*.jar; then
        echo org.apache.kafka.tools.StorageTool
    else
        echo kafka.tools.StorageTool
    fi
}

kafka_write_config() {
    mkdir -p "$KAFKA_DATA"
    cat >"$KAFKA_CONFIG" <<EOF
# written by tools/infra.sh on every start: edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://localhost:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=false
# one broker: consumers should not wait 3 s for more group members, internal topics have 1 replica
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
}

kafka_format() {
    [[ -f $KAFKA_DATA/meta.properties ]] && return 0
    local tool cluster_id
    tool=$(kafka_storage_tool)
    cluster_id=$("${KAFKA_CLI[@]}" "$tool" random-uuid)
    log "kafka: formatting $KAFKA_DATA (cluster $cluster_id)"
    "${KAFKA_CLI[@]}" "$tool" format -t "$cluster_id" -c "$KAFKA_CONFIG" >&2
}

# Ready = a real request answered: ClusterTool asks the broker for its cluster id. Liveness is
# checked by pid alone: right after the start the pid may still be the shell about to exec java.
kafka_answering() {
    pid_gone "$(<"$KAFKA_PID")" && return 2
    port_open "$KAFKA_PORT" || return 1
    timeout 20 "${KAFKA_CLI[@]}" org.apache.kafka.tools.ClusterTool cluster-id \
        --bootstrap-server "localhost:$KAFKA_PORT" >/dev/null 2>&1 || return 1
}

kafka_up() {
    local rc=0
    if pid_alive "$KAFKA_PID" "$KAFKA_CONFIG"; then
        log "kafka: already running (pid $(pid_of "$KAFKA_PID"))"
    else
        need_java
        require_free_port kafka "$KAFKA_PORT"
        require_free_port kafka "$KAFKA_CONTROLLER_PORT"
        resolve_jars
        kafka_write_config
        kafka_format
        start_background "$KAFKA_PID" "$LOG_DIR/kafka.out" \
            java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
            -Djava.awt.headless=true -Dkafka.logs.dir="$LOG_DIR" \
            -Dlog4j2.configurationFile="$TOOLS_DIR/kafka/log4j2.properties" \
            -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG"
        log "kafka: starting (pid $(pid_of "$KAFKA_PID"))"
    fi
    # Also when it was already running: an earlier `up` may have been interrupted mid-start.
    wait_for 120 kafka_answering || rc=$?
    if ((rc != 0)); then
        tail -n 30 "$LOG_DIR/kafka-server.log" "$LOG_DIR/kafka.out" >&2 2>/dev/null || true
        ((rc == 2)) && die "kafka: the broker exited, see $LOG_DIR/kafka-server.log"
        kafka_down
        die "kafka: no answer on localhost:$KAFKA_PORT within 120 s, see $LOG_DIR/kafka-server.log"
    fi
    log "kafka: answering on localhost:$KAFKA_PORT"
}

kafka_down() { stop_pid kafka "$KAFKA_PID" "$KAFKA_CONFIG"; }

# ----------------------------------------------------------------------------------- Zipkin

zipkin_jar() { compgen -G "$ZIPKIN_LIB/zipkin-server-*-exec.jar" | head -n1; }

zipkin_answering() {
    pid_gone "$(<"$ZIPKIN_PID")" && return 2
    curl -sf -o /dev/null "http://localhost:$ZIPKIN_PORT/health" || return 1
}

zipkin_up() {
    local rc=0
    command -v curl >/dev/null || die "zipkin: curl is needed for the health check"
    if pid_alive "$ZIPKIN_PID" "$ZIPKIN_LIB/"; then
        log "zipkin: already running (pid $(pid_of "$ZIPKIN_PID"))"
    else
        need_java
        require_free_port zipkin "$ZIPKIN_PORT"
        resolve_jars
        # Zipkin reads KAFKA_BOOTSTRAP_SERVERS (our services' variable) as "collect spans from
        # Kafka"; it must stay an HTTP-only collector. armeria.ports binds it to loopback only.
        # In-memory storage keeps MEM_MAX_SPANS spans: a 2000-order benchmark makes ~150 000,
        # which overflowed a 512 MB heap; 100 000 spans (the last ~1300 sagas) fit in 1 GB.
        start_background "$ZIPKIN_PID" "$LOG_DIR/zipkin.log" \
            env -u KAFKA_BOOTSTRAP_SERVERS STORAGE_TYPE=mem MEM_MAX_SPANS=100000 \
            COLLECTOR_KAFKA_ENABLED=false \
            java -Xms64m -Xmx1g -XX:+ExitOnOutOfMemoryError -jar "$(zipkin_jar)" \
            "--armeria.ports[0].ip=127.0.0.1" "--armeria.ports[0].port=$ZIPKIN_PORT" \
            "--armeria.ports[0].protocols[0]=http"
        log "zipkin: starting (pid $(pid_of "$ZIPKIN_PID"))"
    fi
    wait_for 120 zipkin_answering || rc=$?
    if ((rc != 0)); then
        tail -n 30 "$LOG_DIR/zipkin.log" >&2 || true
        ((rc == 2)) && die "zipkin: the server exited, see $LOG_DIR/zipkin.log"
        zipkin_down
        die "zipkin: /health did not answer within 120 s, see $LOG_DIR/zipkin.log"
    fi
    log "zipkin: answering on http://localhost:$ZIPKIN_PORT"
}

zipkin_down() { stop_pid zipkin "$ZIPKIN_PID" "$ZIPKIN_LIB/"; }

# --------------------------------------------------------------------------------- commands

print_env() {
    echo "export KAFKA_BOOTSTRAP_SERVERS=localhost:$KAFKA_PORT"
    echo "export ZIPKIN_ENDPOINT=http://localhost:$ZIPKIN_PORT/api/v2/spans"
    local svc
    for svc in "${SERVICES[@]}"; do
        echo "# $svc: DATABASE_URL=postgres://$svc:$svc@localhost:$PGPORT/${DATABASE[$svc]}"
    done
}

# up/down/reset change state, one at a time (two test runs may start the infrastructure
# together). The script runs again under flock(1); -o keeps the lock's descriptor out of that
# run, so the daemons it starts cannot inherit the lock and hold it for as long as they live.
with_lock() {
    if [[ -n ${SAGA_INFRA_LOCKED:-} ]]; then
        unset SAGA_INFRA_LOCKED
        return 0
    fi
    mkdir -p "$INFRA_DIR"
    SAGA_INFRA_LOCKED=1 exec flock -o "$INFRA_DIR/infra.lock" bash "${BASH_SOURCE[0]}" "$@"
}

cmd_up() {
    local started=$SECONDS
    mkdir -p "$LOG_DIR" "$RUN_DIR"
    pg_up
    kafka_up
    zipkin_up
    log "infra: up ($((SECONDS - started)) s)"
    print_env
}

cmd_down() {
    zipkin_down
    kafka_down
    pg_down
}

cmd_reset() {
    cmd_down
    rm -rf "$PG_ROOT" "$KAFKA_DIR" "$LOG_DIR" "$RUN_DIR"
    log "infra: data deleted (jars kept in $LIB_DIR)"
}

cmd_status() {
    local all=0
    if pg_running; then echo "postgres: running (pid $(pg_pid))"; else echo "postgres: stopped"; all=3; fi
    if pid_alive "$KAFKA_PID" "$KAFKA_CONFIG"; then
        echo "kafka: running (pid $(pid_of "$KAFKA_PID"))"
    else
        echo "kafka: stopped"
        all=3
    fi
    if pid_alive "$ZIPKIN_PID" "$ZIPKIN_LIB/"; then
        echo "zipkin: running (pid $(pid_of "$ZIPKIN_PID"))"
    else
        echo "zipkin: stopped"
        all=3
    fi
    return "$all"
}

usage() { sed -n '5,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

case ${1:-up} in
    up) with_lock up && cmd_up ;;
    status) cmd_status ;;
    down) with_lock down && cmd_down ;;
    env) print_env ;;
    reset) with_lock reset && cmd_reset ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
esac
