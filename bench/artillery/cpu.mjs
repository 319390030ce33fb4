// Samples the CPU time of processes, per thread, from /proc until every one of them has exited.
//
//   node cpu.mjs OUT.jsonl PID...
//
// Every 500 ms one line: {"t": wall-clock ms, "p": {PID: {TID: [comm, utime+stime ticks]}},
// "io": the machine's /proc/pressure/io `full` total, µs during which every runnable task was
// waiting for I/O (absent without PSI)}: a disk stall (fsync) shows there.
// bench/artillery/report.mjs turns two samples into CPU % of the whole process and of its
// busiest thread (Artillery runs its virtual users in one worker thread: near 100 % of a core
// there means Artillery itself was the limit).
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';

const [out, ...pids] = process.argv.slice(2);

function threads(pid) {
  const r = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' '); // f[0] is field 3 (state): utime is f[11], stime f[12]
      r[tid] = [comm, Number(f[11]) + Number(f[12])];
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return r;
}

function ioFull() {
  try {
    return Number(/full .*total=(\d+)/.exec(readFileSync('/proc/pressure/io', 'utf8'))[1]);
  } catch {
    return undefined;
  }
}

function sample() {
  const p = {};
  for (const pid of pids) {
    try {
      p[pid] = threads(pid);
    } catch {
      // exited
    }
  }
  if (Object.keys(p).length === 0) process.exit(0);
  appendFileSync(out, `${JSON.stringify({ t: Date.now(), p, io: ioFull() })}\n`);
}
sample();
setInterval(sample, 500);
