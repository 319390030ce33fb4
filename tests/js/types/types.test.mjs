// The TypeScript declarations of the Socket.IO events (web/order-chat.d.ts): a typed client that
// uses every event compiles with `tsc --strict`, and wrong usages are refused, each on its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc');

function compile(project) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(here, project), '--pretty', 'false'], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the typed client compiles against the declarations', () => {
  const r = compile('tsconfig.json');
  assert.equal(r.status, 0, r.out);
});

test('wrong usages do not compile, each where it is', () => {
  const r = compile('tsconfig.wrong.json');
  assert.notEqual(r.status, 0, 'wrong.ts compiled');
  const lines = readFileSync(join(here, 'wrong.ts'), 'utf8').split('\n');
  const refused = lines.flatMap((l, i) => (l.trimEnd().endsWith('// refused') ? [i + 1] : []));
  const erred = new Set([...r.out.matchAll(/wrong\.ts\((\d+),\d+\): error TS/g)].map((m) => Number(m[1])));
  assert.ok(refused.length >= 10);
  for (const line of refused) assert.ok(erred.has(line), `line ${line} of wrong.ts compiled:\n${lines[line - 1]}\n${r.out}`);
  for (const line of erred) assert.ok(refused.includes(line), `an unexpected error on line ${line}:\n${r.out}`);
});

test('the declarations name every event the server handles and emits', () => {
  const root = join(here, '..', '..', '..');
  const dts = readFileSync(join(root, 'web', 'order-chat.d.ts'), 'utf8');
  const block = (name) => {
    const start = dts.indexOf(`export interface ${name} {`);
    assert.ok(start >= 0, name);
    return dts.slice(start, dts.indexOf('\n}', start));
  };
  const keys = (name) => new Set([...block(name).matchAll(/^ {2}'?([a-z-]+)'?: \(/gm)].map((m) => m[1]));
  // The server's events: `ServerEvent::name` in src/wire/event.rs.
  const emitted = [...readFileSync(join(root, 'src', 'wire', 'event.rs'), 'utf8')
    .matchAll(/ServerEvent::\w+\(_\) => "([a-z-]+)"/g)].map((m) => m[1]);
  // The client's events: each `on(s, "name", …)` in src/socket/mod.rs.
  const handled = [...readFileSync(join(root, 'src', 'socket', 'mod.rs'), 'utf8')
    .matchAll(/on\(s, "([a-z-]+)"/g)].map((m) => m[1]);
  assert.ok(emitted.length >= 14 && handled.length >= 10, `${emitted} / ${handled}`);
  assert.deepEqual([...keys('ServerToClientEvents')].sort(), [...emitted].sort());
  assert.deepEqual([...keys('ClientToServerEvents')].sort(), [...handled].sort());
});
