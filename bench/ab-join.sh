#!/usr/bin/env bash
# A/B of the join round: two order-chat binaries, alternating which goes first, ROUNDS rounds of
# bench/run.sh 500 2 10 in each of MODES (text: closed loop; extras: closed loop then
# --history-extras; rate5: 5 msg/s per user). Prints each run's load average, stored msg/s,
# join p50/p95/p99 and server CPU per message.
#
#   bash bench/ab-join.sh OLD_BIN NEW_BIN [CHAT_BENCH_BIN]
#
# Environment: ROUNDS (3), MODES ("text extras rate5").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
OLD=$1 NEW=$2 BENCH=${3:-$ROOT/target/release/chat-bench}
ROUNDS=${ROUNDS:-3}
MODES=${MODES:-"text extras rate5"}
cd "$ROOT"
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="new old"; else order="old new"; fi
  for which in $order; do
    bin=$NEW; [ "$which" = old ] && bin=$OLD
    for mode in $MODES; do
      extra=(); rate=0
      [ "$mode" = extras ] && extra=(-- --history-extras)
      [ "$mode" = rate5 ] && rate=5
      echo "== round $round $which $mode load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
      RATE=$rate ORDER_CHAT_BIN=$bin CHAT_BENCH_BIN=$BENCH TARGETS=order-chat \
        bash bench/run.sh 500 2 10 "${extra[@]}" 2>&1 \
        | grep -E "stored messages/s|join with history|errors|server cpu"
    done
  done
done
