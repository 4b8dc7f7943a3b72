#!/usr/bin/env bash
# Generated Python client: generates a client from openapi/openapi.json with
# openapi-python-client (failing on any warning, since the generator drops what it cannot
# read), installs it into the CI venv, and runs ci/python_client_flow.py with it against a
# live meetplane on a fresh PostgreSQL database.
#
#   ci/python_client.sh [SERVER_BINARY]   (default: $MP_BIN or target/debug/meetplane)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

BIN="${1:-${MP_BIN:-target/debug/meetplane}}"

ci_venv
GEN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/meetplane-pyclient.XXXXXX")"
trap 'rm -rf "$GEN_DIR"' EXIT

log "generating the client from openapi/openapi.json"
# The generator formats its output with ruff, installed in the venv alongside it.
PATH="$MP_VENV/bin:$PATH" "$MP_VENV/bin/openapi-python-client" generate \
  --path openapi/openapi.json --output-path "$GEN_DIR/client" --meta setup \
  >"$GEN_DIR/generate.log" 2>&1 || {
  cat "$GEN_DIR/generate.log" >&2
  log "openapi-python-client failed"
  exit 1
}
if grep -qE 'WARNING|Unable to|Cannot |Skipping' "$GEN_DIR/generate.log"; then
  cat "$GEN_DIR/generate.log" >&2
  log "openapi-python-client warned: fix the document at its source (the poem-openapi types)"
  exit 1
fi
"$PY" -m pip uninstall --quiet --yes meetplane-client >/dev/null 2>&1 || true
"$PY" -m pip install --quiet --disable-pip-version-check "$GEN_DIR/client"

rm -rf "$GEN_DIR/client"
# start_server installs its own EXIT trap (stop the server, drop the database); GEN_DIR is
# no longer needed once the package is installed.
start_server "$BIN" MEETPLANE_ALLOW_PRIVATE_TARGETS=true
create_client pyflow
"$PY" "$CI_DIR/python_client_flow.py" "$MP_URL" "$MP_API_KEY" "$MP_API_SECRET"
check_server_log
