// Creates the orders of an Artillery run and writes its payload: one CSV row per virtual user.
//
//   node setup.mjs URL ORDERS PARTICIPANTS OUT.csv
//
// Environment: JWT_ACCESS_SECRET and INTERNAL_API_KEY (the server's). The orders are the ones
// chat-bench creates (bench/chat-bench/src/setup.rs): `PUT /api/v0/internal/orders/<prefix>-o<i>`,
// status `shopping`, customer `<prefix>-o<i>-c`, agents `<prefix>-o<i>-a<j>`; both order-chat and
// the Node reference serve that endpoint. Each user gets an HS256 access token in the main
// backend's shape, `{"user":{"id"},"tokenType":"access","exp"}`, valid one hour.
// Rows: `idx,orderId,userId,token`, users of one order next to each other. Node 20, no packages.
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [url, ordersArg, participantsArg, out] = process.argv.slice(2);
const orders = Number(ordersArg);
const participants = Number(participantsArg);
const secret = process.env.JWT_ACCESS_SECRET;
const key = process.env.INTERNAL_API_KEY;
if (!url || !out || !(orders > 0) || !(participants >= 2 && participants <= 5) || !secret || !key) {
  console.error('usage: JWT_ACCESS_SECRET=… INTERNAL_API_KEY=… node setup.mjs URL ORDERS PARTICIPANTS(2-5) OUT.csv');
  process.exit(2);
}
if (!/^http:\/\/(127\.[0-9.]+|localhost)(:[0-9]+)?$/.test(url)) {
  console.error(`${url}: only a loopback server is loaded`);
  process.exit(2);
}

const prefix = `art${Date.now() % 10_000_000_000}`;
const user = (i, j) => (j === 0 ? `${prefix}-o${i}-c` : `${prefix}-o${i}-a${j}`);

const b64url = (s) => Buffer.from(s).toString('base64url');
function token(userId) {
  const payload = { user: { id: userId }, tokenType: 'access', exp: Math.floor(Date.now() / 1000) + 3600 };
  const data = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

async function putOrder(i) {
  const body = {
    orderNumber: `${prefix.toUpperCase()}-${i}`,
    status: 'shopping',
    customer: { id: user(i, 0), name: `Bench Customer ${i}` },
    agents: Array.from({ length: participants - 1 }, (_, k) => ({ id: user(i, k + 1), name: `Bench Agent ${i}.${k + 1}` })),
  };
  const res = await fetch(`${url}/api/v0/internal/orders/${prefix}-o${i}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT order ${i}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
}

// 16 PUTs in flight at a time.
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < orders) await putOrder(next++);
}));

const rows = ['idx,orderId,userId,token'];
for (let i = 0; i < orders; i++) {
  for (let j = 0; j < participants; j++) rows.push(`${i * participants + j},${prefix}-o${i},${user(i, j)},${token(user(i, j))}`);
}
writeFileSync(out, `${rows.join('\n')}\n`);
console.error(`setup: ${orders} orders x ${participants} participants (prefix ${prefix}) -> ${out}`);
