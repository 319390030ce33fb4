// The search box without the DOM (web/js/search-model.js) in Node: the snippet's highlighted
// parts from the server's [start, end) offsets (JavaScript string indices), the request's
// address, result rows, paging with nextCursor, stale answers, and errors in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  highlightSegments, searchPath, resultRow, SearchState, searchErrorText, jumpHref, parseJump, PAGE_LIMIT,
} from '../../../web/js/search-model.js';

const ME = 'cust-1';

/** The marked texts of a snippet's parts. */
const marks = (parts) => parts.filter((p) => p.mark).map((p) => p.text);
const joined = (parts) => parts.map((p) => p.text).join('');

/** One search result as the server sends it (shape of GET /search, checked against the binary). */
function result(extra = {}, message = {}) {
  return {
    orderId: 'order-1',
    orderNumber: 'B2S-7F3KQ',
    snippet: 'Please get ripe plantains',
    highlights: [[16, 25]],
    message: {
      id: 'm-1', orderId: 'order-1', seq: 4, senderId: 'agent-1', senderType: 'agent', rev: 4,
      sender: { id: 'agent-1', name: 'Tunde Bello' }, message: 'Please get ripe plantains',
      createdAt: '2026-11-24T10:15:02.123Z', ...message,
    },
    ...extra,
  };
}

test('highlights cut the snippet into plain and marked parts that together are the snippet', () => {
  const parts = highlightSegments('plantain chips and plantains', [[0, 8], [19, 28]]);
  assert.deepEqual(parts, [
    { text: 'plantain', mark: true },
    { text: ' chips and ', mark: false },
    { text: 'plantains', mark: true },
  ]);
  assert.deepEqual(highlightSegments('no match here', []), [{ text: 'no match here', mark: false }]);
  assert.deepEqual(highlightSegments('', []), [{ text: '', mark: false }]);
});

test('offsets are UTF-16 indices: emoji before the match (surrogate pairs, ZWJ, skin tones) are counted', () => {
  const snippet = '😀🎉 Please get ripe plantains';
  assert.equal(snippet.indexOf('plantains'), 21);
  assert.deepEqual(marks(highlightSegments(snippet, [[21, 30]])), ['plantains']);
  const family = '👨‍👩‍👧 👍🏽 café au lait';
  const at = family.indexOf('café');
  const parts = highlightSegments(family, [[at, at + 4]]);
  assert.deepEqual(marks(parts), ['café']);
  assert.equal(joined(parts), family);
});

test('an offset inside a surrogate pair moves to its edge: no emoji is cut in half', () => {
  const s = 'x😀y';
  // 😀 is s[1..3); a range starting or ending inside it takes the whole emoji.
  assert.deepEqual(marks(highlightSegments(s, [[2, 4]])), ['😀y']);
  assert.deepEqual(marks(highlightSegments(s, [[0, 2]])), ['x😀']);
  for (const p of highlightSegments(s, [[2, 2], [2, 3]])) assert.doesNotMatch(p.text, /^[\udc00-\udfff]|[\ud800-\udbff]$/);
});

test('bad highlights are clipped, merged or dropped, never thrown on', () => {
  const s = 'abcdefghij';
  assert.deepEqual(marks(highlightSegments(s, [[8, 50]])), ['ij'], 'clipped at the end');
  assert.deepEqual(marks(highlightSegments(s, [[-5, 2]])), ['ab'], 'clipped at the start');
  assert.deepEqual(marks(highlightSegments(s, [[2, 5], [4, 7]])), ['cdefg'], 'overlaps merged');
  assert.deepEqual(marks(highlightSegments(s, [[6, 8], [0, 2]])), ['ab', 'gh'], 'sorted');
  assert.deepEqual(marks(highlightSegments(s, [[2, 4], [4, 6]])), ['cd', 'ef'], 'touching ranges stay two words');
  assert.deepEqual(marks(highlightSegments(s, [[5, 5], [7, 3], ['1', 2], [1.5, 3], null, [1], 'x'])), [], 'empty or malformed dropped');
  assert.deepEqual(marks(highlightSegments(s, 'nope')), []);
  assert.equal(joined(highlightSegments(s, [[0, 10], [3, 4]])), s);
  assert.deepEqual(highlightSegments(null, null), [{ text: '', mark: false }]);
});

test('the request: q trimmed, the order, the page size, the cursor, all encoded', () => {
  assert.equal(searchPath('  plant  '), `/search?q=plant&limit=${PAGE_LIMIT}`);
  const path = searchPath('café & "x"', { orderId: 'B2S-7F3KQ', before: '1796164384810.01a2-bd', limit: 5 });
  const url = new URL(path, 'http://x');
  assert.equal(url.pathname, '/search');
  assert.equal(url.searchParams.get('q'), 'café & "x"');
  assert.equal(url.searchParams.get('orderId'), 'B2S-7F3KQ');
  assert.equal(url.searchParams.get('before'), '1796164384810.01a2-bd');
  assert.equal(url.searchParams.get('limit'), '5');
});

test('a result row: order number, sender ("You" for oneself, System), time, parts and a link to the message', () => {
  const row = resultRow(result(), ME);
  assert.equal(row.orderLabel, 'Order B2S-7F3KQ');
  assert.equal(row.sender, 'Tunde Bello');
  assert.equal(row.at, '2026-11-24T10:15:02.123Z');
  assert.equal(row.seq, 4);
  assert.equal(row.messageId, 'm-1');
  assert.deepEqual(marks(row.parts), ['plantains']);
  assert.deepEqual(parseJump(new URL(row.href, 'http://x').hash), { seq: 4, id: 'm-1' });
  assert.equal(new URL(row.href, 'http://x').searchParams.get('orderId'), 'order-1');
  assert.equal(resultRow(result({}, { senderId: ME, senderType: 'customer' }), ME).sender, 'You');
  assert.equal(resultRow(result({}, { senderId: 'system', senderType: 'system', sender: { name: 'System' } }), ME).sender, 'System');
  assert.equal(resultRow(result({ orderNumber: null }), ME).orderLabel, 'Order order-1');
});

test('the jump address round-trips and rejects what it did not write', () => {
  const href = jumpHref('order 1', 42, 'm-9', 'u@x');
  const url = new URL(href, 'http://x');
  assert.equal(url.searchParams.get('orderId'), 'order 1');
  assert.equal(url.searchParams.get('userId'), 'u@x');
  assert.deepEqual(parseJump(url.hash), { seq: 42, id: 'm-9' });
  assert.deepEqual(parseJump('#seq=3'), { seq: 3, id: null });
  for (const h of ['', '#', '#seq=0', '#seq=-1', '#seq=1.5', '#seq=abc', '#message=m-1', null]) assert.equal(parseJump(h), null, String(h));
});

test('a search pages on with nextCursor and drops duplicates', () => {
  const s = new SearchState();
  const first = s.start(' plant ', 'order-1');
  assert.equal(s.status, 'loading');
  assert.equal(s.summary(), 'Searching…');
  assert.equal(new URL(first.path, 'http://x').searchParams.get('orderId'), 'order-1');
  assert.equal(s.more(), null, 'no further page while the first loads');
  s.answer(first, { results: [result(), result({}, { id: 'm-2', seq: 3 })], nextCursor: 'c1' }, ME);
  assert.equal(s.status, 'done');
  assert.equal(s.summary(), '2 results so far');
  const second = s.more();
  assert.equal(new URL(second.path, 'http://x').searchParams.get('before'), 'c1');
  assert.equal(s.more(), null, 'one page at a time');
  const added = s.answer(second, { results: [result({}, { id: 'm-2', seq: 3 }), result({}, { id: 'm-3', seq: 1 })], nextCursor: null }, ME);
  assert.deepEqual(added.map((r) => r.messageId), ['m-3'], 'the repeated result is not added again');
  assert.deepEqual(s.rows.map((r) => r.seq), [4, 3, 1]);
  assert.equal(s.summary(), '3 results');
  assert.equal(s.more(), null, 'the last page');
});

test('an answer to an older request is ignored; a new query forgets the results', () => {
  const s = new SearchState();
  const a = s.start('pla');
  const b = s.start('plant');
  assert.equal(s.answer(a, { results: [result()], nextCursor: null }, ME), null);
  assert.equal(s.failed(a, Object.assign(new Error('x'), { code: 'INTERNAL' })), false);
  assert.equal(s.status, 'loading');
  s.answer(b, { results: [result()], nextCursor: 'c' }, ME);
  assert.equal(s.rows.length, 1);
  assert.equal(s.isCurrent(' plant', null), true);
  assert.equal(s.isCurrent('plant', 'order-1'), false, 'another scope is another search');
  assert.equal(s.start('   '), null, 'an empty query asks nothing');
  assert.equal(s.status, 'idle');
  assert.deepEqual(s.rows, []);
  assert.equal(s.summary(), '');
});

test('no results, and errors: the VALIDATION message is shown; a failed further page keeps the results', () => {
  const s = new SearchState();
  const r = s.start('zebra');
  s.answer(r, { results: [], nextCursor: null }, ME);
  assert.equal(s.summary(), 'No messages match “zebra”.');
  const bad = s.start('x'.repeat(201));
  s.failed(bad, Object.assign(new Error('q must be 1-200 characters'), { code: 'VALIDATION' }));
  assert.equal(s.status, 'error');
  assert.equal(s.summary(), 'This search cannot be run: q must be 1-200 characters.');
  assert.equal(s.isCurrent('x'.repeat(201), null), false, 'an error is asked again');
  const ok = s.start('plant');
  s.answer(ok, { results: [result()], nextCursor: 'c' }, ME);
  const more = s.more();
  s.failed(more, Object.assign(new Error('down'), { code: 'NETWORK' }));
  assert.equal(s.status, 'done');
  assert.equal(s.rows.length, 1);
  assert.match(s.summary(), /^1 result\. The chat server could not be reached/);
  assert.ok(s.more(), 'a failed page can be asked again');
});

test('error sentences', () => {
  const e = (code, message) => searchErrorText(Object.assign(new Error(message || code), { code }));
  assert.equal(e('VALIDATION', 'limit must be an integer from 1 to 50'), 'This search cannot be run: limit must be an integer from 1 to 50.');
  assert.match(e('UNAUTHORIZED'), /reload the page/);
  assert.match(e('FORBIDDEN'), /not a participant/);
  assert.match(e('RATE_LIMITED'), /wait a moment/);
  assert.match(e('NETWORK'), /could not be reached/);
  assert.equal(e('INTERNAL'), 'The search failed. Please try again.');
  assert.equal(searchErrorText(null), 'The search failed. Please try again.');
});
