#!/usr/bin/env bash
# Runs every test of order-chat on a fresh Debian machine (as root) or a developer's.
#
# Installs what it uses when missing (PostgreSQL, Redis and Chromium from Debian's packages;
# moto's S3 server from PyPI; the npm packages of tests/js), starts a throwaway PostgreSQL,
# Redis and S3 (moto) in a temp dir on loopback ports, runs fmt, clippy, the Rust tests (the
# storage suite on SQLite and on PostgreSQL, the blob suite on a folder and on S3), the
# Socket.IO end-to-end suite on both backends, the multi-node tests (S3 shared), the browser
# tests, schemathesis against the OpenAPI document on both backends, tsc over the typed
# Socket.IO client, and a short load-tool smoke, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Each step says when it started (minutes:seconds since the start), so a slow run shows where.
log() { printf '\n==> [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# ---- install what is missing -----------------------------------------------------------
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# Emoji in the page's screenshots show as users see them, not as empty boxes.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The notification tests make a private CA and a certificate with the openssl command line.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The browser tests click notifications through a private D-Bus notification service.
[ -x /usr/bin/dbus-daemon ] || missing+=(dbus-daemon)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  if [ "$(id -u)" -ne 0 ]; then echo "need root to install: ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null 2>&1 || { echo "Node.js 20 is required (node not found)" >&2; exit 1; }
# moto's standalone server speaks S3 on loopback (the attachment storage's second backend).
if ! command -v moto_server >/dev/null 2>&1; then
  log "installing moto[server] from PyPI (an S3-compatible test server)"
  command -v pip3 >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }
  pip3 install --quiet "moto[server]" 2>/dev/null || pip3 install --quiet --break-system-packages "moto[server]"
fi
# schemathesis tests the served OpenAPI document (tests/schemathesis/run.sh).
if ! command -v schemathesis >/dev/null 2>&1; then
  log "installing schemathesis from PyPI"
  command -v pip3 >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }
  pip3 install --quiet schemathesis 2>/dev/null || pip3 install --quiet --break-system-packages schemathesis
fi

log "npm packages (tests/js)"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

# ---- throwaway PostgreSQL and Redis on loopback ----------------------------------------
WORK=$(mktemp -d /tmp/order-chat-test.XXXXXX)
chmod 755 "$WORK"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
S3_PORT=$(free_port)
PG_USER=postgres
id -u postgres >/dev/null 2>&1 || PG_USER=$(id -un)

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }

cleanup() {
  set +e
  [ -n "${S3_PID:-}" ] && kill "$S3_PID" >/dev/null 2>&1 && wait "$S3_PID" 2>/dev/null
  [ -n "${REDIS_STARTED:-}" ] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
  [ -n "${PG_STARTED:-}" ] && as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
# Keep a copy of everything for the summary at the end.
exec > >(tee "$WORK/all.log") 2>&1

log "starting PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT"
mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -o \
  "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >/dev/null
PG_STARTED=1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --dir "$WORK" --logfile "$WORK/redis.log"
REDIS_STARTED=1
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
log "starting moto (S3) on 127.0.0.1:$S3_PORT"
moto_server -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
S3_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" || { echo "moto did not start: $(cat "$WORK/moto.log")" >&2; exit 1; }

export ORDER_CHAT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export ORDER_CHAT_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/?protocol=resp3"
export ORDER_CHAT_TEST_PG_BIN="$PG_BIN" ORDER_CHAT_TEST_PG_DATA="$WORK/pg" ORDER_CHAT_TEST_PG_USER="$PG_USER"
export ORDER_CHAT_TEST_REDIS_PORT="$REDIS_PORT"
# The S3 tests (Rust blob suite, e2e attachments on S3, the cluster's shared storage) create
# their own buckets on it; without it they fail unless ORDER_CHAT_SKIP_S3=1.
export ORDER_CHAT_TEST_S3_URL="http://127.0.0.1:$S3_PORT" E2E_S3_URL="http://127.0.0.1:$S3_PORT"

# ---- Rust --------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test (unit, service, REST, storage suite on SQLite and PostgreSQL)"
cargo build --quiet --workspace
cargo test --quiet --workspace 2>&1 | tee "$WORK/cargo-test.log"

# ---- JavaScript: the official socket.io-client and a real Chromium ------------------------
createdb_e2e() {
  local name=$1
  psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE $name" postgres
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"
}
log "schemathesis against the OpenAPI document on SQLite"
bash tests/schemathesis/run.sh
log "schemathesis against the OpenAPI document on PostgreSQL"
bash tests/schemathesis/run.sh "$(createdb_e2e schemathesis)"
cd "$ROOT/tests/js"
log "TypeScript declarations of the events: tsc --strict over a typed client and wrong usages"
node --test types/
log "end-to-end suite (socket.io-client) on SQLite"
node --test --test-concurrency=1 e2e/
log "end-to-end suite (socket.io-client) on PostgreSQL"
E2E_DATABASE_URL=$(createdb_e2e e2e) node --test --test-concurrency=1 e2e/
if [ -d cluster ]; then
  log "multi-node suite (PostgreSQL + Redis + S3)"
  E2E_DATABASE_URL=$(createdb_e2e cluster) E2E_REDIS_URL="$ORDER_CHAT_TEST_REDIS_URL" \
    node --test --test-concurrency=1 cluster/
fi
node --test web/  # unit tests of the page's modules (web/js), in Node without a browser
log "browser suite (playwright-core + Debian Chromium)"
node --test --test-concurrency=1 browser/
if [ -d hardening ]; then
  # 60 s of soak here keeps the whole run under 30 minutes on a cold CI machine; a longer one
  # is SOAK_SECONDS=600 (the test alone: node --test hardening/soak.test.mjs).
  log "hardening suite: attacks, faults, soak (SOAK_SECONDS=${SOAK_SECONDS:-60})"
  SOAK_SECONDS=${SOAK_SECONDS:-60} node --test --test-concurrency=1 hardening/
fi
cd "$ROOT"

log "fuzzing the decoding of everything a client sends (${FUZZ_SECONDS:-60} s)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

log "load tool smoke (chat-bench against a debug order-chat)"
bash bench/smoke.sh

rust=$(grep -E '^test result: ok\. [0-9]+ passed' "$WORK/all.log" | awk '{s += $4} END {print s + 0}')
node=$(grep -E '^# pass [0-9]+' "$WORK/all.log" | awk '{s += $3} END {print s + 0}')
log "all tests passed: $rust Rust tests, $node JavaScript tests, the fuzzer and the load-tool smoke"
echo "$((rust + node)) passed, 0 failed, in $((SECONDS / 60)) min $((SECONDS % 60)) s"
