// Files for the attachment tests, made here (no binary fixtures): PNGs written with zlib, a
// PDF, an Ogg/Opus voice note's container, and the refused kinds; and the upload helpers.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

function pngChunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** An RGBA PNG; `pixel(x, y)` gives [r, g, b, a]. */
export function png(w, h, pixel = (x) => (x < w / 2 ? [200, 30, 30, 255] : [0, 0, 0, 0]), declared = null) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(declared?.w ?? w, 0); ihdr.writeUInt32BE(declared?.h ?? h, 4);
  ihdr[8] = 8; ihdr[9] = 6; // 8-bit RGBA
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 4 + 1)] = 0;
    for (let x = 0; x < w; x++) raw.set(pixel(x, y), y * (w * 4 + 1) + 1 + x * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG that declares 50,000 × 50,000 pixels (10 GB as RGBA) in a few bytes. */
export const pngBomb = () => png(1, 1, () => [0, 0, 0, 0], { w: 50000, h: 50000 });

export const pdf = () => Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n' +
  '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n' +
  'trailer<</Root 1 0 R>>\n%%EOF\n');

export const svgWithScript = () => Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>');
export const htmlPage = () => Buffer.from('<!DOCTYPE html><html><body><script>fetch("/steal?c="+document.cookie)</script></body></html>');

function oggPage(granule, packet, flags) {
  const head = Buffer.alloc(27);
  head.write('OggS', 0, 'ascii');
  head[5] = flags;
  head.writeBigUInt64LE(BigInt(granule), 6);
  head.writeUInt32LE(1, 14);
  const segs = [];
  let left = packet.length;
  while (left >= 255) { segs.push(255); left -= 255; }
  segs.push(left);
  head[26] = segs.length;
  return Buffer.concat([head, Buffer.from(segs), packet]);
}

/** The container of a `seconds`-long Ogg/Opus voice note (pages of filler audio data). */
export function oggOpus(seconds, fillerBytes = 60000) {
  const opusHead = Buffer.alloc(19);
  opusHead.write('OpusHead', 0, 'ascii');
  opusHead[8] = 1; opusHead[9] = 1; opusHead.writeUInt16LE(312, 10); opusHead.writeUInt32LE(48000, 12);
  const tags = Buffer.concat([Buffer.from('OpusTags', 'ascii'), Buffer.alloc(8)]);
  const pages = [oggPage(0, opusHead, 2), oggPage(0, tags, 0)];
  for (let i = 0; i < fillerBytes / 250; i++) pages.push(oggPage(i * 960, Buffer.alloc(250, i % 251), 0));
  pages.push(oggPage(seconds * 48000 + 312, Buffer.alloc(10), 4));
  return Buffer.concat(pages);
}

/** POST a multipart upload; `parts` maps field names to {name, bytes, type} or strings. */
export async function postMultipart(url, token, parts) {
  const form = new FormData();
  for (const [field, v] of Object.entries(parts)) {
    if (typeof v === 'string') form.append(field, v);
    else form.append(field, new Blob([v.bytes], { type: v.type || 'application/octet-stream' }), v.name);
  }
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers, body: form });
  } catch (e) {
    throw new Error(`POST ${url}: ${e.message} (${e.cause?.code || e.cause?.message || e.cause})`);
  }
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, headers: res.headers, body };
}

/** Upload `bytes` as `name` to the order as `token`'s user: {status, body}. */
export const upload = (server, token, orderId, name, bytes, type) =>
  postMultipart(`${server.url}/api/v0/chat/orders/${encodeURIComponent(orderId)}/attachments`, token, { file: { name, bytes, type } });

/** Upload and return the attachment object (fails unless 201). */
export async function uploaded(server, token, orderId, name, bytes) {
  const r = await upload(server, token, orderId, name, bytes);
  if (r.status !== 201) throw new Error(`upload ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.data;
}

/** GET a server path or link: {status, headers, bytes}. */
export async function download(server, pathOrUrl, { token, headers = {} } = {}) {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${server.url}${pathOrUrl}`;
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers: h });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * A `STORAGE_URL` on a new bucket of the test S3 server (`E2E_S3_URL`, moto on loopback), or
 * null when `ORDER_CHAT_SKIP_S3=1`; without either the S3 tests fail.
 */
export async function s3StorageUrl() {
  const endpoint = process.env.E2E_S3_URL || process.env.ORDER_CHAT_TEST_S3_URL;
  if (!endpoint) {
    if (process.env.ORDER_CHAT_SKIP_S3 === '1') return null;
    throw new Error('E2E_S3_URL is not set: run scripts/test.sh (it starts moto), or set ORDER_CHAT_SKIP_S3=1');
  }
  const bucket = `e2e-${Math.random().toString(36).slice(2, 10)}`;
  const res = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
  if (!res.ok) throw new Error(`create bucket: ${res.status}`);
  return `s3://${bucket}/chat?endpoint=${endpoint}&allow_http=true&region=us-east-1&access_key_id=test&secret_access_key=test`;
}
