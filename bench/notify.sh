#!/usr/bin/env bash
# Notifications (PROTOCOL.md §14, BENCHMARKS.md §9), on the embedded SQLite (BENCH_DATABASE_URL
# for another database: each part then needs an empty one):
#
#   bash bench/notify.sh [ORDERS=500] [SECONDS=10] [OUTAGE_S=600]
#
# 1. Send throughput, every recipient offline (chat-bench --offline-recipients: only each
#    order's customer connects, its agent never does), with notifications off (no webhook)
#    and on (NOTIFY_DELAY=0 and a webhook receiver on loopback: every message becomes a
#    message.created and a notification.due delivery), same run, same load.
# 2. Time from a send to its webhooks at NOTIFY_DELAY=0, p50/p99 (bench/notify.mjs latency).
# 3. Outbox drain after the receiver refused connections for OUTAGE_S seconds (default 10
#    minutes) under load (bench/notify.mjs drain). SKIP_DRAIN=1 leaves it out.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-500}
SECONDS_=${2:-10}
OUTAGE=${3:-600}
WORK=$(mktemp -d /tmp/order-chat-notify.XXXXXX)
RECEIVER=
cleanup() {
  set +e
  [ -n "$RECEIVER" ] && kill "$RECEIVER" 2>/dev/null && wait "$RECEIVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cargo build --release --quiet -p order-chat -p chat-bench
[ -d tests/js/node_modules ] || (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

echo "== 1. send throughput, recipients offline: notifications off, then on"
TARGETS=order-chat bash bench/run.sh "$ORDERS" 2 "$SECONDS_" -- --offline-recipients | tee "$WORK/off.out"
node bench/notify.mjs receiver "$WORK/url" > "$WORK/receiver.out" &
RECEIVER=$!
for _ in $(seq 50); do [ -s "$WORK/url" ] && break; sleep 0.1; done
NOTIFY_DELAY=0s WEBHOOK_URL=$(cat "$WORK/url") WEBHOOK_SECRET="whsec_$(head -c 32 /dev/urandom | base64)" \
  TARGETS=order-chat bash bench/run.sh "$ORDERS" 2 "$SECONDS_" -- --offline-recipients | tee "$WORK/on.out"
sleep 3 # the last webhooks
kill "$RECEIVER"; wait "$RECEIVER" || true; RECEIVER=
cat "$WORK/receiver.out"
stored() { grep -o "stored messages/s *[0-9.]*" "$1" | head -1 | grep -o "[0-9.]*$"; }
p99() { grep -o 'send->ack .*' "$1" | head -1; }
off=$(stored "$WORK/off.out"); on=$(stored "$WORK/on.out")
echo "stored messages/s: notifications off $off, on $on (on/off $(node -e "console.log(($on/$off).toFixed(2))"))"
echo "  off: $(p99 "$WORK/off.out")"
echo "  on:  $(p99 "$WORK/on.out")"

db() { echo "${BENCH_DATABASE_URL:-sqlite://$WORK/$1.db}"; }
echo; echo "== 2. send → webhook latency, NOTIFY_DELAY=0"
DATABASE_URL=$(db latency) node bench/notify.mjs latency 100 30 2000
if [ -z "${SKIP_DRAIN:-}" ]; then
  echo; echo "== 3. outbox drain after a ${OUTAGE}-second receiver outage"
  DATABASE_URL=$(db drain) node bench/notify.mjs drain 100 "$OUTAGE" 2000
fi
