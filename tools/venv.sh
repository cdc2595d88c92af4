# shellcheck shell=bash
# Sourced by tools/system.sh and tools/test.sh: makes .infra/venv (Python 3.11) with
# tools/requirements.txt, reinstalling only when a requirements or constraints file changed.
# SAGA_VENV names a virtualenv made elsewhere (the e2e suite's tox env) to use as it is.
VENV=${SAGA_VENV:-${SAGA_INFRA_DIR:-$REPO_ROOT/.infra}/venv}
ensure_venv() {
    local stamp=$VENV/requirements.sha256 digest
    [[ -z ${SAGA_VENV:-} ]] || return 0
    digest=$(cd "$REPO_ROOT" && cat constraints.txt tools/requirements.txt ./*_project/requirements.txt \
        events/pyproject.toml saga_runtime/pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
        return
    fi
    echo "venv: installing Python packages into $VENV" >&2
    python3.11 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    # Run from the root: the requirements files name the local packages as ./events, ./saga_runtime.
    (cd "$REPO_ROOT" && "$VENV/bin/pip" install --quiet -r tools/requirements.txt)
    # Editable, so that the services run the checkout's code of the shared packages even when
    # no requirements file changed.
    (cd "$REPO_ROOT" && "$VENV/bin/pip" install --quiet --no-deps -e ./events -e ./saga_runtime)
    echo "$digest" >"$stamp"
}
