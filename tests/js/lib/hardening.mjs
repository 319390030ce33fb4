// Helpers of the hardening suite (tests/js/hardening/): a server started as another user (so file
// modes bind it), throwaway PostgreSQL and Redis instances the tests may stop and start, polling
// helpers, the complete REST history of an order, and the process figures (/proc) the soak samples.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, chownSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { launch } from './server.mjs';

// What this process started and must not leave behind, even when the test run is interrupted
// (a timeout, Ctrl-C): synchronous stops run on exit and on SIGINT/SIGTERM.
const leftovers = new Set();
function onExit() {
  for (const stop of [...leftovers].reverse()) {
    try { stop(); } catch { /* already gone */ }
  }
  leftovers.clear();
}
process.once('exit', onExit);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { onExit(); process.exit(128 + (sig === 'SIGINT' ? 2 : 15)); });
}
const killOnExit = (proc) => {
  const stop = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  leftovers.add(stop);
  proc.once('exit', () => leftovers.delete(stop));
};

/** Limits high enough that load tests never meet them. */
export const LOAD_LIMITS = {
  MESSAGES_PER_SECOND: '1000000',
  MESSAGE_BURST: '1000000',
  TYPING_PER_SECOND: '1000000',
  MAX_SOCKETS_PER_USER: '10000',
  MAX_ROOMS_PER_SOCKET: '10000',
};

/** Print a figure the report quotes: `FIGURE name: k=v k=v`. */
export function figure(name, values) {
  const text = typeof values === 'string' ? values
    : Object.entries(values).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`FIGURE ${name}: ${text}`);
}

/** Resolve once `check()` (sync or async) returns a truthy value (returned); fail after `ms`. */
export async function waitFor(check, what, ms = 10000, interval = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A free TCP port on 127.0.0.1 (free now; the caller binds it soon after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A temp dir, owned by `user` (a name from /etc/passwd) when given; removed when the process exits. */
export function tempDir(prefix, user) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  leftovers.add(() => rmSync(dir, { recursive: true, force: true }));
  if (user) {
    const { uid, gid } = userIds(user);
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** uid and gid of a local user. */
export function userIds(name) {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * `order-chat serve` like lib/server.mjs's startServer (same options and the same server object,
 * both from its `launch`), but: a clean environment (PATH and the server's settings only), the
 * SQLite file in a temp dir removed on exit (never E2E_DATABASE_URL), the process killed if
 * this one exits first, and `user`: run the process as that user (e.g. `nobody`), so file
 * permissions apply to it (root ignores them). The process is the server itself (no wrapper), so
 * `proc.pid` is its pid.
 */
export async function spawnServer(opts = {}) {
  const databaseUrl = opts.databaseUrl ||
    `sqlite://${join(tempDir('order-chat-hardening-', opts.user), 'chat.db')}`;
  return launch({
    label: 'hardening',
    ...opts,
    databaseUrl,
    baseEnv: { PATH: process.env.PATH },
    spawn: { cwd: tmpdir(), ...(opts.user ? userIds(opts.user) : {}) },
    onSpawn: killOnExit,
  });
}

/**
 * The server's last `n` distinct WARN/ERROR log lines (timestamps and colours stripped): printed by
 * the fault tests so a failure shows what the server said.
 */
export function logTail(server, n = 3) {
  const lines = server.stderr().replace(/\x1b\[[0-9;]*m/g, '').split('\n')
    .filter((l) => / (WARN|ERROR) /.test(l))
    .map((l) => l.replace(/^\S+\s+/, '').replace(/(order|sid)=\S+/g, '$1=…'));
  return [...new Set(lines.reverse())].slice(0, n).reverse();
}

/**
 * GET /healthz or /readyz: `{status, body, ms}` (body parsed), or `{status: 0, error, ms}` when
 * nothing answered within `timeoutMs`.
 */
export async function probe(url, path, timeoutMs = 5000) {
  const t0 = Date.now();
  const r = await probeOnce(url, path, timeoutMs);
  return { ...r, ms: Date.now() - t0 };
}

async function probeOnce(url, path, timeoutMs) {
  try {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, error: err.message };
  }
}

/**
 * Every message of an order through REST, oldest first, paging with `after=` cursors
 * (`limit` 200): what the database holds, as a client can see it.
 */
export async function fullHistory(server, token, orderId) {
  const all = [];
  let after = 0;
  for (;;) {
    const r = await server.rest('GET', `/messages/${encodeURIComponent(orderId)}?after=${after}&limit=200`, token);
    if (r.status !== 200) throw new Error(`history: ${r.status} ${JSON.stringify(r.body)}`);
    const { messages, hasMore } = r.body.data;
    all.push(...messages);
    if (!hasMore || messages.length === 0) break;
    after = messages[messages.length - 1].seq;
  }
  return all;
}

/** Seqs 1..n each exactly once, in order (no gap, no reuse). */
export function gapless(messages) {
  return messages.every((m, i) => m.seq === i + 1);
}

/** The resident set (kB) and the open file descriptors of a process. */
export function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  return { rssKb, fds };
}

/**
 * A throwaway PostgreSQL (initdb as the `postgres` user in a temp dir, on a free loopback port)
 * that a test may stop and start again on the same port.
 */
export async function startPostgres() {
  const bins = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (bins.length === 0) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  const bin = `/usr/lib/postgresql/${bins[0]}/bin`;
  const dir = tempDir('order-chat-pg-', 'postgres');
  const data = join(dir, 'data');
  const port = await freePort();
  const asPg = (cmd, args) => execFileSync('runuser', ['-u', 'postgres', '--', `${bin}/${cmd}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  asPg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C.UTF-8']);
  const emergency = () => {
    try { asPg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* not running */ }
    rmSync(dir, { recursive: true, force: true });
  };
  leftovers.add(emergency);
  const pg = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    running: false,
    start() {
      asPg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`, 'start']);
      pg.running = true;
    },
    /** `pg_ctl stop -m fast`: connections are closed, the server stops. */
    stop() {
      asPg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      pg.running = false;
    },
    destroy() {
      leftovers.delete(emergency);
      if (pg.running) {
        try { asPg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* already down */ }
      }
      pg.running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}

/** A throwaway redis-server on a free loopback port (a child of this process), restartable. */
export async function startRedis() {
  const port = await freePort();
  const dir = tempDir('order-chat-redis-');
  let proc = null;
  const r = {
    port,
    url: `redis://127.0.0.1:${port}/?protocol=resp3`,
    async start() {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      killOnExit(proc);
      await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`redis did not start: ${out}`)), 10000);
        proc.stdout.on('data', (d) => {
          out += d;
          if (/Ready to accept connections/.test(out)) { clearTimeout(timer); resolve(); }
        });
        proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis exited ${code}: ${out}`)); });
      });
    },
    /** Stop it (SIGKILL: as abrupt as a crash) and wait for the process to be gone. */
    async stop() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      await gone;
    },
    async destroy() {
      await r.stop();
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.start();
  return r;
}
