// src/adapters/http-upload.ts and file-transfer.ts against a scripted client and a scripted fetch (no server):
// XEP-0363 discovery (items, info, max-file-size form, caching, failures), slots (allowed headers only, https
// only, file-too-large), the PUT, sendFile end to end with a plain manager as the peer, message.file on receive,
// and downloads (https only, redirects, status, caps). The same against a real Prosody: prosody-files.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xml } from '@xmpp/client';
import { isOmemoError } from '../../src/crypto/errors';
import { randomBytes } from '../../src/crypto/random';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import { NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { FileDescriptor } from '../../src/omemo/files/file-descriptor';
import { encryptFile } from '../../src/omemo/files/file-encryption';
import { downloadFile, uploadFile } from '../../src/adapters/file-transfer';
import { createHttpUpload, type FetchLike, type HttpUpload } from '../../src/adapters/http-upload';
import { parseElement } from '../../src/adapters/ltx-xml';
import { createXmppClientOmemo, type OmemoChatMessage } from '../../src/adapters/xmpp-client';
import type { XmlElement } from '../../src/adapters/xmpp-types';
import { FakePep, FakeStanzaError, FakeXmppClient, stanzaError } from './fake-xmpp-client';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const UPLOAD = 'upload.example.org';
const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NS_ITEMS = 'http://jabber.org/protocol/disco#items';

interface Server {
  maxFileSize?: number | undefined;
  slotHeaders?: string;
  putUrl?: string;
  slots: XmlElement[];
  discoIqs: number;
}

const result = (iq: XmlElement, child: XmlElement) => xml('iq', { type: 'result', id: iq.attrs.id }, child);

/** A server with a conference component and an upload component. */
function uploadServer(c: FakeXmppClient, server: Server): void {
  c.responders.push((iq) => {
    const items = iq.getChild('query', NS_ITEMS);
    if (items !== undefined) {
      server.discoIqs++;
      return result(
        iq,
        xml(
          'query',
          { xmlns: NS_ITEMS },
          xml('item', { jid: 'conference.example.org' }),
          xml('item', { jid: UPLOAD }),
          xml('item', { jid: 'bad jid with spaces' }),
        ),
      );
    }
    const info = iq.getChild('query', NS_INFO);
    if (info !== undefined) {
      server.discoIqs++;
      if (iq.attrs.to === 'conference.example.org') throw stanzaError('service-unavailable');
      if (iq.attrs.to !== UPLOAD) return result(iq, xml('query', { xmlns: NS_INFO }));
      const form = (type: string, max: string) =>
        xml(
          'x',
          { xmlns: 'jabber:x:data', type: 'result' },
          xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, type)),
          xml('field', { var: 'max-file-size' }, xml('value', {}, max)),
        );
      return result(
        iq,
        xml(
          'query',
          { xmlns: NS_INFO },
          xml('identity', { category: 'store', type: 'file' }),
          xml('feature', { var: NS_UPLOAD }),
          form('urn:example:other', '1'),
          ...(server.maxFileSize === undefined ? [] : [form(NS_UPLOAD, String(server.maxFileSize))]),
        ),
      );
    }
    const request = iq.getChild('request', NS_UPLOAD);
    if (request !== undefined) {
      server.slots.push(request);
      const size = Number(request.attrs.size);
      if (server.maxFileSize !== undefined && size > server.maxFileSize) {
        return new FakeStanzaError(
          'not-acceptable',
          parseElement(
            `<error type="modify"><not-acceptable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><file-too-large xmlns="${NS_UPLOAD}"><max-file-size>${server.maxFileSize}</max-file-size></file-too-large></error>`,
          ),
        );
      }
      const name = request.attrs.filename!;
      return result(
        iq,
        parseElement(
          `<slot xmlns="${NS_UPLOAD}"><put url="${server.putUrl ?? `https://${UPLOAD}/put/${name}`}">${server.slotHeaders ?? ''}</put><get url="https://${UPLOAD}/get/${name}"/></slot>`,
        ),
      );
    }
    return undefined;
  });
}

interface Put {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A fetch that stores PUTs and serves them back on GET (at the get URL). */
function fakeHttp(status = 201): { fetch: FetchLike; puts: Put[]; files: Map<string, Uint8Array> } {
  const puts: Put[] = [];
  const files = new Map<string, Uint8Array>();
  const fetch: FetchLike = async (url, init) => {
    if (init.method === 'PUT') {
      const body = new Uint8Array(await new Response(init.body as BodyInit).arrayBuffer());
      puts.push({ url, headers: init.headers as Record<string, string>, body });
      files.set(url.replace('/put/', '/get/'), body);
      return new Response(null, { status });
    }
    const file = files.get(url);
    return file === undefined
      ? new Response('not found', { status: 404 })
      : new Response(file as BodyInit, { status: 200 });
  };
  return { fetch, puts, files };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
  return new Uint8Array(Buffer.concat(parts));
}

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  return undefined;
}

function plugin(server: Partial<Server> = {}, allowHttp = false): { c: FakeXmppClient; s: Server; up: HttpUpload } {
  const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
  const s: Server = { slots: [], discoIqs: 0, ...server };
  uploadServer(c, s);
  const up = createHttpUpload({ client: c, iqTimeoutMs: 1000, domain: () => 'example.org', allowHttp });
  return { c, s, up };
}

test('discovery: the item with the upload feature and its max-file-size; cached; the other form ignored', async () => {
  const { s, up } = plugin({ maxFileSize: 5000 });
  assert.equal(await up.service(), { jid: UPLOAD, maxFileSize: 5000 });
  const iqs = s.discoIqs;
  assert.equal(await up.service(), { jid: UPLOAD, maxFileSize: 5000 });
  assert.is(s.discoIqs, iqs, 'the second call asks nothing');
  up.reset();
  await up.service();
  assert.ok(s.discoIqs > iqs, 'after reset() it asks again');
  const { up: noLimit } = plugin();
  assert.equal(await noLimit.service(), { jid: UPLOAD, maxFileSize: undefined });
});

test('discovery: no service is upload-unavailable (and tried again next time); a failed disco is transport-error', async () => {
  const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
  let fail = true;
  c.responders.push((iq) => {
    if (iq.getChild('query', NS_ITEMS)) return fail ? stanzaError('remote-server-timeout') : undefined;
    return iq.getChild('query', NS_INFO) ? result(iq, xml('query', { xmlns: NS_INFO })) : undefined;
  });
  c.responders.push((iq) =>
    iq.getChild('query', NS_ITEMS) ? result(iq, xml('query', { xmlns: NS_ITEMS })) : undefined,
  );
  const up = createHttpUpload({ client: c, iqTimeoutMs: 1000, domain: () => 'example.org' });
  assert.ok(isOmemoError(await errorOf(up.service()), 'transport-error'));
  fail = false;
  assert.ok(isOmemoError(await errorOf(up.service()), 'upload-unavailable'));
});

test('slot: only Authorization, Cookie and Expires reach the PUT (no line breaks); https only', async () => {
  const { up } = plugin({
    slotHeaders:
      '<header name="Authorization">Basic Zm9v\nX-Injected: 1</header><header name="Cookie">a=b</header>' +
      '<header name="Expires">Wed, 21 Oct 2026 07:28:00 GMT</header><header name="X-Evil">1</header>' +
      '<header name="Host">evil.example</header>',
  });
  const service = await up.service();
  const slot = await up.requestSlot(service, 'f.bin', 100, 'application/octet-stream');
  assert.equal(slot.headers, {
    authorization: 'Basic Zm9v X-Injected: 1',
    cookie: 'a=b',
    expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
  });
  assert.is(slot.putUrl, `https://${UPLOAD}/put/f.bin`);
  const { up: plainHttp } = plugin({ putUrl: `http://${UPLOAD}/put/x` });
  const refused = await errorOf(plainHttp.requestSlot(await plainHttp.service(), 'x', 1, 'application/octet-stream'));
  assert.ok(isOmemoError(refused, 'file-transfer-failed'), String(refused));
  const { up: allowed } = plugin({ putUrl: `http://${UPLOAD}/put/x` }, true);
  assert.is((await allowed.requestSlot(await allowed.service(), 'x', 1, 'x/y')).putUrl, `http://${UPLOAD}/put/x`);
});

test('uploadFile: random slot name with the extension, size + 16, octet-stream; the PUT body decrypts', async () => {
  const { s, up } = plugin({ maxFileSize: 1 << 20 });
  const http = fakeHttp();
  const upload: HttpUpload = { ...up, put: (slot, body, size, type) => putWith(http.fetch, slot, body, size, type) };
  const bytes = randomBytes(70_000);
  const d = await uploadFile(upload, bytes, { name: 'Holiday Photo.JPG' });
  const req = s.slots[0]!;
  assert.match(req.attrs.filename!, /^[0-9a-f]{32}\.jpg$/);
  assert.is(req.attrs.size, '70016');
  assert.is(req.attrs['content-type'], 'application/octet-stream');
  const put = http.puts[0]!;
  assert.is(put.headers['content-length'], '70016');
  assert.is(put.headers['content-type'], 'application/octet-stream');
  assert.is(put.body.length, 70_016);
  assert.is(d.name, 'Holiday Photo.JPG');
  assert.is(d.mediaType, 'image/jpeg');
  assert.is(d.size, 70_000);
  assert.is(d.url, `https://${UPLOAD}/get/${req.attrs.filename}`);
  const parts: Uint8Array[] = [];
  for await (const c of d.decrypt(put.body)) parts.push(c);
  assert.ok(Buffer.from(Buffer.concat(parts)).equals(bytes));

  // A WHATWG ReadableStream with its size; revealName puts the (cleaned) name in the slot.
  let at = 0;
  const web = new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(at, at + 7777));
      at += 7777;
    },
  });
  const named = await uploadFile(upload, web, { size: bytes.length, name: '../etc/pass\nwd.txt', revealName: true });
  assert.is(s.slots[1]!.attrs.filename, '_ etc pass wd.txt');
  const again: Uint8Array[] = [];
  for await (const c of named.decrypt(http.puts[1]!.body)) again.push(c);
  assert.ok(Buffer.from(Buffer.concat(again)).equals(bytes));
  await uploadFile(upload, bytes, { name: `${'x'.repeat(300)}.pdf`, revealName: true });
  assert.is(s.slots[2]!.attrs.filename, `${'x'.repeat(196)}.pdf`);
});

/** The plugin's PUT through a given fetch (the plugin under test builds the request). */
function putWith(
  fetch: FetchLike,
  slot: Parameters<HttpUpload['put']>[0],
  body: Uint8Array | ReadableStream<Uint8Array>,
  size: number,
  type: string,
) {
  const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
  return createHttpUpload({ client: c, iqTimeoutMs: 1000, domain: () => 'example.org', fetch }).put(
    slot,
    body,
    size,
    type,
  );
}

test('uploadFile: over max-file-size (ciphertext counts) fails before any slot or PUT; HTTP errors are typed', async () => {
  const { s, up } = plugin({ maxFileSize: 1000 });
  const http = fakeHttp();
  const upload: HttpUpload = { ...up, put: (slot, body, size, type) => putWith(http.fetch, slot, body, size, type) };
  const e = await errorOf(uploadFile(upload, new Uint8Array(985)));
  assert.ok(isOmemoError(e, 'file-too-large'), String(e));
  assert.is(s.slots.length, 0);
  assert.is(http.puts.length, 0);
  await uploadFile(upload, new Uint8Array(984));
  assert.is(http.puts.length, 1);
  // The service's own refusal maps to the same code.
  const refused = await errorOf(up.requestSlot(await up.service(), 'x', 5000, 'application/octet-stream'));
  assert.ok(isOmemoError(refused, 'file-too-large'), String(refused));
  const failing = fakeHttp(413);
  const bad: HttpUpload = { ...up, put: (slot, body, size, type) => putWith(failing.fetch, slot, body, size, type) };
  const e413 = await errorOf(uploadFile(bad, new Uint8Array(10)));
  assert.ok(isOmemoError(e413, 'file-transfer-failed'), String(e413));
  assert.match((e413 as Error).message, /413/);
  // A stream that is shorter than declared: the caller's RangeError, not a network error.
  async function* short() {
    yield new Uint8Array(5);
  }
  const consuming: FetchLike = async (_url, init) => {
    await new Response(init.body as BodyInit).arrayBuffer();
    return new Response(null, { status: 201 });
  };
  const shortUpload: HttpUpload = {
    ...up,
    put: (slot, body, size, type) => putWith(consuming, slot, body, size, type),
  };
  const e2 = await errorOf(uploadFile(shortUpload, short(), { size: 10 }));
  assert.instance(e2, RangeError, String(e2));
  assert.instance(await errorOf(() => uploadFile(upload, short())), TypeError, 'a stream needs its size');
});

test('sendFile: the aesgcm link goes out as the OMEMO body (fallback body unchanged); the peer gets message.file', async () => {
  const pep = new FakePep();
  const c = new FakeXmppClient(`${ALICE}/phone`, pep);
  const server: Server = { slots: [], discoIqs: 0, maxFileSize: 1 << 20 };
  uploadServer(c, server);
  const http = fakeHttp();
  const messages: OmemoChatMessage[] = [];
  const logs: string[] = [];
  const log = (message: string, fields: object) => void logs.push(`${message} ${JSON.stringify(fields)}`);
  const omemo = createXmppClientOmemo({
    client: c,
    store: new MemoryStore(),
    files: { fetch: http.fetch },
    onMessage: (m) => void messages.push(m),
    logger: { debug: log, info: log, warn: log, error: log },
  });
  c.goOnline();
  await omemo.ready();
  const outbox: { to: string; xml: string }[] = [];
  const bob = await OmemoManager.open({ jid: BOB, store: new MemoryStore(), transport: pep.transport(BOB, outbox) });
  const bytes = randomBytes(5000);
  c.sent.length = 0;
  const { file } = await omemo.sendFile(BOB, bytes, { name: 'notes.txt' });
  const out = c.sent.find((s) => s.name === 'message')!;
  assert.not.ok(out.toString().includes(file.aesgcmUrl().split('#')[1]!), 'no key in clear anywhere in the stanza');
  assert.not.ok(out.getChild('body')!.getText().includes('aesgcm'), 'the fallback body is not the link');
  const got = await bob.decrypt(ALICE, out.getChild('encrypted', NS_OMEMO2)!.toString());
  assert.is(got.text, file.aesgcmUrl());
  const received = FileDescriptor.fromAesgcmUrl(got.text!);
  assert.ok(Buffer.from(await collect(await downloadFile(received, { fetch: http.fetch }))).equals(bytes));

  // bob shares a link (and a text that merely contains one) with alice: only the first carries a file.
  const link = file.aesgcmUrl();
  for (const text of [`${link}\n`, `see ${link}`]) {
    const enc = await bob.encrypt([ALICE], text);
    c.receive(
      xml('message', { from: `${BOB}/pc`, to: `${ALICE}/phone`, type: 'chat' }, parseElement(enc.elements[0]!.xml)),
    );
    await omemo.idle();
  }
  assert.is(messages.length, 2);
  assert.is(messages[0]!.file?.url, file.url);
  assert.is(messages[0]!.file?.mediaType, 'text/plain');
  assert.not.ok(JSON.stringify(messages[0]!.file).includes(link.split('#')[1]!), 'no key in the JSON of message.file');
  assert.is(messages[1]!.file, undefined);
  const viaAdapter = await omemo.downloadFile(messages[0]!.file!);
  assert.ok(Buffer.from(await collect(viaAdapter)).equals(bytes));
  assert.ok(
    logs.some((l) => l.includes('"event":"file-uploaded"')),
    logs.join('\n'),
  );
  assert.not.ok(logs.join('\n').includes(link.split('#')[1]!), 'no key material in any log line');
});

test('downloadFile: https only unless allowHttp; redirects to http refused; 404, caps and tampering typed', async () => {
  const sealed = encryptFile(randomBytes(3000));
  const parts: Uint8Array[] = [];
  for await (const c of sealed.ciphertext) parts.push(c);
  const body = new Uint8Array(Buffer.concat(parts));
  const d = sealed.describe('https://files.example/f/a.bin');
  const asked: string[] = [];
  const serve =
    (opts: { url?: string; status?: number; length?: boolean; bytes?: Uint8Array } = {}): FetchLike =>
    async (url) => {
      asked.push(url);
      const b = opts.bytes ?? body;
      const r = new Response(b as BodyInit, {
        status: opts.status ?? 200,
        headers: opts.length === false ? {} : { 'content-length': String(b.length) },
      });
      if (opts.url !== undefined) Object.defineProperty(r, 'url', { value: opts.url });
      return r;
    };
  assert.is((await collect(await downloadFile(d, { fetch: serve() }))).length, 3000);
  assert.is(asked.pop(), 'https://files.example/f/a.bin');
  await collect(await downloadFile(d, { fetch: serve(), allowHttp: true }));
  assert.is(asked.pop(), 'http://files.example/f/a.bin');
  const redirected = await errorOf(downloadFile(d, { fetch: serve({ url: 'http://cdn.example/a' }) }));
  assert.ok(isOmemoError(redirected, 'file-transfer-failed'), String(redirected));
  assert.ok(await downloadFile(d, { fetch: serve({ url: 'https://cdn.example/a' }) }), 'https → https is fine');
  assert.ok(isOmemoError(await errorOf(downloadFile(d, { fetch: serve({ status: 404 }) })), 'file-transfer-failed'));
  assert.ok(isOmemoError(await errorOf(downloadFile(d, { fetch: serve(), maxBytes: 2999 })), 'file-too-large'));
  // Without Content-Length the count stops it while streaming.
  const counted = await errorOf(async () =>
    collect(await downloadFile(d, { fetch: serve({ length: false }), maxBytes: 100 })),
  );
  assert.ok(isOmemoError(counted, 'file-too-large'), String(counted));
  const tampered = body.slice();
  tampered[10]! ^= 4;
  const bad = await errorOf(async () => collect(await downloadFile(d, { fetch: serve({ bytes: tampered }) })));
  assert.ok(isOmemoError(bad, 'authentication-failed'), String(bad));
  const network: FetchLike = async () => {
    throw new TypeError('fetch failed');
  };
  assert.ok(isOmemoError(await errorOf(downloadFile(d, { fetch: network })), 'file-transfer-failed'));
  assert.instance(await errorOf(() => downloadFile({} as FileDescriptor)), TypeError);
  assert.instance(await errorOf(() => downloadFile(d, { maxBytes: -1 })), RangeError);
});

test.run();
