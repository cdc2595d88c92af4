# shellcheck shell=bash disable=SC2034  # the maps are for the scripts that source this
# Sourced by the scripts: the services of tools/topology.tsv as SERVICES (in order) and, by
# service name, PROJECT, WEB_PORT, WORKER_PORT and DATABASE.
SERVICES=()
declare -A PROJECT=() WEB_PORT=() WORKER_PORT=() DATABASE=()
while IFS=$'\t' read -r _name _project _web _worker _database; do
    [[ -z $_name || $_name == \#* ]] && continue
    SERVICES+=("$_name")
    PROJECT[$_name]=$_project
    WEB_PORT[$_name]=$_web
    WORKER_PORT[$_name]=$_worker
    DATABASE[$_name]=$_database
done <"$(dirname "${BASH_SOURCE[0]}")/topology.tsv"
unset _name _project _web _worker _database
