#!/usr/bin/env bash
# The message-lifecycle benchmarks (issue 10), order-chat only, in one go:
#   send-only   `chat-bench run` as in BENCHMARKS.md (also the text-only join-with-history)
#   changes     the same with `--changes $CHANGES` (edits and reaction toggles instead of sends)
#   extras      the same as send-only plus `--history-extras` (the joins render replies and
#               reactions)
# Each through `bench/run.sh` (fresh server and SQLite file per run, same env), REPEATS rounds,
# the order of the three rotating each round so that none always runs first; then the medians.
#
#   bash bench/lifecycle.sh [ORDERS [PARTICIPANTS [DURATION]]]      # defaults 500 2 10
#
# Environment: REPEATS (3), CHANGES (30), EDIT_SHARE (33), OUT (a folder for the raw RESULT
# lines; default a fresh temporary one, kept), plus everything bench/run.sh reads.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-500}
PARTICIPANTS=${2:-2}
DURATION=${3:-10}
REPEATS=${REPEATS:-3}
CHANGES=${CHANGES:-30}
EDIT_SHARE=${EDIT_SHARE:-33}
OUT=${OUT:-$(mktemp -d /tmp/chat-bench-lifecycle.XXXXXX)}
mkdir -p "$OUT"

names=(send-only changes extras)
declare -A flags=(
  [send-only]=""
  [changes]="--changes $CHANGES --edit-share $EDIT_SHARE"
  [extras]="--history-extras"
)

for round in $(seq "$REPEATS"); do
  for j in 0 1 2; do
    name=${names[$(((j + round - 1) % 3))]}
    printf '\n== round %s: %s (%s), load %s\n' "$round" "$name" "${flags[$name]:-no flags}" \
      "$(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # shellcheck disable=SC2086
    TARGETS=order-chat bash bench/run.sh "$ORDERS" "$PARTICIPANTS" "$DURATION" -- ${flags[$name]} \
      2>&1 | tee "$OUT/$name.$round.out" | grep -v '^RESULT ' | grep -E 'operations/s|-message|-reaction|stored messages|join with|errors|server cpu' || true
    grep '^RESULT ' "$OUT/$name.$round.out" | sed 's/^RESULT //' >"$OUT/$name.$round.json"
  done
done

printf '\n== medians of %s rounds (raw results in %s)\n' "$REPEATS" "$OUT" >&2
node - "$OUT" "$REPEATS" <<'EOF'
const fs = require('node:fs');
const [out, repeats] = [process.argv[2], Number(process.argv[3])];
const runs = (name) => [...Array(repeats).keys()]
  .map((i) => `${out}/${name}.${i + 1}.json`)
  .filter((f) => fs.existsSync(f) && fs.statSync(f).size > 0)
  .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const median = (xs) => {
  const v = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const r = { 'send-only': runs('send-only'), changes: runs('changes'), extras: runs('extras') };
const kinds = ['send-message', 'edit-message', 'add-reaction', 'remove-reaction'];
const rows = [
  ['operations/s (acked ok)', (x) => x.ops_per_s],
  ['stored messages/s', (x) => x.stored_per_s],
  ...kinds.map((k) => [`  ${k}/s`, (x) => x.ops[k].per_s]),
  ...kinds.map((k) => [`  ${k} ack p99 ms`, (x) => x.ops[k].ack_ms.p99]),
  ['send->ack p50 ms', (x) => x.ack_ms.p50],
  ['end-to-end p99 ms', (x) => x.e2e_ms.p99],
  ['server cpu ms per operation', (x) => x.server_cpu_ms_per_op],
  ['join with history p50 ms', (x) => x.join_ms.p50],
  ['join with history p99 ms', (x) => x.join_ms.p99],
  ['join: reply previews (of 50)', (x) => x.join_replies_avg],
  ['join: messages with reactions', (x) => x.join_reacted_avg],
  ['errors', (x) => x.errors_total],
];
const fmt = (x) => (x == null ? '-' : Number(x).toFixed(x >= 100 ? 0 : 1));
const pad = (s, n) => String(s).padStart(n);
console.log(`${'median'.padEnd(34)}${pad('send-only', 12)}${pad('changes', 12)}${pad('extras', 12)}`);
for (const [label, f] of rows) {
  const cells = ['send-only', 'changes', 'extras'].map((n) => {
    const m = median(r[n].map((x) => { try { return f(x); } catch { return null; } }));
    return m == null ? '-' : fmt(m);
  });
  console.log(`${label.padEnd(34)}${cells.map((c) => pad(c, 12)).join('')}`);
}
const m = (n, f) => median(r[n].map(f));
const so = m('send-only', (x) => x.ops_per_s);
const ch = m('changes', (x) => x.ops_per_s);
const jt = m('send-only', (x) => x.join_ms.p99);
const je = m('extras', (x) => x.join_ms.p99);
console.log('\nper round (ops/s send-only, changes; join p99 ms send-only, extras):');
for (let i = 0; i < repeats; i++) {
  const g = (n, f) => (r[n][i] ? fmt(f(r[n][i])) : '-');
  console.log(`  round ${i + 1}: ${g('send-only', (x) => x.ops_per_s)}, ${g('changes', (x) => x.ops_per_s)}; ` +
    `${g('send-only', (x) => x.join_ms.p99)}, ${g('extras', (x) => x.join_ms.p99)}`);
}
if (so && ch) console.log(`\noperations/s with changes / send-only: ${(ch / so).toFixed(3)} (goal: at least 0.85)`);
if (jt && je) console.log(`join p99 with replies and reactions / text-only: ${(je / jt).toFixed(3)} (goal: at most 1)`);
EOF
