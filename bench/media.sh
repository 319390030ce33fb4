#!/usr/bin/env bash
# The media benchmarks (issue 11), order-chat only (release build, loopback, a fresh server on a
# fresh SQLite file and attachments folder for every measurement):
#
#   latency     upload-to-thumbnail time of a 12-megapixel JPEG (3.6 MB): from the start of the
#               upload POST to the last byte of the thumbnail GET; RUNS sequential runs after
#               WARMUP (bench/media.py latency)
#   memory      the server's RSS (VmRSS sampled every 5 ms, and VmHWM) during CONCURRENCY
#               concurrent uploads of ~10 MB: a 12 MP JPEG, a 40 MP JPEG (the most pixels
#               accepted) and a PDF; MEM_ROUNDS rounds each, a fresh server each time
#   throughput  `chat-bench run` text-only next to `--attachments $ATTACH_PCT` (that share of the
#               sends first uploads a 640x480 JPEG through REST), through bench/run.sh,
#               REPEATS rounds alternating which goes first; then the medians
#
#   bash bench/media.sh [PARTS…]          # default: latency memory throughput
#
# Environment: RUNS (30), WARMUP (3), CONCURRENCY (10), MEM_ROUNDS (2), MEM_FILES
# ("photo-12mp-10mb.jpg photo-40mp-10mb.jpg document-10mb.pdf"), REPEATS (3), ATTACH_PCT (10),
# ORDERS (500), PARTICIPANTS (2), DURATION (10), FIXTURES (folder for the generated files,
# default /tmp/order-chat-media-fixtures, kept), OUT (raw RESULT lines; default a fresh temporary
# folder, kept). Needs Python 3 with Pillow (`pip3 install pillow`) for the fixtures.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(latency memory throughput)
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY:-10}
MEM_ROUNDS=${MEM_ROUNDS:-2}
MEM_FILES=${MEM_FILES:-"photo-12mp-10mb.jpg photo-40mp-10mb.jpg document-10mb.pdf"}
REPEATS=${REPEATS:-3}
ATTACH_PCT=${ATTACH_PCT:-10}
ORDERS=${ORDERS:-500}
PARTICIPANTS=${PARTICIPANTS:-2}
DURATION=${DURATION:-10}
FIXTURES=${FIXTURES:-/tmp/order-chat-media-fixtures}
OUT=${OUT:-$(mktemp -d /tmp/chat-bench-media.XXXXXX)}
mkdir -p "$OUT"

log() { printf '\n== %s (load %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2; }

WORK=$(mktemp -d /tmp/media-bench.XXXXXX)
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

log "building release binaries (order-chat, chat-bench)"
cargo build --release --quiet -p order-chat -p chat-bench
log "fixtures in $FIXTURES (name, bytes, sha256)"
python3 bench/media.py fixtures "$FIXTURES" | tee "$OUT/fixtures.tsv"

# start_server: a fresh SQLite file and attachments folder; sets SERVER_PID and URL.
start_server() {
  local dir
  dir=$(mktemp -d "$WORK/server.XXXXXX")
  (HOST=127.0.0.1 PORT=0 DATABASE_URL="sqlite://$dir/chat.db" RUST_LOG=warn \
    MESSAGES_PER_SECOND=100000 MESSAGE_BURST=100000 MAX_SOCKETS_PER_USER=1000 \
    exec "$ROOT/target/release/order-chat" serve >"$dir/log" 2>&1) &
  SERVER_PID=$!
  URL=
  for _ in $(seq 100); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$dir/log" | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$URL" ]; then
    echo "order-chat did not start:" >&2
    cat "$dir/log" >&2
    exit 2
  fi
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

for part in "${PARTS[@]}"; do
  case $part in
    latency)
      start_server
      log "latency: photo-12mp.jpg, $RUNS runs after $WARMUP warm-up (pid $SERVER_PID)"
      python3 bench/media.py latency --url "$URL" --file "$FIXTURES/photo-12mp.jpg" \
        --runs "$RUNS" --warmup "$WARMUP" | tee "$OUT/latency.out"
      grep '^RESULT ' "$OUT/latency.out" | sed 's/^RESULT //' >"$OUT/latency.json"
      stop_server
      ;;
    memory)
      for round in $(seq "$MEM_ROUNDS"); do
        for f in $MEM_FILES; do
          start_server
          sleep 0.5
          log "memory round $round: $CONCURRENCY concurrent uploads of $f (pid $SERVER_PID)"
          python3 bench/media.py memory --url "$URL" --pid "$SERVER_PID" \
            --file "$FIXTURES/$f" --concurrency "$CONCURRENCY" | tee "$OUT/memory.$f.$round.out"
          grep '^RESULT ' "$OUT/memory.$f.$round.out" | sed 's/^RESULT //' >"$OUT/memory.$f.$round.json"
          stop_server
        done
      done
      ;;
    throughput)
      names=(text-only attachments)
      for round in $(seq "$REPEATS"); do
        for j in 0 1; do
          name=${names[$(((j + round - 1) % 2))]}
          flags=
          [ "$name" = attachments ] && flags="--attachments $ATTACH_PCT"
          log "throughput round $round: $name (${flags:-no flags})"
          # shellcheck disable=SC2086
          TARGETS=order-chat bash bench/run.sh "$ORDERS" "$PARTICIPANTS" "$DURATION" -- $flags \
            2>&1 | tee "$OUT/$name.$round.out" | grep -v '^RESULT ' \
            | grep -E 'stored messages|uploads/s|with an attachment|end-to-end|send->ack|errors|server cpu' || true
          grep '^RESULT ' "$OUT/$name.$round.out" | sed 's/^RESULT //' >"$OUT/$name.$round.json"
        done
      done
      ;;
    *) echo "unknown part $part (latency, memory, throughput)" >&2; exit 2 ;;
  esac
done

printf '\n== summary (raw results in %s; load %s)\n' "$OUT" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$OUT" "$REPEATS" <<'EOF'
import glob, json, os, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def read(path):
    try:
        with open(path) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None
lat = read(f"{out}/latency.json")
if lat:
    s = lat["upload_to_thumbnail_ms"]
    print(f"upload-to-thumbnail, {lat['file']} ({lat['file_bytes']} bytes, {lat['width']}x{lat['height']}), "
          f"{lat['runs']} runs: p50 {s['p50']} ms, p90 {s['p90']}, p99 {s['p99']}, max {s['max']} "
          f"(upload alone p50 {lat['upload_ms']['p50']} ms; load {lat['load_before']} -> {lat['load_after']})")
mems = sorted(glob.glob(f"{out}/memory.*.json"))
for path in mems:
    m = read(path)
    if m:
        print(f"memory, {m['concurrency']} x {m['file']} ({m['file_bytes']} bytes): {m['ok']} ok, "
              f"{len(m['errors'])} failed; RSS {m['rss_before_mb']} MB before, peak {m['rss_peak_mb']} MB "
              f"(+{m['peak_over_before_mb']}), VmHWM {m['hwm_mb']} MB; upload p50/max "
              f"{m['upload_ms']['p50'] if m['upload_ms'] else '-'}/{m['upload_ms']['max'] if m['upload_ms'] else '-'} ms, "
              f"all in {m['wall_s']} s (load {m['load_before']})")
runs = {n: [r for r in (read(f"{out}/{n}.{i + 1}.json") for i in range(repeats)) if r]
        for n in ("text-only", "attachments")}
if any(runs.values()):
    def med(n, f):
        v = [f(r) for r in runs[n]]
        v = [x for x in v if x is not None]
        return statistics.median(v) if v else None
    rows = [
        ("stored messages/s", lambda r: r["stored_per_s"]),
        ("  of which with an attachment /s", lambda r: r["attached_ok"] / r["duration_s"]),
        ("uploads/s", lambda r: r["uploads"]["per_s"]),
        ("upload p50 ms", lambda r: r["uploads"]["ms"]["p50"] if r["uploads"]["ok"] else None),
        ("upload p99 ms", lambda r: r["uploads"]["ms"]["p99"] if r["uploads"]["ok"] else None),
        ("send->ack p50 ms", lambda r: r["ack_ms"]["p50"]),
        ("send->ack p99 ms", lambda r: r["ack_ms"]["p99"]),
        ("end-to-end p99 ms", lambda r: r["e2e_ms"]["p99"]),
        ("server cpu ms per stored message", lambda r: r["server_cpu_ms_per_op"]),
        ("server rss MB at the end", lambda r: r["server_rss_kb"] / 1024 if r["server_rss_kb"] else None),
        ("errors", lambda r: r["errors_total"]),
    ]
    fmt = lambda x: "-" if x is None else (f"{x:.0f}" if abs(x) >= 100 else f"{x:.2f}")
    print(f"\n{'median of ' + str(repeats) + ' rounds':<36}{'text-only':>12}{'attachments':>14}")
    for label, f in rows:
        print(f"{label:<36}{fmt(med('text-only', f)):>12}{fmt(med('attachments', f)):>14}")
    print("per round (stored/s text-only, attachments):")
    for i in range(repeats):
        g = lambda n: fmt(runs[n][i]["stored_per_s"]) if i < len(runs[n]) else "-"
        print(f"  round {i + 1}: {g('text-only')}, {g('attachments')}")
    a, t = med("attachments", rows[0][1]), med("text-only", rows[0][1])
    if a and t:
        print(f"stored messages/s with attachments / text-only: {a / t:.3f}")
EOF
