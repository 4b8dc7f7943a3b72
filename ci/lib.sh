# Shared by the ci/*.sh scripts (sourced, not run): a Python venv with the pinned tools, and a
# meetplane server on a fresh PostgreSQL database with an API client and an access token.
#
# Settings (environment):
#   MP_BIN        server binary (default target/debug/meetplane; the scripts' first argument wins)
#   PG_ADMIN_URL  a Postgres where we may create and drop databases
#                 (default postgres://postgres@127.0.0.1:5432/postgres)
#   MP_VENV       the venv to create or reuse (default target/ci-venv)
# Variables named MEETPLANE_* are not used here on purpose: the server refuses unknown ones.

CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$CI_DIR/.." && pwd)"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
MP_VENV="${MP_VENV:-$REPO_DIR/target/ci-venv}"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# Creates (or reuses) the venv and installs ci/requirements.txt into it; sets PY.
ci_venv() {
  if [ ! -x "$MP_VENV/bin/python" ]; then
    python3 -m venv "$MP_VENV" || {
      log "cannot create a venv with $(command -v python3) (Debian's python3 needs python3-venv)"
      return 1
    }
  fi
  PY="$MP_VENV/bin/python"
  # A no-op when the pinned versions are already there.
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$CI_DIR/requirements.txt"
}

# start_server BIN [VAR=VALUE...]: creates database mp_ci_<pid>_<n> and starts BIN on it on a free loopback
# port. Sets MP_URL, MP_DB, MP_PID, MP_WORK (temp dir: data dir, server log). Returns once
# /readyz answers 200. ci_cleanup (installed as EXIT trap) stops the server and drops the database.
start_server() {
  local bin="$1"
  shift
  if [ ! -x "$bin" ]; then
    log "no server binary at $bin (build it first: MEETPLANE_BUILD_SKIP_WEB=1 cargo build)"
    return 1
  fi
  MP_BIN_ABS="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  MP_WORK="$(mktemp -d "${TMPDIR:-/tmp}/meetplane-ci.XXXXXX")"
  MP_DB="mp_ci_$$_${RANDOM}"
  trap ci_cleanup EXIT
  psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE $MP_DB" >/dev/null
  MP_DATABASE_URL="${PG_ADMIN_URL%/*}/$MP_DB"
  # Port 0: the kernel picks a free port and the server logs it, so there is no race with
  # another process taking a port we probed.
  # One caller from one address sends thousands of requests a minute: rate limits off.
  DATABASE_URL="$MP_DATABASE_URL" MEETPLANE_DATA_DIR="$MP_WORK/data" \
    MEETPLANE_RATE_LIMIT_CLIENT=0 MEETPLANE_RATE_LIMIT_ADDRESS=0 \
    MEETPLANE_LISTEN=127.0.0.1:0 MEETPLANE_LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info,sqlx=warn}" \
    env "$@" "$MP_BIN_ABS" serve >"$MP_WORK/server.log" 2>&1 &
  MP_PID=$!
  local port="" i
  # Poll (up to 60 s): first for the port in the log, then for /readyz.
  for i in $(seq 1 600); do
    if ! kill -0 "$MP_PID" 2>/dev/null; then
      log "the server exited during start-up; its log:"
      cat "$MP_WORK/server.log" >&2
      return 1
    fi
    if [ -z "$port" ]; then
      port="$(python3 - "$MP_WORK/server.log" <<'EOF'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    # The JSON log puts an event's fields at the top level (older formats: under "fields").
    port = rec.get("port") or (rec.get("fields") or {}).get("port")
    if port and "listening" in str(rec.get("message", "")):
        print(port)
        break
EOF
)"
      [ -n "$port" ] && MP_URL="http://127.0.0.1:$port"
    fi
    if [ -n "$port" ] && python3 - "$MP_URL/readyz" <<'EOF'
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
    then
      log "meetplane is ready at $MP_URL (database $MP_DB, pid $MP_PID)"
      return 0
    fi
    sleep 0.1
  done
  log "the server did not become ready within 60 s; its log:"
  cat "$MP_WORK/server.log" >&2
  return 1
}

# create_client: an API client in the default organisation through the CLI; sets MP_ORG,
# MP_API_KEY, MP_API_SECRET.
create_client() {
  local json
  json="$(DATABASE_URL="$MP_DATABASE_URL" MEETPLANE_DATA_DIR="$MP_WORK/data" \
    "$MP_BIN_ABS" client create --org Default --name "ci-$1" --json)"
  MP_ORG="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["orgId"])' <<<"$json")"
  MP_API_KEY="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])' <<<"$json")"
  MP_API_SECRET="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKeySecret"])' <<<"$json")"
}

# get_token: an access token by client credentials (HTTP Basic); sets MP_TOKEN.
get_token() {
  MP_TOKEN="$(python3 - "$MP_URL/v1/auth/token" "$MP_API_KEY" "$MP_API_SECRET" <<'EOF'
import base64, json, sys, urllib.parse, urllib.request
url, key, secret = sys.argv[1:4]
req = urllib.request.Request(
    url,
    data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
    headers={"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()},
)
print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])
EOF
)"
}

# Fails (returns 1) when the server logged a panic.
check_server_log() {
  if grep -q 'panicked' "$MP_WORK/server.log"; then
    log "the server panicked:"
    grep -n 'panicked' "$MP_WORK/server.log" >&2
    return 1
  fi
}

ci_cleanup() {
  local rc=$?
  if [ -n "${MP_PID:-}" ] && kill -0 "$MP_PID" 2>/dev/null; then
    kill -TERM "$MP_PID" 2>/dev/null || true
    wait "$MP_PID" 2>/dev/null || true
  fi
  if [ -n "${MP_DB:-}" ]; then
    psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $MP_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$rc" -ne 0 ] && [ -n "${MP_WORK:-}" ] && [ -f "$MP_WORK/server.log" ]; then
    log "server log kept at $MP_WORK/server.log"
  elif [ -n "${MP_WORK:-}" ]; then
    rm -rf "$MP_WORK"
  fi
  exit "$rc"
}
