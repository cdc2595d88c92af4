#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs and starts PostgreSQL, Kafka and
# Zipkin (tools/infra.sh), installs headless Chromium (tools/browser.sh), makes a venv with tox,
# and runs every tox env against them.
#
#   bash tools/test.sh                 # everything (tox.ini's env_list, lint to deploy)
#   bash tools/test.sh -e order        # one env; anything after is passed on to tox
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/venv.sh
. "$REPO_ROOT/tools/venv.sh"

eval "$(bash "$REPO_ROOT/tools/infra.sh" up)"
# Headless Chromium for e2e/test_browser.py, from Debian's packages (installed once).
bash "$REPO_ROOT/tools/browser.sh"
ensure_venv
export KAFKA_BOOTSTRAP_SERVERS ZIPKIN_ENDPOINT
export ZIPKIN_URL=${ZIPKIN_ENDPOINT%/api/v2/spans}
cd "$REPO_ROOT"
rm -rf reports
exec "$VENV/bin/tox" "$@"
