#!/usr/bin/env bash
# A flame graph of order-chat's CPU during the measured window of one bench/run.sh run.
#
#   bash bench/flamegraph.sh SERVER_BIN OUT.svg [ORDERS [PARTICIPANTS [DURATION]]] [-- chat-bench run options]
#
# Runs `bench/run.sh` with TARGETS=order-chat and ORDER_CHAT_BIN=SERVER_BIN (everything else
# run.sh reads passes through: BENCH_DATABASE_URL, CHAT_BENCH_BIN, WARMUP, RATE, …). run.sh starts
# the server itself, unchanged (so chat-bench's --server-pid still reads the server's own CPU);
# this script reads the server's pid from run.sh's "== order-chat at … (pid N)" line, and when
# chat-bench prints "… connected and joined in …" it waits the 0.2 s start delay plus WARMUP and
# attaches `perf record -p PID -- sleep DURATION`: only the measured window is sampled, all the
# server's threads, user and kernel stacks. Then `perf script | inferno-collapse-perf |
# inferno-flamegraph` writes OUT.svg, and bench/flame-breakdown.py prints where the samples went.
#
# Needs perf (root, or kernel.perf_event_paranoid <= 1 for kernel stacks) and inferno
# (`cargo install inferno --locked`). Release builds have no frame pointers, hence DWARF unwinding.
#
# WINDOW=joins samples the final join-with-history round instead of the send window: from the
# end of the history extras (with --history-extras) or of the send window (without), plus
# chat-bench's 0.5-s join pause, for JOIN_SECONDS (0.9: the round must outlast it, perf writes nothing once the server is stopped).
#
# Environment (optional): TITLE (the SVG's title), FREQ (499 Hz), CALL_GRAPH (dwarf,65528: copies
# 64 KB of stack per sample; 16 KB cut a fifth of the tokio workers' stacks short),
# MINWIDTH (0.5: frames narrower than that many pixels are left out, keeps the SVG small),
# KEEP (a folder: keep perf.data, the collapsed stacks and the run's output there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -lt 2 ]; then
  sed -n '2,21p' "$0" >&2
  exit 2
fi
# Both relative to where we were called from (run.sh works from the repository's root).
abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
SERVER_BIN=$(abs "$1")
OUT=$(abs "$2")
shift 2
cd "$ROOT"
RUN_ARGS=("$@")

# The same positional parsing as run.sh, for the window's length.
DURATION=${DURATION:-10}
set -- "${RUN_ARGS[@]}"
[ $# -gt 0 ] && [ "$1" != "--" ] && shift
[ $# -gt 0 ] && [ "$1" != "--" ] && shift
[ $# -gt 0 ] && [ "$1" != "--" ] && DURATION=$1
WARMUP=${WARMUP:-2}
WINDOW=${WINDOW:-sends}
JOIN_SECONDS=${JOIN_SECONDS:-0.9}
EXTRAS=0
for a in "${RUN_ARGS[@]}"; do [ "$a" = --history-extras ] && EXTRAS=1; done
FREQ=${FREQ:-499}
CALL_GRAPH=${CALL_GRAPH:-dwarf,65528}
MINWIDTH=${MINWIDTH:-0.5}
TITLE=${TITLE:-"order-chat, $(basename "$SERVER_BIN"), bench/run.sh ${RUN_ARGS[*]}"}

for tool in perf inferno-collapse-perf inferno-flamegraph python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (inferno: cargo install inferno --locked)" >&2; exit 2; }
done
[ -x "$SERVER_BIN" ] || { echo "$SERVER_BIN is not an executable" >&2; exit 2; }

if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  WORK=$(cd "$KEEP" && pwd)
else
  WORK=$(mktemp -d /tmp/flamegraph.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
fi

# run.sh's output goes through this loop (and on to our stdout, and to run.out).
watch_run() {
  local pid= line perf_pid=
  while IFS= read -r line; do
    printf '%s\n' "$line"
    if [[ -z "$pid" && "$line" =~ ^==\ order-chat\ at\ .*\(pid\ ([0-9]+)\) ]]; then
      pid=${BASH_REMATCH[1]}
    elif [[ -n "$pid" && -z "$perf_pid" ]]; then
      local delay= length=$DURATION
      if [ "$WINDOW" = joins ]; then
        length=$JOIN_SECONDS
        if [ "$EXTRAS" = 1 ] && [[ "$line" == *"history extras stored in "* ]]; then
          delay=0.5
        elif [ "$EXTRAS" = 0 ] && [[ "$line" == *" connected and joined in "* ]]; then
          delay=$(python3 -c "print(0.2 + float('$WARMUP') + float('$DURATION') + 0.5)")
        fi
      elif [[ "$line" == *" connected and joined in "* ]]; then
        delay=$(python3 -c "print(0.2 + float('$WARMUP'))")
      fi
      if [ -n "$delay" ]; then
        (
          sleep "$delay"
          echo "== flamegraph: perf record -F $FREQ --call-graph $CALL_GRAPH -p $pid for ${length}s" >&2
          exec perf record -q -N -F "$FREQ" --call-graph "$CALL_GRAPH" -p "$pid" -o "$WORK/perf.data" \
            -- sleep "$length"
        ) &
        perf_pid=$!
      fi
    fi
  done
  [ -n "$perf_pid" ] && wait "$perf_pid"
  [ -n "$perf_pid" ] || echo "== flamegraph: never saw the server's pid and the start of the load" >&2
}

set +e
TARGETS=order-chat ORDER_CHAT_BIN="$SERVER_BIN" bash bench/run.sh "${RUN_ARGS[@]}" 2>&1 \
  | watch_run | tee "$WORK/run.out"
status=("${PIPESTATUS[@]}")
set -e
[ "${status[0]}" -eq 0 ] || { echo "bench/run.sh failed (${status[0]})" >&2; exit 1; }
[ -s "$WORK/perf.data" ] || { echo "no perf.data was written" >&2; exit 1; }

echo "== flamegraph: $(du -h "$WORK/perf.data" | cut -f1) of perf.data; perf script | inferno-collapse-perf" >&2
perf script -i "$WORK/perf.data" 2>/dev/null | inferno-collapse-perf --all >"$WORK/collapsed.txt"
# The weights inferno sums are perf's sample periods: nanoseconds with cpu-clock (what a VM
# without a PMU gives), cycles with the cycles event.
case $(perf evlist -i "$WORK/perf.data" 2>/dev/null | head -1) in
  cpu-clock* | task-clock*) UNIT=ns ;;
  cycles* | cpu-cycles*) UNIT=cycles ;;
  *) UNIT=samples ;;
esac
mkdir -p "$(dirname "$OUT")"
inferno-flamegraph --title "$TITLE" --countname "$UNIT" --minwidth "$MINWIDTH" --width 1400 \
  <"$WORK/collapsed.txt" >"$OUT"
echo "== flamegraph: wrote $OUT ($(du -h "$OUT" | cut -f1))" >&2
python3 "$ROOT/bench/flame-breakdown.py" --unit "$UNIT" "$WORK/collapsed.txt"
