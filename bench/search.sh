#!/usr/bin/env bash
# Search latency through the server on 1,000,000 messages (BENCHMARKS.md §7).
#
#   bash bench/search.sh [N=300] [WARMUP=30]
#
# For SQLite (a fresh file in a temp folder) and, when BENCH_POSTGRES_URL names a server
# (postgres://user@host:port, a database `searchbench` is created there and dropped after), for
# PostgreSQL: lets the release server migrate an empty database (start, wait until listening,
# stop), fills it with bench/search-data-*.sql, prints the index's size, then runs
# bench/search.mjs (N sequential searches per case after WARMUP). Needs target/release/order-chat
# (cargo build --release) and sqlite3 / psql.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
N=${1:-300}
WARMUP=${2:-30}
BIN=${ORDER_CHAT_BIN:-$ROOT/target/release/order-chat}
WORK=$(mktemp -d /tmp/order-chat-search.XXXXXX)
cleanup() {
  set +e
  [ -n "${PG_DB:-}" ] && psql -q "$BENCH_POSTGRES_URL/postgres" -c "DROP DATABASE IF EXISTS searchbench" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

migrate() { # DATABASE_URL: start the server on it until it listens, then stop it
  local out="$WORK/migrate.log"
  DATABASE_URL=$1 HOST=127.0.0.1 PORT=0 STORAGE_URL="file://$WORK/files" JWT_ACCESS_SECRET=x \
    JWT_ADMIN_ACCESS_SECRET=y INTERNAL_API_KEY=z "$BIN" serve >"$out" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do grep -q "listening on" "$out" && break; sleep 0.1; done
  kill "$pid"; wait "$pid" || true
  grep -q "listening on" "$out" || { cat "$out" >&2; exit 1; }
}

echo "== SQLite"
DB="$WORK/chat.db"
migrate "sqlite://$DB"
t0=$(date +%s)
sqlite3 "$DB" < bench/search-data-sqlite.sql >/dev/null
echo "filled in $(( $(date +%s) - t0 )) s"
sqlite3 "$DB" "SELECT 'index bytes: ' || SUM(pgsize) FROM dbstat WHERE name LIKE 'messages_fts%'; SELECT 'messages table bytes: ' || SUM(pgsize) FROM dbstat WHERE name = 'messages';"
echo "file bytes: $(stat -c %s "$DB")"
DATABASE_URL="sqlite://$DB" ORDER_CHAT_BIN="$BIN" node bench/search.mjs "$N" "$WARMUP"

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  echo "== PostgreSQL"
  psql -q "$BENCH_POSTGRES_URL/postgres" -c "DROP DATABASE IF EXISTS searchbench" -c "CREATE DATABASE searchbench"
  PG_DB="$BENCH_POSTGRES_URL/searchbench"
  migrate "$PG_DB"
  t0=$(date +%s)
  psql -q "$PG_DB" -f bench/search-data-postgres.sql >/dev/null
  psql -q "$PG_DB" -c "ANALYZE"
  echo "filled in $(( $(date +%s) - t0 )) s"
  psql -tA "$PG_DB" -c "SELECT 'GIN index bytes: ' || pg_relation_size('messages_search') || ', newest-first index bytes: ' || pg_relation_size('messages_newest') || ', tsvector column bytes: ' || (SELECT sum(pg_column_size(search)) FROM messages)"
  DATABASE_URL="$PG_DB" ORDER_CHAT_BIN="$BIN" node bench/search.mjs "$N" "$WARMUP"
fi
