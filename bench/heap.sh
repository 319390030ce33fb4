#!/usr/bin/env bash
# Where an idle connection's memory goes: order-chat under heaptrack while `chat-bench idle`
# holds N joined connections, then the heap at its peak (the held connections), per owner.
#
#   bash bench/heap.sh [CONNECTIONS [HOLD]]        # defaults: 5000 connections, 10 s
#
# Needs heaptrack (`apt-get install heaptrack`; installed when missing and running as root).
# ORDER_CHAT_BIN / CHAT_BENCH_BIN: prebuilt binaries instead of this tree's release build.
# Prints the RSS figure chat-bench measured (heaptrack slows allocation, not what is held) and
# the heap per connection by owner (bench/heap-breakdown.py).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CONNECTIONS=${1:-5000}
HOLD=${2:-10}

if ! command -v heaptrack >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq heaptrack >/dev/null; else echo "heaptrack is needed" >&2; exit 2; fi
fi
if [ -z "${ORDER_CHAT_BIN:-}" ] || [ -z "${CHAT_BENCH_BIN:-}" ]; then
  cargo build --release --quiet -p order-chat -p chat-bench
fi
ORDER_CHAT_BIN=${ORDER_CHAT_BIN:-$ROOT/target/release/order-chat}
BENCH=${CHAT_BENCH_BIN:-$ROOT/target/release/chat-bench}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNECTIONS + 256)) ]; then
  echo "ulimit -n is $(ulimit -n): too low for $CONNECTIONS connections" >&2
  exit 2
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export JWT_ACCESS_SECRET="bench-secret-$RANDOM$RANDOM"
export INTERNAL_API_KEY="bench-key-$RANDOM$RANDOM"
(HOST=127.0.0.1 PORT=0 DATABASE_URL="sqlite://$WORK/chat.db" RUST_LOG=warn \
  MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
  exec heaptrack -o "$WORK/heap" "$ORDER_CHAT_BIN" serve >"$WORK/server.log" 2>&1) &
URL=
for _ in $(seq 300); do
  URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -1 | sed 's/listening on //') || true
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/server.log" >&2; exit 2; }
# heaptrack runs the server as its child: the pid chat-bench reads /proc of is the server's.
SERVER_PID=$(pgrep -f "^$ORDER_CHAT_BIN serve" | head -1)
"$BENCH" --url "$URL" --target order-chat --server-pid "$SERVER_PID" --sources 4 \
  idle --connections "$CONNECTIONS" --hold "$HOLD" | grep -v '^RESULT'
kill "$SERVER_PID"
for _ in $(seq 120); do grep -q 'Heaptrack finished' "$WORK/server.log" && break; sleep 1; done
SERVER_PID=
if grep -q panicked "$WORK/server.log"; then echo "the server panicked:" >&2; grep -A3 panicked "$WORK/server.log" >&2; exit 1; fi
heaptrack_print -f "$WORK"/heap*.zst --print-peaks 0 --print-allocators 0 --print-temporary 0 \
  --print-leaks 0 --print-flamegraph "$WORK/peak.folded" --flamegraph-cost-type peak >/dev/null
python3 bench/heap-breakdown.py "$WORK/peak.folded" "$CONNECTIONS"
