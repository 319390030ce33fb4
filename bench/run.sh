#!/usr/bin/env bash
# Compare order-chat with the Node.js reference (bench/node-reference) under the same load.
#
#   bash bench/run.sh [ORDERS [PARTICIPANTS [DURATION]]] [-- extra chat-bench run options]
#
# Builds the release binaries, installs the reference's npm packages (npm ci) when missing, then
# for each server in turn (never both at once: they would share the 2 cores): starts it on a
# fresh SQLite file in a temporary folder, on loopback, with a free port; drives it with
# `chat-bench run` with identical parameters; stops it. Prints both reports and the ratios.
#
# Environment (all optional): ORDERS (50), PARTICIPANTS (2), DURATION (10), WARMUP (2),
# RATE (0 = closed loop; else messages/s per participant), MESSAGE_SIZE (64), SOURCES (4),
# CONNECT_CONCURRENCY (64), IDLE (0; N > 0 also runs `chat-bench idle` with N connections on
# each server), HOLD (10, seconds of the idle run), TARGETS ("order-chat node"),
# BENCH_DATABASE_URL (order-chat's database instead of a fresh SQLite file, e.g. PostgreSQL),
# ORDER_CHAT_BIN and CHAT_BENCH_BIN (prebuilt binaries instead of this tree's release build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ORDERS=${ORDERS:-50}
PARTICIPANTS=${PARTICIPANTS:-2}
DURATION=${DURATION:-10}
[ $# -gt 0 ] && [ "$1" != "--" ] && { ORDERS=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { PARTICIPANTS=$1; shift; }
[ $# -gt 0 ] && [ "$1" != "--" ] && { DURATION=$1; shift; }
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
WARMUP=${WARMUP:-2}
RATE=${RATE:-0}
MESSAGE_SIZE=${MESSAGE_SIZE:-64}
SOURCES=${SOURCES:-4}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-64}
IDLE=${IDLE:-0}
HOLD=${HOLD:-10}
TARGETS=${TARGETS:-"order-chat node"}

log() { printf '\n== %s\n' "$*" >&2; }

# Thousands of sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((ORDERS * PARTICIPANTS + IDLE + 256)) ]; then
  echo "ulimit -n is $(ulimit -n): too low for $((ORDERS * PARTICIPANTS)) connections" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/chat-bench.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export JWT_ACCESS_SECRET="bench-secret-$RANDOM$RANDOM"
export INTERNAL_API_KEY="bench-key-$RANDOM$RANDOM"

# ORDER_CHAT_BIN / CHAT_BENCH_BIN: prebuilt binaries (e.g. an older build, for an A/B run);
# with both set nothing is built.
if [ -z "${ORDER_CHAT_BIN:-}" ] || [ -z "${CHAT_BENCH_BIN:-}" ]; then
  log "building release binaries (order-chat, chat-bench)"
  cargo build --release --quiet -p order-chat -p chat-bench
fi
ORDER_CHAT_BIN=${ORDER_CHAT_BIN:-$ROOT/target/release/order-chat}
BENCH=${CHAT_BENCH_BIN:-$ROOT/target/release/chat-bench}

if [[ " $TARGETS " == *" node "* ]]; then
  if [ ! -d bench/node-reference/node_modules/better-sqlite3/build/Release ] \
    || [ bench/node-reference/package-lock.json -nt bench/node-reference/node_modules/.package-lock.json ]; then
    log "npm ci in bench/node-reference"
    # better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded: use the
    # headers of the installed Node rather than downloading them.
    if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
      export npm_config_nodedir=/usr
    fi
    (cd bench/node-reference && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# start_server NAME: starts it in the background on a free port, sets SERVER_PID and URL.
start_server() {
  local name=$1 logf=$WORK/$1.log
  mkdir -p "$WORK/$name"
  case $name in
    order-chat)
      # exec: $! must be the server itself (its CPU and memory are read from /proc).
      # BENCH_DATABASE_URL (e.g. a PostgreSQL database) replaces the fresh SQLite file.
      (HOST=127.0.0.1 PORT=0 DATABASE_URL="${BENCH_DATABASE_URL:-sqlite://$WORK/$name/chat.db}" RUST_LOG=warn \
        MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
        exec "$ORDER_CHAT_BIN" serve >"$logf" 2>&1) &
      ;;
    node)
      (PORT=0 DATABASE_PATH="$WORK/$name/reference.db" \
        exec node "$ROOT/bench/node-reference/server.js" >"$logf" 2>&1) &
      ;;
    *) echo "unknown target $name" >&2; exit 2 ;;
  esac
  SERVER_PID=$!
  URL=
  for _ in $(seq 100); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$logf" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$URL" ]; then
    echo "$name did not start:" >&2
    cat "$logf" >&2
    exit 2
  fi
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

for name in $TARGETS; do
  start_server "$name"
  log "$name at $URL (pid $SERVER_PID): $ORDERS orders x $PARTICIPANTS participants, ${DURATION}s"
  "$BENCH" --url "$URL" --target "$name" --server-pid "$SERVER_PID" --sources "$SOURCES" \
    --connect-concurrency "$CONNECT_CONCURRENCY" \
    run --orders "$ORDERS" --participants "$PARTICIPANTS" --duration "$DURATION" \
    --warmup "$WARMUP" --rate "$RATE" --message-size "$MESSAGE_SIZE" "${EXTRA[@]}" \
    | tee "$WORK/$name.run.out"
  if [ "$IDLE" -gt 0 ]; then
    log "$name: $IDLE idle connections for ${HOLD}s"
    "$BENCH" --url "$URL" --target "$name" --server-pid "$SERVER_PID" --sources "$SOURCES" \
      --connect-concurrency "$CONNECT_CONCURRENCY" \
      idle --connections "$IDLE" --hold "$HOLD" | tee "$WORK/$name.idle.out"
  fi
  stop_server
done

set -- $TARGETS
if [ $# -eq 2 ]; then
  log "comparison ($1 / $2)"
  node - "$WORK/$1.run.out" "$WORK/$2.run.out" "$WORK/$1.idle.out" "$WORK/$2.idle.out" "$1" "$2" <<'EOF'
const fs = require('node:fs');
const [a, b, ai, bi, na, nb] = process.argv.slice(2);
const result = (f) => {
  if (!fs.existsSync(f)) return null;
  const line = fs.readFileSync(f, 'utf8').split('\n').find((l) => l.startsWith('RESULT '));
  return line ? JSON.parse(line.slice(7)) : null;
};
const [ra, rb, ia, ib] = [result(a), result(b), result(ai), result(bi)];
if (ra) ra.idle = ia;
if (rb) rb.idle = ib;
if (!ra || !rb) { console.log('no RESULT line from one of the runs'); process.exit(1); }
const rows = [
  ['stored messages/s (higher is better)', (r) => r.stored_per_s],
  ['deliveries/s (higher is better)', (r) => r.deliveries_per_s],
  ['end-to-end p50 ms (lower is better)', (r) => r.e2e_ms.p50],
  ['end-to-end p99 ms (lower is better)', (r) => r.e2e_ms.p99],
  ['send->ack p99 ms (lower is better)', (r) => r.ack_ms.p99],
  ['join with history p99 ms (lower is better)', (r) => r.join_ms.p99],
  ['server cpu ms per stored message', (r) => r.server_cpu_s == null || !r.acks_ok ? null : (r.server_cpu_s * 1000) / r.acks_ok],
  ['server rss MB at the end of the run', (r) => r.server_rss_kb == null ? null : r.server_rss_kb / 1024],
  ['errors', (r) => r.errors_total],
];
if (ia && ib) rows.push(['idle: KB per connection', (r) => r.idle.kb_per_connection]);
const fmt = (x) => (x == null || Number.isNaN(x) ? '-' : Number(x).toFixed(x >= 100 ? 0 : 2));
const pad = (s, n) => String(s).padStart(n);
console.log(`${'metric'.padEnd(44)}${pad(na, 12)}${pad(nb, 12)}${pad(`${na}/${nb}`, 22)}`);
for (const [label, f] of rows) {
  const x = f(ra), y = f(rb);
  const ratio = x != null && y ? (x / y).toFixed(2) : '-';
  console.log(`${label.padEnd(44)}${pad(fmt(x), 12)}${pad(fmt(y), 12)}${pad(ratio, 22)}`);
}
console.log(`\nthroughput ratio ${na}/${nb}: ${(ra.stored_per_s / rb.stored_per_s).toFixed(2)}x; ` +
  `p99 end-to-end ${na}/${nb}: ${(ra.e2e_ms.p99 / rb.e2e_ms.p99).toFixed(2)} (below 1 means ${na} is faster)`);
EOF
fi
