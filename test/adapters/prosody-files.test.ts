// Encrypted files (XEP-0454 over XEP-0363) against a real Prosody 0.12 with mod_http_file_share on loopback
// (test/adapters/prosody-server.ts `httpFileShare`): one library client sends a file to another and the other
// downloads and decrypts it, a 16-byte-IV link as older clients send it, a tampered download, the service's
// size limit enforced before any upload, https-only downloads unless allowed, and the download cap.
//
// What Prosody 0.12's mod_http_file_share does (found here): it is listed in the host's disco#items as
// `upload.<host>` with `max-file-size` in a XEP-0128 form; the slot size must equal the PUT's Content-Length; a
// request over the limit gets <not-acceptable/> with <file-too-large><max-file-size/></file-too-large>; the GET
// answers with Content-Length; HTTP is routed by Host header (http_host = "127.0.0.1").
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aes256GcmEncryptStream } from '../../src/crypto/aes-gcm-stream';
import { isOmemoError } from '../../src/crypto/errors';
import { randomBytes } from '../../src/crypto/random';
import { createHttpUpload, type FetchLike } from '../../src/adapters/http-upload';
import { formatAesgcmUrl } from '../../src/omemo/files/aesgcm-url';
import type { OmemoChatMessage } from '../../src/adapters/xmpp-client';
import { ensureProsody, startProsody, type ProsodyServer } from './prosody-server';
import { PASSWORD, connectDevice, stopAll, waitFor, waitForDevices, type Device } from './xmpp-helpers';

const USERS = ['alice', 'bob', 'carol'];
/** A members-only, non-anonymous room service (XEP-0045) for the room case. */
const MUC = 'conference.localhost';
/** The service's limit (Prosody compares it with the slot size: plaintext + 16). */
const LIMIT_BYTES = 2 * 1024 * 1024;

let serverPromise: Promise<ProsodyServer> | undefined;
const server = (): Promise<ProsodyServer> =>
  (serverPromise ??= startProsody({
    users: USERS,
    password: PASSWORD,
    groups: { Files: USERS },
    httpFileShare: { maxBytes: LIMIT_BYTES },
    muc: [{ host: MUC, membersOnly: true, publicJids: true }],
  }));

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return new Uint8Array(Buffer.concat(parts));
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

function nextFile(device: Device, seen: number): Promise<OmemoChatMessage> {
  return waitFor(
    `${device.user} to receive file #${seen + 1}`,
    () => device.messages.filter((m) => m.file).length > seen,
  ).then(() => device.messages.filter((m) => m.file)[seen]!);
}

const availability = ensureProsody();

if (!availability.ok && process.env.CI === 'true') {
  test('prosody is available (required under CI=true)', () => {
    assert.unreachable(availability.reason);
  });
} else if (!availability.ok) {
  console.warn(`\n!!! SKIPPED the Prosody file-transfer tests: ${availability.reason}\n`);
  test.skip('prosody file-transfer tests', () => undefined);
} else {
  let alice: Device;
  let bob: Device;
  let files = 0;
  const fetches: string[] = [];
  const countingFetch: FetchLike = (url, init) => {
    fetches.push(`${init.method} ${url}`);
    return fetch(url, init);
  };
  const devices: Device[] = [];

  test.before(async () => {
    const s = await server();
    devices.push((alice = await connectDevice(s, 'alice', 'a1', { files: { allowHttp: true, fetch: countingFetch } })));
    devices.push((bob = await connectDevice(s, 'bob', 'b1', { files: { allowHttp: true } })));
    await waitForDevices(alice, devices);
    await waitForDevices(bob, devices);
  });

  test.after(async () => {
    await stopAll(devices);
    if (serverPromise) await (await serverPromise.catch(() => undefined))?.stop();
  });

  test('1:1: sendFile uploads the ciphertext and sends the aesgcm link; the peer downloads and decrypts', async () => {
    const s = await server();
    const bytes = randomBytes(300_000);
    const { file, result } = await alice.omemo.sendFile(bob.jid, bytes, { name: 'report.pdf' });
    assert.ok(result.devices.some((d) => d.ok));
    assert.is(file.ivLength, 12);
    assert.is(file.size, 300_000);
    assert.is(file.name, 'report.pdf');
    assert.is(file.mediaType, 'application/pdf');
    assert.ok(file.url.startsWith(`http://127.0.0.1:${s.upload!.httpPort}/`), file.url);
    assert.not.ok(file.url.includes('report'), 'the server sees a random name, not the file name');
    assert.ok(file.url.endsWith('.pdf'), 'the extension is kept (receivers guess the type from it)');
    const m = await nextFile(bob, files++);
    assert.is(m.text, file.aesgcmUrl());
    assert.ok(m.text!.startsWith('aesgcm://127.0.0.1:'));
    assert.is(m.file!.mediaType, 'application/pdf');
    assert.is(m.file!.ivLength, 12);
    const plain = await collect(await bob.omemo.downloadFile(m.file!));
    assert.equal(Buffer.from(plain).equals(bytes), true);
    assert.equal(alice.errors, []);
    assert.equal(bob.errors, []);
  });

  test('1:1: a Node Readable with its size streams through; the other direction works too', async () => {
    const bytes = randomBytes(1_000_001);
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < bytes.length; i += 65_536) yield Buffer.from(bytes.subarray(i, i + 65_536));
      })(),
    );
    await bob.omemo.sendFile(alice.jid, stream, { name: 'capture.log', size: bytes.length });
    const m = await nextFile(alice, 0);
    assert.is(m.file!.mediaType, 'text/plain');
    const plain = await collect(await alice.omemo.downloadFile(m.file!));
    assert.ok(Buffer.from(plain).equals(bytes));
  });

  test('revealName: the recipient sees the file name (percent-encoded by the server, decoded for us)', async () => {
    const bytes = randomBytes(1000);
    const { file } = await alice.omemo.sendFile(bob.jid, bytes, { name: 'Q4 report/über.pdf', revealName: true });
    const m = await nextFile(bob, files++);
    assert.is(m.file!.name, 'Q4 report über.pdf');
    assert.is(m.file!.mediaType, 'application/pdf');
    assert.is(file.name, 'Q4 report/über.pdf', 'the sender keeps the name it gave');
    assert.ok(Buffer.from(await collect(await bob.omemo.downloadFile(m.file!))).equals(bytes));
  });

  test('receive: a link with a 16-byte IV (older Conversations, Monal) is downloaded and decrypted', async () => {
    const bytes = randomBytes(70_000);
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const upload = createHttpUpload({
      client: alice.omemo.client,
      iqTimeoutMs: 10_000,
      domain: () => 'localhost',
      allowHttp: true,
    });
    const service = await upload.service();
    assert.is(service.maxFileSize, LIMIT_BYTES);
    const slot = await upload.requestSlot(service, 'legacy.jpg', bytes.length + 16, 'application/octet-stream');
    const parts: Uint8Array[] = [];
    for await (const c of aes256GcmEncryptStream(key, iv, bytes)) parts.push(c);
    await upload.put(slot, new Uint8Array(Buffer.concat(parts)), bytes.length + 16, 'application/octet-stream');
    await alice.omemo.send(bob.jid, formatAesgcmUrl(slot.getUrl, iv, key));
    const m = await nextFile(bob, files++);
    assert.is(m.file!.ivLength, 16);
    assert.is(m.file!.mediaType, 'image/jpeg');
    assert.ok(Buffer.from(await collect(await bob.omemo.downloadFile(m.file!))).equals(bytes));
  });

  test('download: a tampered byte errors the stream; maxBytes and https-only refuse before reading', async () => {
    const bytes = randomBytes(100_000);
    await alice.omemo.sendFile(bob.jid, bytes, { name: 'data.bin' });
    const m = await nextFile(bob, files++);
    const tampering: FetchLike = async (url, init) => {
      const r = await fetch(url, init);
      const body = new Uint8Array(await r.arrayBuffer());
      body[50_000]! ^= 1;
      return new Response(body, { status: 200, headers: { 'content-length': String(body.length) } });
    };
    const tampered = await errorOf(collect(await bob.omemo.downloadFile(m.file!, { fetch: tampering })));
    assert.ok(isOmemoError(tampered, 'authentication-failed'), String(tampered));
    const truncating: FetchLike = async (url, init) => {
      const r = await fetch(url, init);
      return new Response(new Uint8Array(await r.arrayBuffer()).subarray(0, 99_000), { status: 200 });
    };
    const truncated = await errorOf(collect(await bob.omemo.downloadFile(m.file!, { fetch: truncating })));
    assert.ok(isOmemoError(truncated, 'authentication-failed'), String(truncated));
    const capped = await errorOf(bob.omemo.downloadFile(m.file!, { maxBytes: 99_999 }));
    assert.ok(isOmemoError(capped, 'file-too-large'), String(capped));
    // https (the default) against the plain-http loopback server: the TLS handshake fails.
    const https = await errorOf(bob.omemo.downloadFile(m.file!, { allowHttp: false }));
    assert.ok(isOmemoError(https, 'file-transfer-failed'), String(https));
    assert.ok(Buffer.from(await collect(await bob.omemo.downloadFile(m.file!, { maxBytes: 100_000 }))).equals(bytes));
  });

  test('a file over the service limit fails with file-too-large before anything is uploaded or sent', async () => {
    const before = fetches.length;
    const sentBefore = bob.messages.length;
    const tooBig = new Uint8Array(LIMIT_BYTES - 15); // + 16 tag = limit + 1
    const e = await errorOf(alice.omemo.sendFile(bob.jid, tooBig, { name: 'big.bin' }));
    assert.ok(isOmemoError(e, 'file-too-large'), String(e));
    assert.is(fetches.length, before, 'no HTTP request');
    // The largest file that fits (limit − 16 bytes) goes through.
    const fits = randomBytes(LIMIT_BYTES - 16);
    const { file } = await alice.omemo.sendFile(bob.jid, fits, { name: 'fits.bin' });
    assert.is(fetches.length, before + 1);
    const m = await nextFile(bob, files++);
    assert.is(m.file!.aesgcmUrl(), file.aesgcmUrl());
    assert.is(bob.messages.length, sentBefore + 1, 'only the file that fits was sent');
    // The server's own check (a slot request over the limit, bypassing ours) maps to the same typed error.
    const upload = createHttpUpload({ client: alice.omemo.client, iqTimeoutMs: 10_000, domain: () => 'localhost' });
    const service = await upload.service();
    const refused = await errorOf(upload.requestSlot(service, 'x.bin', LIMIT_BYTES + 1, 'application/octet-stream'));
    assert.ok(isOmemoError(refused, 'file-too-large'), String(refused));
    // Without allowHttp the plain-http slot itself is refused.
    const plain = await errorOf(upload.requestSlot(service, 'y.bin', 100, 'application/octet-stream'));
    assert.ok(isOmemoError(plain, 'file-transfer-failed'), String(plain));
  });

  test('room: sendFileToRoom sends one groupchat link; every member downloads and decrypts it', async () => {
    const s = await server();
    const carol = await connectDevice(s, 'carol', 'c1', { files: { allowHttp: true } });
    devices.push(carol);
    const room = `files@${MUC}`;
    await alice.omemo.joinRoom(room, { nick: 'alice' }); // creates it: members-only, non-anonymous
    for (const d of [bob, carol]) await alice.omemo.setRoomAffiliation(room, d.jid, 'member');
    for (const d of [bob, carol]) await d.omemo.joinRoom(room, { nick: d.user });
    const bytes = randomBytes(123_457);
    const before = [bob, carol].map((d) => d.messages.filter((m) => m.file).length);
    const { file, result } = await alice.omemo.sendFileToRoom(room, bytes, { name: 'minutes.txt' });
    assert.equal(
      result.recipients.filter((r) => !r.ok),
      [],
    );
    for (const [i, d] of [bob, carol].entries()) {
      const m = await nextFile(d, before[i]!);
      assert.is(m.via, 'groupchat');
      assert.is(m.room, room);
      assert.is(m.realJid, alice.jid);
      assert.is(m.text, file.aesgcmUrl());
      const plain = await collect(await d.omemo.downloadFile(m.file!));
      assert.ok(Buffer.from(plain).equals(bytes), `${d.user} decrypted the file`);
    }
    // Our own copy, reflected by the room, is ours and carries the file too.
    await waitFor('the reflection', () => alice.messages.some((m) => m.reflected && m.file !== undefined));
    for (const d of [alice, bob, carol]) assert.equal(d.errors, [], `${d.user} reported errors`);
  });
}

test.run();
