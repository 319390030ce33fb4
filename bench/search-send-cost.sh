#!/usr/bin/env bash
# What the search index costs the sending path (BENCHMARKS.md §7): `bench/run.sh` (order-chat
# only, closed loop) on a fresh SQLite file with the full-text index, and on one migrated the
# same way but with the index's three triggers dropped (so sends write no index), alternating,
# REPEATS rounds; prints each run's stored messages/s and the medians.
#
#   bash bench/search-send-cost.sh [ORDERS [PARTICIPANTS [DURATION]]]   # defaults 500 2 10
#
# With BENCH_POSTGRES_URL=postgres://user@host:port the same on PostgreSQL (a fresh database per
# run, created there and dropped after; without the index: its GIN index and tsvector column
# dropped).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-500}; PARTICIPANTS=${2:-2}; DURATION=${3:-10}; REPEATS=${REPEATS:-3}
BIN=$ROOT/target/release/order-chat
cargo build --release --quiet -p order-chat -p chat-bench
WORK=$(mktemp -d /tmp/order-chat-sendcost.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fresh() { # URL [drop]: a database migrated by the server, optionally without the index
  local out="$WORK/migrate.log"
  DATABASE_URL="$1" HOST=127.0.0.1 PORT=0 STORAGE_URL="file://$WORK/files" JWT_ACCESS_SECRET=x \
    JWT_ADMIN_ACCESS_SECRET=y INTERNAL_API_KEY=z "$BIN" serve >"$out" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do grep -q "listening on" "$out" && break; sleep 0.1; done
  kill "$pid"; wait "$pid" || true
  [ "${2:-}" = drop ] || return 0
  case $1 in
    sqlite://*) sqlite3 "${1#sqlite://}" "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; DROP TRIGGER messages_fts_delete;" ;;
    *) psql -q "$1" -c "DROP INDEX messages_search" -c "ALTER TABLE messages DROP COLUMN search" ;;
  esac
}
url() { # VARIANT ROUND: a fresh database's URL
  if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    psql -q "$BENCH_POSTGRES_URL/postgres" -c "DROP DATABASE IF EXISTS sendcost_$1_$2" -c "CREATE DATABASE sendcost_$1_$2" >/dev/null
    echo "$BENCH_POSTGRES_URL/sendcost_$1_$2"
  else
    echo "sqlite://$WORK/$1-$2.db"
  fi
}

declare -A results=([with]="" [without]="")
for round in $(seq "$REPEATS"); do
  for variant in $([ $((round % 2)) -eq 1 ] && echo "with without" || echo "without with"); do
    db=$(url "$variant" "$round")
    fresh "$db" $([ "$variant" = without ] && echo drop)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    rate=$(TARGETS=order-chat BENCH_DATABASE_URL="$db" bash bench/run.sh "$ORDERS" "$PARTICIPANTS" "$DURATION" 2>&1 \
      | grep '^RESULT ' | sed 's/^RESULT //' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Math.round(JSON.parse(s).stored_per_s)))')
    echo "round $round, $variant index: $rate stored msg/s (load $load)"
    results[$variant]+="$rate "
    [ -n "${BENCH_POSTGRES_URL:-}" ] && psql -q "$BENCH_POSTGRES_URL/postgres" -c "DROP DATABASE $(basename "$db")" >/dev/null
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
w=$(echo "${results[with]}" | median); wo=$(echo "${results[without]}" | median)
echo "median stored msg/s: with the index $w, without $wo (ratio $(node -e "console.log(($w/$wo).toFixed(2))"))"
