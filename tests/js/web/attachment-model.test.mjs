// The page's attachment rules and words (web/js/attachment-model.js) in Node, no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_UPLOAD_BYTES, checkFile, formatSize, formatDuration, typeLabel, uploadRefusal, isOwnAttachmentUrl, groupAttachments,
} from '../../../web/js/attachment-model.js';
import { recordingType } from '../../../web/js/voice.js';

const file = (name, type, size = 1000) => ({ name, type, size });

test('sizes and durations read as people say them', () => {
  assert.equal(formatSize(1), '1 byte');
  assert.equal(formatSize(512), '512 bytes');
  assert.equal(formatSize(820 * 1024), '820 KB');
  assert.equal(formatSize(1.45 * 1024 * 1024), '1.4 MB');
  assert.equal(formatSize(12 * 1024 * 1024), '12 MB');
  assert.equal(formatDuration(7000), '0:07');
  assert.equal(formatDuration(151000), '2:31');
  assert.equal(formatDuration(3723000), '1:02:03');
});

test('files the server never takes are refused at once, in words; the rest go to the server', () => {
  assert.equal(checkFile(file('receipt.jpg', 'image/jpeg')), null);
  assert.equal(checkFile(file('note.ogg', 'audio/ogg')), null);
  assert.equal(checkFile(file('list.pdf', 'application/pdf')), null);
  assert.equal(checkFile(file('sheet.xlsx', '')), null, 'an unknown browser type with a known extension: the server decides');
  assert.match(checkFile(file('huge.jpg', 'image/jpeg', MAX_UPLOAD_BYTES + 1)), /huge\.jpg is too big \(10 MB\): files can be at most 10 MB/);
  assert.match(checkFile(file('icon.svg', 'image/svg+xml')), /icon\.svg cannot be sent: only photos/);
  assert.match(checkFile(file('tool.exe', 'application/x-msdownload')), /cannot be sent/);
  assert.match(checkFile(file('empty.png', 'image/png', 0)), /is empty/);
});

test('server refusals become sentences', () => {
  assert.match(uploadRefusal('a.png', 415, { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'x' }), /a\.png cannot be sent: this type of file is not accepted/);
  assert.match(uploadRefusal('a.pdf', 413, { code: 'PAYLOAD_TOO_LARGE', message: 'The file is larger than the limit of 10 MiB' }), /too big to send\. The file is larger/);
  assert.match(uploadRefusal('a.png', 400, { code: 'VALIDATION', message: 'This image is too large: 50000×50000 is over 40 megapixels' }), /could not be used: This image is too large/);
  assert.match(uploadRefusal('a.png', 0, null), /connection was lost/);
  assert.match(uploadRefusal('a.png', 409, { code: 'ORDER_CLOSED' }), /closed/);
});

test('types have short labels; own attachment links are recognised; attachments group by kind', () => {
  assert.equal(typeLabel('application/pdf'), 'PDF');
  assert.equal(typeLabel('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'), 'Excel spreadsheet');
  assert.equal(typeLabel('', 'notes.docx'), 'Word document');
  assert.equal(typeLabel('audio/ogg'), 'Audio');
  assert.ok(isOwnAttachmentUrl('/api/v0/chat/attachments/a1?exp=1&sig=x'));
  assert.ok(isOwnAttachmentUrl('https://chat.example.com/api/v0/chat/attachments/a1'));
  assert.ok(!isOwnAttachmentUrl('https://cdn.example.com/p.jpg'));
  const g = groupAttachments([
    { id: '1', kind: 'image', url: '/u1' }, { id: '2', kind: 'audio', url: '/u2' }, { id: '3', kind: 'file', url: '/u3' },
    { id: '4', kind: 'image' }, null,
  ]);
  assert.deepEqual([g.images.map((a) => a.id), g.audio.map((a) => a.id), g.files.map((a) => a.id)], [['1'], ['2'], ['3']]);
});

test('voice notes record in the first container the server accepts', () => {
  assert.equal(recordingType(undefined), null);
  const chrome = { isTypeSupported: (t) => t.startsWith('audio/webm') };
  assert.deepEqual(recordingType(chrome), { mimeType: 'audio/webm;codecs=opus', ext: 'webm' });
  const safari = { isTypeSupported: (t) => t === 'audio/mp4' };
  assert.deepEqual(recordingType(safari), { mimeType: 'audio/mp4', ext: 'm4a' });
});
