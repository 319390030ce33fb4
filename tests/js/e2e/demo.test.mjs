// `order-chat demo` keeps its secrets in its data folder: the links it printed keep working after
// a restart; `--fresh` starts over (new secrets: the old links are refused).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../lib/server.mjs';

/** Run the demo until it prints its links; resolves with {url, token, stop}. */
function demo(dir, extra = []) {
  const proc = spawn(BIN, ['demo', '--data-dir', dir, '--port', '0', ...extra], {
    env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const url = out.match(/running on (http:\/\/\S+)/);
      const token = out.match(/customer: \S+token=(\S+)/);
      if (url && token && out.includes('Ctrl-C')) {
        clearTimeout(timer);
        resolve({
          url: url[1], token: token[1],
          stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }),
        });
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited ${code}:\n${out}`)); });
  });
}

const orders = async (d, token) => (await fetch(`${d.url}/api/v0/chat/orders`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('demo', () => {
  it('links survive a restart; --fresh starts over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'order-chat-demo-'));
    const first = await demo(dir);
    assert.equal(await orders(first, first.token), 200);
    await first.stop();
    assert.equal(statSync(join(dir, 'demo-secrets.json')).mode & 0o777, 0o600, 'the secrets file is private');
    const second = await demo(dir);
    assert.equal(await orders(second, first.token), 200, 'the first run\'s link still works');
    await second.stop();
    const fresh = await demo(dir, ['--fresh']);
    assert.equal(await orders(fresh, first.token), 401, 'after --fresh the old link is refused');
    assert.equal(await orders(fresh, fresh.token), 200);
    await fresh.stop();
  });
});
