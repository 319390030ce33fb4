#!/usr/bin/env bash
# Smoke test of chat-bench against a debug order-chat: ~10 seconds once built.
#
#   bash bench/smoke.sh
#
# Builds the debug binaries (order-chat, chat-bench), starts order-chat on a temporary SQLite
# file on loopback with a free port and high per-user limits, runs a 3-second `chat-bench run`
# (10 orders x 3 participants, closed loop, send-only), a 2-second one with the lifecycle mix
# (30 % edits and reactions, then a history with replies and reactions before the final joins)
# and a short `chat-bench idle` (60 connections), all with --check: exits 0 only when every
# connection was set up, nothing failed and every message reached every other participant.
# Prints the figures. Needs no Node.js.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --quiet -p order-chat -p chat-bench

WORK=$(mktemp -d /tmp/chat-bench-smoke.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export JWT_ACCESS_SECRET="smoke-secret-$RANDOM$RANDOM"
export INTERNAL_API_KEY="smoke-key-$RANDOM$RANDOM"
(HOST=127.0.0.1 PORT=0 DATABASE_URL="sqlite://$WORK/chat.db" RUST_LOG=warn \
  MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
  exec "$ROOT/target/debug/order-chat" serve >"$WORK/server.log" 2>&1) &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -1 | sed 's/listening on //') || true
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$URL" ]; then
  echo "order-chat did not start:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi

BENCH=(timeout 60 "$ROOT/target/debug/chat-bench" --url "$URL" --target order-chat-debug
  --server-pid "$SERVER_PID" --sources 2 --check)
"${BENCH[@]}" run --orders 10 --participants 3 --duration 3 --warmup 1
"${BENCH[@]}" run --orders 10 --participants 3 --duration 2 --warmup 1 --changes 30 --history-extras
"${BENCH[@]}" idle --connections 60 --hold 1
echo "chat-bench smoke passed"
