#!/usr/bin/env bash
# API fuzzing: runs schemathesis against a live meetplane on a fresh PostgreSQL database and
# fails on any 5xx, any response that breaks its documented schema, status code or content type.
#
#   ci/fuzz.sh [SERVER_BINARY]        (default: $MP_BIN or target/debug/meetplane)
#
# It also fails when schemathesis warns that an operation mostly answered 404 (unreachable: no
# link or fixed parameter gives it ids that exist) or mostly refused generated data (the
# document's constraints do not match the server's), but for the few ci/fuzz_warnings.py
# lists with the reason they cannot be helped.
#
# Settings: MP_FUZZ_EXAMPLES (generated cases per operation and phase, default 100),
# MP_FUZZ_REPORT_DIR (junit + ndjson reports, default target/fuzz-report), and those of ci/lib.sh.
# The seed is left to vary from run to run, so every CI run explores new inputs; a failure
# prints its seed and a `st replay` id.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_DIR"

BIN="${1:-${MP_BIN:-target/debug/meetplane}}"
EXAMPLES="${MP_FUZZ_EXAMPLES:-100}"
REPORT_DIR="${MP_FUZZ_REPORT_DIR:-$REPO_DIR/target/fuzz-report}"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

ci_venv
# The fuzzer adds webhooks and widgets with URLs of its own making, and validating them makes
# the server connect there. This machine may only talk to itself, so every outbound request
# goes through a "proxy" on a closed loopback port (refused at once): nothing leaves the host,
# not even a DNS lookup (a proxied request is not resolved locally, and with private targets
# allowed the SSRF guard does not resolve hosts either; it has its own tests).
NOWHERE=http://127.0.0.1:9
# Room capacities: the document allows up to the highest maximum a server may be configured
# with, so this server is configured with it (its default, 256, would refuse most capacities).
start_server "$BIN" MEETPLANE_ALLOW_PRIVATE_TARGETS=true MEETPLANE_MAX_ROOM_CAPACITY=100000 \
  HTTP_PROXY=$NOWHERE HTTPS_PROXY=$NOWHERE ALL_PROXY=$NOWHERE \
  http_proxy=$NOWHERE https_proxy=$NOWHERE all_proxy=$NOWHERE NO_PROXY= no_proxy=
create_client fuzz
get_token
export MP_ORG

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"

st() {
  local name="$1"
  shift
  log "schemathesis: $name"
  # --generation-database none: no example store between runs (no hidden state in CI).
  # --workers 1: with 2, schemathesis' own generator failed now and then (hypothesis parsing
  # lambda sources in two threads: "AST constructor recursion depth mismatch"), an error of
  # the tool that would fail CI at random; on 2 cores one worker is barely slower.
  "$MP_VENV/bin/schemathesis" --config-file "$CI_DIR/schemathesis.toml" run "$MP_URL/openapi.json" \
    --header "Authorization: Bearer $MP_TOKEN" \
    --checks "$CHECKS" \
    --max-examples "$EXAMPLES" \
    --generation-database none \
    --workers 1 \
    --no-color \
    --report junit,ndjson --report-dir "$REPORT_DIR/$name" \
    "$@" | tee "$REPORT_DIR/$name.log"
  local st_rc=${PIPESTATUS[0]}
  # Its warnings name the operations the cases did not get past the front door of.
  "$PY" "$CI_DIR/fuzz_warnings.py" <"$REPORT_DIR/$name.log" || {
    log "schemathesis: operations above were unreachable (404) or refused the generated data"
    return 1
  }
  return "$st_rc"
}

rc=0
# DELETE .../clients/{clientId} revokes whichever client it hits, and schemathesis finds the ids
# in the list responses, so it soon revokes the very client whose token the run uses: every
# later request would be a 401. It runs on its own, after everything else.
SELF_REVOKE='DELETE /v1/orgs/{orgId}/clients/{clientId}'
st main --exclude-name "$SELF_REVOKE" || rc=1
# With the operation creating clients, whose answer links to it, it also revokes clients that
# exist besides its own (otherwise every id it tried would be a 404).
st revoke --include-name "$SELF_REVOKE" --include-name 'POST /v1/orgs/{orgId}/clients' || rc=1

check_server_log || rc=1
if [ "$rc" -ne 0 ]; then
  log "fuzzing found problems (reports in $REPORT_DIR)"
  exit 1
fi
log "fuzzing found no problems"
