// The table of bench/artillery.sh: Artillery's and chat-bench's figures per target, side by side.
//
//   node report.mjs WORK TARGET...
//
// Reads, for each TARGET, from WORK:
//   TARGET.artillery.json   Artillery's report (`artillery run --output`)
//   TARGET.t0               wall-clock ms at which Artillery's measured window began (processor.js)
//   TARGET.cpu.jsonl        cpu.mjs samples of Artillery's process and the server's during that run
//   TARGET.pids             "ARTILLERY_PID SERVER_PID"
//   TARGET.chat-bench.out   chat-bench's output (its RESULT {json} line)
// and from the environment DURATION (the measured seconds) and CLK_TCK (from `getconf CLK_TCK`).
// Prints the table, then one `RESULT {json}` line.
import { existsSync, readFileSync } from 'node:fs';

const [work, ...targets] = process.argv.slice(2);
const duration = Number(process.env.DURATION);
const clk = Number(process.env.CLK_TCK || 100);

const read = (f) => (existsSync(`${work}/${f}`) ? readFileSync(`${work}/${f}`, 'utf8') : null);

// CPU % (of one core) of a process and of its busiest thread between two wall-clock times.
function cpu(samples, pid, from, to) {
  const inside = samples.filter((s) => s.p[pid] && s.t >= from && s.t <= to);
  if (inside.length < 2) return null;
  const [a, b] = [inside[0], inside[inside.length - 1]];
  const secs = (b.t - a.t) / 1000;
  let total = 0;
  let busiest = { pct: 0, comm: null };
  for (const [tid, [comm, ticks]] of Object.entries(b.p[pid])) {
    const d = ticks - (a.p[pid][tid]?.[1] ?? 0);
    total += d;
    const pct = (100 * d) / clk / secs;
    if (pct > busiest.pct) busiest = { pct, comm };
  }
  return { pct: (100 * total) / clk / secs, busiest_thread_pct: busiest.pct, busiest_thread: busiest.comm, seconds: secs };
}

// The machine's I/O stall (PSI io `full`) in the window: total ms, and the worst 500 ms sample.
function ioStall(samples, from, to) {
  const inside = samples.filter((s) => s.io !== undefined && s.t >= from && s.t <= to);
  if (inside.length < 2) return null;
  let worst = 0;
  for (let i = 1; i < inside.length; i++) worst = Math.max(worst, (inside[i].io - inside[i - 1].io) / 1000);
  return { total_ms: (inside[inside.length - 1].io - inside[0].io) / 1000, worst_sample_ms: worst };
}

function artillery(target) {
  const text = read(`${target}.artillery.json`);
  if (!text) return null;
  const agg = JSON.parse(text).aggregate;
  const c = agg.counters;
  const rt = agg.summaries['socketio.response_time'] || {};
  const errors = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('errors.')).map(([k, v]) => [k.slice(7), v]));
  for (const k of ['chat.ack_not_ok', 'chat.ack_timeout', 'chat.warmup_failed']) if (c[k]) errors[k] = c[k];
  const r = {
    sent: c['socketio.emit'] || 0,
    acks: rt.count || 0,
    acks_ok: c['chat.ack_ok'] || 0,
    warmup_acked: c['chat.warmup_acked'] || 0,
    joined: c['chat.joined'] || 0,
    vusers_failed: c['vusers.failed'] || 0,
    errors,
    errors_total: Object.values(errors).reduce((a, b) => a + b, 0),
    response_time_ms: { p50: rt.p50, p99: rt.p99, p999: rt.p999, max: rt.max, mean: rt.mean },
  };
  r.acked_per_s = r.acks_ok / duration;
  const t0 = Number(read(`${target}.t0`));
  const pids = (read(`${target}.pids`) || '').trim().split(/\s+/);
  const samples = (read(`${target}.cpu.jsonl`) || '').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  if (t0 && pids.length === 2) {
    r.tool_cpu = cpu(samples, pids[0], t0, t0 + duration * 1000);
    r.server_cpu = cpu(samples, pids[1], t0, t0 + duration * 1000);
    r.io_stall = ioStall(samples, t0, t0 + duration * 1000);
  }
  return r;
}

function chatBench(target) {
  const text = read(`${target}.chat-bench.out`);
  const line = text?.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return null;
  const j = JSON.parse(line.slice(7));
  return {
    sent: j.sent,
    acks_ok: j.acks_ok,
    acked_per_s: j.stored_per_s,
    errors: { ...j.errors, ...j.connect_errors },
    errors_total: j.errors_total + Object.values(j.connect_errors || {}).reduce((a, b) => a + b, 0),
    ack_ms: j.ack_ms,
    e2e_ms: j.e2e_ms,
    deliveries: j.deliveries,
    expected_deliveries: j.expected_deliveries,
    tool_cpu_pct: (100 * j.bench_cpu_s) / j.duration_s,
    server_cpu_pct: j.server_cpu_s == null ? null : (100 * j.server_cpu_s) / j.duration_s,
    // Over the whole chat-bench run (setup, warm-up, window, final joins): its window's times are not known here.
    io_stall_run: ioStall((read(`${target}.chat-bench.cpu.jsonl`) || '').split('\n').filter(Boolean).map((l) => JSON.parse(l)), 0, Infinity),
  };
}

const f1 = (x) => (x == null || Number.isNaN(x) ? '-' : Number(x).toFixed(1));
const f0 = (x) => (x == null || Number.isNaN(x) ? '-' : Number(x).toFixed(0));
const row = (cells, widths) => cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');
const widths = [11, 11, 7, 8, 8, 7, 9, 9, 13, 14, 8];
console.log(row(['target', 'tool', 'sent', 'acked ok', 'acked/s', 'errors', 'ack p50', 'ack p99', 'e2e p50/p99', 'tool CPU %', 'server'], widths));
console.log(row(['', '', '', '', '', '', 'ms', 'ms', 'ms', '(busiest thr)', 'CPU %'], widths));
const result = {};
for (const t of targets) {
  const a = artillery(t);
  const b = chatBench(t);
  result[t] = { artillery: a, chat_bench: b };
  if (a) {
    console.log(row([t, 'artillery', a.sent, a.acks_ok, f0(a.acked_per_s), a.errors_total, f1(a.response_time_ms.p50), f1(a.response_time_ms.p99), '-',
      a.tool_cpu ? `${f0(a.tool_cpu.pct)} (${f0(a.tool_cpu.busiest_thread_pct)})` : '-', a.server_cpu ? f0(a.server_cpu.pct) : '-'], widths));
  } else console.log(row([t, 'artillery', 'no report'], widths));
  if (b) {
    console.log(row([t, 'chat-bench', b.sent, b.acks_ok, f0(b.acked_per_s), b.errors_total, f1(b.ack_ms.p50), f1(b.ack_ms.p99), `${f1(b.e2e_ms.p50)}/${f1(b.e2e_ms.p99)}`,
      f0(b.tool_cpu_pct), f0(b.server_cpu_pct)], widths));
  } else console.log(row([t, 'chat-bench', 'no RESULT line'], widths));
}
for (const t of targets) {
  const io = result[t].artillery?.io_stall;
  if (io) console.log(`${t} artillery: the machine's I/O stall (PSI io full) in the window ${f0(io.total_ms)} ms, worst 500 ms sample ${f0(io.worst_sample_ms)} ms`);
  const io2 = result[t].chat_bench?.io_stall_run;
  if (io2) console.log(`${t} chat-bench: the machine's I/O stall (PSI io full) over the whole run ${f0(io2.total_ms)} ms, worst 500 ms sample ${f0(io2.worst_sample_ms)} ms`);
  for (const [tool, r] of [['artillery', result[t].artillery], ['chat-bench', result[t].chat_bench]]) {
    if (r && r.errors_total > 0) console.log(`${t} ${tool} errors: ${JSON.stringify(r.errors)}`);
  }
}
console.log(`RESULT ${JSON.stringify(result)}`);
