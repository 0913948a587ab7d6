// src/omemo/files: XEP-0454 aesgcm:// links (parse/format with 12- and 16-byte IVs from aesgcm-files.json, bad
// fragments and hosts as OmemoError('malformed-file-url')), message bodies that are one link, the FileDescriptor
// (key material out of JSON/toString/inspect), and encryptFile (fresh key per file, sizes, round trips).
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aes256GcmEncryptStream } from '../../../src/crypto/aes-gcm-stream';
import { toHex } from '../../../src/crypto/bytes';
import { cryptoReady } from '../../../src/crypto/ready';
import { formatAesgcmUrl, isAesgcmBody, parseAesgcmUrl } from '../../../src/omemo/files/aesgcm-url';
import { FileDescriptor } from '../../../src/omemo/files/file-descriptor';
import { encryptFile, toReadableStream } from '../../../src/omemo/files/file-encryption';
import { mediaTypeOfName } from '../../../src/omemo/files/media-type';
import { eqBytes, h, loadVectors, pseudo, rejectsCode, throwsArg, throwsCode } from '../../crypto/helpers';

interface FileVector {
  name: string;
  key: string;
  iv: string;
  plaintextLength: number;
  plaintextSeed: number;
  sha256: string;
  httpsUrl: string;
  aesgcmUrl: string;
}
const { files } = loadVectors<{ files: FileVector[] }>('aesgcm-files.json');

async function drain(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

test.before(async () => {
  await cryptoReady();
});

test('parse and format the vectors’ links (12- and 16-byte IVs)', () => {
  for (const v of files) {
    const p = parseAesgcmUrl(v.aesgcmUrl);
    assert.is(p.httpsUrl, v.httpsUrl, v.name);
    assert.is(toHex(p.iv), v.iv, v.name);
    assert.is(toHex(p.key), v.key, v.name);
    assert.is(formatAesgcmUrl(v.httpsUrl, h(v.iv), h(v.key)), v.aesgcmUrl, v.name);
  }
});

test('parse: scheme and hex in any case; the fragment is never echoed in errors', () => {
  const v = files[1]!;
  const upper = v.aesgcmUrl.replace('aesgcm', 'AESGCM').replace(/#(.*)$/, (_, f: string) => `#${f.toUpperCase()}`);
  assert.is(toHex(parseAesgcmUrl(upper).key), v.key);
  const bad = `aesgcm://host.example/x#${'zz'.repeat(44)}`;
  try {
    parseAesgcmUrl(bad);
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code?: string }).code, 'malformed-file-url');
    assert.not.match((e as Error).message, 'zz');
  }
});

test('parse: anything but hex(12- or 16-byte IV ‖ 32-byte key) on an https-able host is malformed-file-url', () => {
  const key = 'ab'.repeat(32);
  const iv12 = 'cd'.repeat(12);
  const bad = [
    `https://host.example/f.jpg#${iv12}${key}`,
    'aesgcm://host.example/f.jpg',
    `aesgcm://host.example/f.jpg#`,
    `aesgcm://host.example/f.jpg#${iv12}${key}0`,
    `aesgcm://host.example/f.jpg#${'cd'.repeat(8)}${key}`,
    `aesgcm://host.example/f.jpg#${'cd'.repeat(24)}${key}`,
    `aesgcm://host.example/f.jpg#${iv12}${'ab'.repeat(16)}`,
    `aesgcm://host.example/f.jpg#${iv12}${key.slice(2)}g1`,
    `aesgcm:///f.jpg#${iv12}${key}`,
    `aesgcm://user:pw@host.example/f.jpg#${iv12}${key}`,
    `aesgcm://host.example/a b.jpg#${iv12}${key}`,
    `aesgcm://host.example/${'x'.repeat(9000)}#${iv12}${key}`,
  ];
  for (const url of bad) throwsCode(() => parseAesgcmUrl(url), 'malformed-file-url', url.slice(0, 60));
  throwsArg(() => parseAesgcmUrl(42 as unknown as string), TypeError, 'aesgcm');
});

test('format: refuses a bad key, IV or URL (programmer errors)', () => {
  throwsArg(() => formatAesgcmUrl('https://a.example/x', new Uint8Array(8), new Uint8Array(32)), RangeError, 'iv');
  throwsArg(() => formatAesgcmUrl('https://a.example/x', new Uint8Array(12), new Uint8Array(16)), RangeError, 'key');
  throwsArg(
    () => formatAesgcmUrl('ftp://a.example/x', new Uint8Array(12), new Uint8Array(32)),
    TypeError,
    'downloadUrl',
  );
  throwsArg(
    () => formatAesgcmUrl('https://a.example/x#y', new Uint8Array(12), new Uint8Array(32)),
    TypeError,
    'downloadUrl',
  );
});

test('isAesgcmBody: exactly one link (white space around allowed), nothing else', () => {
  const link = files[0]!.aesgcmUrl;
  assert.ok(isAesgcmBody(link));
  assert.ok(isAesgcmBody(`  ${link}\n`));
  assert.not.ok(isAesgcmBody(`look: ${link}`));
  assert.not.ok(isAesgcmBody(`${link} ${link}`));
  assert.not.ok(isAesgcmBody(link.replace('aesgcm://', 'https://')));
  assert.not.ok(isAesgcmBody(undefined));
  assert.not.ok(isAesgcmBody(''));
});

test('FileDescriptor: name and media type from the link, key never in JSON, toString or inspect', () => {
  const v = files.find((f) => f.httpsUrl.endsWith('cool.jpg'))!;
  const d = FileDescriptor.fromAesgcmUrl(v.aesgcmUrl);
  assert.is(d.url, v.httpsUrl);
  assert.is(d.name, 'très cool.jpg');
  assert.is(d.mediaType, 'image/jpeg');
  assert.is(d.size, undefined);
  assert.is(d.ivLength, 12);
  assert.is(d.aesgcmUrl(), v.aesgcmUrl);
  for (const shown of [JSON.stringify(d), String(d), inspect(d, { showHidden: true, depth: 5 }), `${Object.keys(d)}`]) {
    assert.not.ok(shown.includes(v.key), `key leaked: ${shown}`);
    assert.not.ok(shown.includes(v.iv), `iv leaked: ${shown}`);
  }
  assert.equal(JSON.parse(JSON.stringify(d)), { url: v.httpsUrl, name: 'très cool.jpg', mediaType: 'image/jpeg' });
  const named = d.withMeta({ name: 'report.pdf', size: 100 });
  assert.is(named.name, 'report.pdf');
  assert.is(named.mediaType, 'image/jpeg', 'an explicit meta is kept');
  assert.is(named.aesgcmUrl(), v.aesgcmUrl);
  const legacy = FileDescriptor.fromAesgcmUrl(files.find((f) => f.iv.length === 32)!.aesgcmUrl);
  assert.is(legacy.ivLength, 16);
  assert.is(mediaTypeOfName('X.PDF'), 'application/pdf');
  assert.is(mediaTypeOfName('noext'), undefined);
  assert.is(mediaTypeOfName('a.constructor'), undefined);
});

test('FileDescriptor.decrypt: known answers with both IV lengths through the descriptor', async () => {
  for (const v of files.filter((f) => f.plaintextLength <= 65537)) {
    const pt = Uint8Array.from({ length: v.plaintextLength }, (_, i) => (i * 7 + v.plaintextSeed) % 256);
    const d = FileDescriptor.fromAesgcmUrl(v.aesgcmUrl);
    const sealed = await drain(aes256GcmEncryptStream(h(v.key), h(v.iv), pt));
    assert.is(createHash('sha256').update(sealed).digest('hex'), v.sha256, v.name);
    eqBytes(await drain(d.decrypt(sealed)), pt, v.name);
  }
});

/** An rng that hands out a vector's key, then its IV (the order encryptFile asks in). */
function rngOf(v: FileVector): (n: number) => Uint8Array {
  const queue = [h(v.key), h(v.iv)];
  return (n) => {
    const next = queue.shift()!;
    assert.is(next.length, n, 'encryptFile asks for the key, then the 12-byte IV');
    return next;
  };
}

test('encryptFile: the vector’s ciphertext for its key and 12-byte IV; descriptor after upload', async () => {
  for (const v of files.filter((f) => f.iv.length === 24 && f.plaintextLength <= 65537)) {
    const pt = Uint8Array.from({ length: v.plaintextLength }, (_, i) => (i * 7 + v.plaintextSeed) % 256);
    const file = encryptFile(pt, { rng: rngOf(v) });
    assert.is(file.size, v.plaintextLength);
    assert.is(file.ciphertextBytes, v.plaintextLength + 16);
    const sealed = await drain(file.ciphertext);
    assert.is(createHash('sha256').update(sealed).digest('hex'), v.sha256, v.name);
    const d = file.describe(v.httpsUrl, { mediaType: 'application/octet-stream' });
    assert.is(d.aesgcmUrl(), v.aesgcmUrl);
    assert.is(d.size, v.plaintextLength);
    assert.is(d.mediaType, 'application/octet-stream');
  }
});

test('encryptFile: a fresh key and IV per file; streams need their exact size', async () => {
  const pt = pseudo(5000, 1);
  const a = encryptFile(pt);
  const b = encryptFile(pt);
  const da = a.describe('https://up.example/a.bin');
  const db = b.describe('https://up.example/b.bin');
  assert.is.not(da.aesgcmUrl().split('#')[1], db.aesgcmUrl().split('#')[1]);
  assert.is(da.ivLength, 12);
  eqBytes(await drain(da.decrypt(toReadableStream(a.ciphertext))), pt);

  throwsArg(() => encryptFile(toReadableStream(chunks(pt))), TypeError, 'size');
  throwsArg(() => encryptFile(pt, { size: 4999 }), RangeError, 'size');
  throwsArg(() => encryptFile(chunks(pt), { size: -1 }), RangeError, 'size');
  throwsArg(() => encryptFile(chunks(pt), { size: 1.5 }), RangeError, 'size');
  // GCM's limit for one key and IV (NIST SP 800-38D: 2^39 − 256 bits): one byte more is refused.
  assert.is(encryptFile(chunks(pt), { size: 2 ** 36 - 32 }).size, 2 ** 36 - 32);
  throwsArg(() => encryptFile(chunks(pt), { size: 2 ** 36 - 31 }), RangeError, 'size');
  throwsArg(() => encryptFile('text' as unknown as Uint8Array), TypeError, 'file');
  for (const size of [4999, 5001]) {
    let caught: unknown;
    try {
      await drain(encryptFile(chunks(pt), { size }).ciphertext);
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, RangeError, `declared ${size}`);
  }
  const streamed = encryptFile(chunks(pt), { size: pt.length });
  const sealed = await drain(streamed.ciphertext);
  assert.is(sealed.length, 5016);
  eqBytes(await drain(streamed.describe('https://up.example/c').decrypt(sealed)), pt);
  await rejectsCode(
    () => drain(streamed.describe('https://up.example/c').decrypt(sealed.subarray(0, 5015))),
    'authentication-failed',
  );
});

async function* chunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 333) yield bytes.slice(i, i + 333);
}

test.run();
