#!/usr/bin/env bash
# Two order-chat nodes sharing one PostgreSQL and one Redis, each driven by its own chat-bench
# (orders are not split across nodes; every broadcast still goes through the Redis adapter).
#
#   BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL='redis://127.0.0.1:6379/?protocol=resp3' \
#     bash bench/two-nodes.sh [ORDERS_PER_NODE [PARTICIPANTS [DURATION]]]
#
# Prints each node's report and the two nodes' stored messages/s together. ORDER_CHAT_BIN and
# CHAT_BENCH_BIN: prebuilt binaries instead of this tree's release build (an A/B run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
: "${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a PostgreSQL database}"
: "${BENCH_REDIS_URL:?set BENCH_REDIS_URL to a Redis 7 URL with ?protocol=resp3}"
ORDERS=${1:-250}
PARTICIPANTS=${2:-2}
DURATION=${3:-10}
RATE=${RATE:-0}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "${ORDER_CHAT_BIN:-}" ] || [ -z "${CHAT_BENCH_BIN:-}" ]; then
  cargo build --release --quiet -p order-chat -p chat-bench
fi
ORDER_CHAT_BIN=${ORDER_CHAT_BIN:-$ROOT/target/release/order-chat}
CHAT_BENCH_BIN=${CHAT_BENCH_BIN:-$ROOT/target/release/chat-bench}
WORK=$(mktemp -d /tmp/two-nodes.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export JWT_ACCESS_SECRET="bench-secret-$RANDOM$RANDOM" INTERNAL_API_KEY="bench-key-$RANDOM$RANDOM"
for n in 1 2; do
  (HOST=127.0.0.1 PORT=0 DATABASE_URL="$BENCH_DATABASE_URL" REDIS_URL="$BENCH_REDIS_URL" RUST_LOG=warn \
    MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
    exec "$ORDER_CHAT_BIN" serve >"$WORK/node$n.log" 2>&1) &
  PIDS+=($!)
done
url() { for _ in $(seq 100); do grep -o 'http://[0-9.:]*' "$WORK/node$1.log" 2>/dev/null | head -n1 && return; sleep 0.1; done; echo "node $1 did not start" >&2; exit 1; }
U1=$(url 1); U2=$(url 2)
for n in 1 2; do
  u=$([ $n = 1 ] && echo "$U1" || echo "$U2")
  "$CHAT_BENCH_BIN" --url "$u" --target "node$n" --server-pid "${PIDS[$((n-1))]}" --sources 2 \
    run --orders "$ORDERS" --participants "$PARTICIPANTS" --duration "$DURATION" --rate "$RATE" >"$WORK/bench$n.out" 2>&1 &
  PIDS+=($!)
done
wait "${PIDS[2]}" "${PIDS[3]}"
for n in 1 2; do grep -vE '^RESULT' "$WORK/bench$n.out"; done
grep -h '^RESULT ' "$WORK/bench1.out" "$WORK/bench2.out" | sed 's/^RESULT //' | node -e '
  const rs = require("node:fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  console.log(`two nodes together: ${rs.reduce((s, r) => s + r.stored_per_s, 0).toFixed(0)} stored messages/s`);
' || true
