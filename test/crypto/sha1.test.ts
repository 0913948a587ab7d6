// src/crypto/sha1.ts: FIPS 180-2 appendix A known answers (the entity-capabilities hash).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex, utf8Encode } from '../../src/crypto/bytes';
import { sha1 } from '../../src/crypto/sha1';

test('sha1: FIPS 180-2 one-block, two-block and empty messages', async () => {
  assert.is(toHex(await sha1(utf8Encode('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.is(
    toHex(await sha1(utf8Encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
  );
  assert.is(toHex(await sha1(new Uint8Array(0))), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
});

test('sha1: rejects non-bytes', async () => {
  let err: unknown;
  try {
    await sha1('abc' as unknown as Uint8Array);
  } catch (e) {
    err = e;
  }
  assert.instance(err, TypeError);
});

test.run();
