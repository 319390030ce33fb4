#!/usr/bin/env bash
# A second load tool: Artillery (v2, its built-in Socket.IO engine; bench/artillery/) and chat-bench
# at one fixed offered rate, against order-chat and the Node.js reference, from one run.
#
#   bash bench/artillery.sh
#   ORDERS=100 PARTICIPANTS=2 RATE=5 DURATION=30 bash bench/artillery.sh   # the defaults: 1,000 msg/s
#
# For each target in turn (never two at once: they share the 2 cores), two runs, each on a fresh
# server (a fresh SQLite file in a temporary folder, loopback, a free port):
#   1. Artillery: ORDERS × PARTICIPANTS virtual users, one per user, each sending RATE
#      `send-message` per second with acks for DURATION seconds after WARMUP seconds of unmeasured
#      sends (bench/artillery/chat.yml); its CPU, per thread, and the server's are sampled;
#   2. chat-bench: the same orders × participants, `--rate RATE --duration DURATION --warmup WARMUP`.
# Then one table: sent, acked, errors, Artillery's socketio.response_time p50/p99 next to
# chat-bench's send→ack p50/p99, and both tools' CPU. Nothing is built here: the binaries come from
# ORDER_CHAT_BIN and CHAT_BENCH_BIN (default: this tree's target/release/, `cargo build --release
# -p order-chat -p chat-bench`). `npm ci` runs in bench/artillery and bench/node-reference when
# their node_modules are missing or older than the lock file.
#
# Environment (all optional): ORDERS (100), PARTICIPANTS (2), RATE (5, per user), DURATION (30),
# WARMUP (2), ARRIVAL (2, seconds over which Artillery's users arrive), TARGETS ("order-chat node"),
# ORDER_CHAT_BIN, CHAT_BENCH_BIN, KEEP (a folder: keep the reports, logs and samples there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ORDERS=${ORDERS:-100}
PARTICIPANTS=${PARTICIPANTS:-2}
RATE=${RATE:-5}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-2}
ARRIVAL=${ARRIVAL:-2}
TARGETS=${TARGETS:-"order-chat node"}
ORDER_CHAT_BIN=${ORDER_CHAT_BIN:-$ROOT/target/release/order-chat}
BENCH=${CHAT_BENCH_BIN:-$ROOT/target/release/chat-bench}
USERS=$((ORDERS * PARTICIPANTS))
ART=$ROOT/bench/artillery

log() { printf '\n== %s\n' "$*" >&2; }

for bin in "$ORDER_CHAT_BIN" "$BENCH"; do
  if [ ! -x "$bin" ]; then
    echo "$bin is missing: cargo build --release -p order-chat -p chat-bench (or set ORDER_CHAT_BIN / CHAT_BENCH_BIN)" >&2
    exit 2
  fi
done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((USERS + 256)) ]; then
  echo "ulimit -n is $(ulimit -n): too low for $USERS connections" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/artillery-bench.XXXXXX)
SERVER_PID= ART_PID= BENCH_PID= SAMPLER_PID=
stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop_pid "$ART_PID"
  stop_pid "$BENCH_PID"
  stop_pid "$SAMPLER_PID"
  stop_pid "$SERVER_PID"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export JWT_ACCESS_SECRET="bench-secret-$RANDOM$RANDOM"
export INTERNAL_API_KEY="bench-key-$RANDOM$RANDOM"

# npm ci where node_modules is missing or older than the lock file.
npm_ci() {
  local dir=$1 marker=$2
  if [ ! -e "$dir/node_modules/$marker" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm ci in ${dir#"$ROOT"/}"
    # Artillery's Playwright engine would download a browser: not used here.
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci "$ART" artillery/bin/run
if [[ " $TARGETS " == *" node "* ]]; then
  # better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded.
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
  npm_ci "$ROOT/bench/node-reference" better-sqlite3/build/Release
fi

# start_server NAME DIR: in the background on a free port; sets SERVER_PID and URL. As bench/run.sh.
start_server() {
  local name=$1 dir=$2 logf=$2/server.log
  mkdir -p "$dir"
  case $name in
    order-chat)
      (HOST=127.0.0.1 PORT=0 DATABASE_URL="sqlite://$dir/chat.db" RUST_LOG=warn \
        MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
        exec "$ORDER_CHAT_BIN" serve >"$logf" 2>&1) &
      ;;
    node)
      (PORT=0 DATABASE_PATH="$dir/reference.db" exec node "$ROOT/bench/node-reference/server.js" >"$logf" 2>&1) &
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

# Artillery: setup (orders and tokens), then the scenario; its CPU and the server's sampled.
run_artillery() {
  local name=$1 dir=$WORK/$1-artillery
  start_server "$name" "$dir"
  log "$name at $URL (pid $SERVER_PID): Artillery, $USERS users x $RATE msg/s, ${WARMUP}s + ${DURATION}s; $(uptime)"
  node "$ART/setup.mjs" "$URL" "$ORDERS" "$PARTICIPANTS" "$dir/users.csv"
  # Artillery joins payload paths to the scenario's folder, even absolute ones.
  (cd "$ART" && exec env ARTILLERY_DISABLE_TELEMETRY=true \
    ART_USERS_CSV="$(realpath --relative-to="$ART" "$dir/users.csv")" ART_VUS="$USERS" ART_RATE="$RATE" \
    ART_WARMUP="$WARMUP" ART_DURATION="$DURATION" ART_T0_FILE="$WORK/$name.t0" \
    node -r ./no-telemetry.cjs node_modules/artillery/bin/run run --target "$URL" \
    --output "$WORK/$name.artillery.json" \
    --overrides "{\"config\":{\"phases\":[{\"arrivalCount\":$USERS,\"duration\":$ARRIVAL}]}}" \
    chat.yml) >"$dir/artillery.log" 2>&1 &
  ART_PID=$!
  echo "$ART_PID $SERVER_PID" >"$WORK/$name.pids"
  node "$ART/cpu.mjs" "$WORK/$name.cpu.jsonl" "$ART_PID" "$SERVER_PID" &
  SAMPLER_PID=$!
  # Bounded: startup, arrivals, the 20 s join barrier at most, warm-up, window, last acks.
  local deadline=$((SECONDS + ARRIVAL + WARMUP + DURATION + 60)) status=0
  while kill -0 "$ART_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 1; done
  if kill -0 "$ART_PID" 2>/dev/null; then
    echo "Artillery still running after its time limit: stopped" >&2
    kill "$ART_PID" 2>/dev/null || true
  fi
  wait "$ART_PID" || status=$?
  ART_PID=
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=
  sed -n '/^Summary report/,$p' "$dir/artillery.log" >&2
  [ "$status" -eq 0 ] || { echo "Artillery exited with $status; its log:" >&2; tail -30 "$dir/artillery.log" >&2; }
  stop_pid "$SERVER_PID"; SERVER_PID=
}

run_chat_bench() {
  local name=$1 dir=$WORK/$1-chat-bench
  start_server "$name" "$dir"
  log "$name at $URL (pid $SERVER_PID): chat-bench, $ORDERS orders x $PARTICIPANTS, $RATE msg/s each, ${WARMUP}s + ${DURATION}s; $(uptime)"
  "$BENCH" --url "$URL" --target "$name" --server-pid "$SERVER_PID" --sources 1 \
    run --orders "$ORDERS" --participants "$PARTICIPANTS" --duration "$DURATION" \
    --warmup "$WARMUP" --rate "$RATE" >"$WORK/$name.chat-bench.out" 2>&1 &
  BENCH_PID=$!
  # Only for the machine's I/O stall during the run (chat-bench measures its own CPU and the server's).
  node "$ART/cpu.mjs" "$WORK/$name.chat-bench.cpu.jsonl" "$BENCH_PID" &
  SAMPLER_PID=$!
  local status=0
  wait "$BENCH_PID" || status=$?
  BENCH_PID=
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=
  cat "$WORK/$name.chat-bench.out" >&2
  [ "$status" -eq 0 ] || echo "chat-bench exited with $status" >&2
  stop_pid "$SERVER_PID"; SERVER_PID=
}

log "offered: $USERS users ($ORDERS orders x $PARTICIPANTS) x $RATE msg/s = $((USERS * RATE)) msg/s, ${DURATION}s measured after ${WARMUP}s; $(uptime)"
for name in $TARGETS; do
  run_artillery "$name"
  run_chat_bench "$name"
done

log "Artillery and chat-bench at $((USERS * RATE)) msg/s offered ($USERS users x $RATE msg/s, ${DURATION}s); $(uptime)"
# shellcheck disable=SC2086
DURATION=$DURATION CLK_TCK=$(getconf CLK_TCK) node "$ART/report.mjs" "$WORK" $TARGETS
