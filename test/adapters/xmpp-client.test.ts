// src/adapters (the @xmpp/client adapter) against a scripted client, no server: publish-options fallbacks,
// item retrieval, caps, message building, decryption paths (direct, carbons, archive) and what is refused.
// The same adapter against a real Prosody: prosody.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xml } from '@xmpp/client';
import { OmemoError } from '../../src/crypto/errors';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { NODE_OMEMO2_BUNDLES, NODE_OMEMO2_DEVICES, NS_OMEMO2 } from '../../src/omemo/versions/twomemo';
import { MAX_ITEMS_NUMERIC_FALLBACK } from '../../src/omemo/stanzas/publish-options';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import { capsVerification } from '../../src/adapters/entity-capabilities';
import { parseElement } from '../../src/adapters/ltx-xml';
import { createPepTransport } from '../../src/adapters/pep-transport';
import {
  createXmppClientOmemo,
  DEFAULT_FALLBACK_BODY,
  type OmemoChatMessage,
  type OmemoErrorContext,
  type XmppClientOmemo,
} from '../../src/adapters/xmpp-client';
import type { XmlElement } from '../../src/adapters/xmpp-types';
import { FakePep, FakeXmppClient, stanzaError } from './fake-xmpp-client';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const field = (iq: XmlElement, name: string) =>
  iq
    .getChild('pubsub')
    ?.getChild('publish-options')
    ?.getChild('x')
    ?.getChildren('field')
    .find((f) => f.attrs.var === name)
    ?.getChild('value')
    ?.getText();
const isPublish = (iq: XmlElement) =>
  iq.getChild('pubsub', 'http://jabber.org/protocol/pubsub')?.getChild('publish') !== undefined;
const isConfigure = (iq: XmlElement) =>
  iq.getChild('pubsub', 'http://jabber.org/protocol/pubsub#owner')?.getChild('configure') !== undefined;

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

test('publish: precondition-not-met → configure the node with the same options → publish again', async () => {
  const c = new FakeXmppClient(`${ALICE}/r`, new FakePep());
  let failed = false;
  c.responders.push((iq) =>
    isPublish(iq) && !failed ? ((failed = true), stanzaError('conflict', 'precondition-not-met')) : undefined,
  );
  const t = createPepTransport(c);
  await t.publish(NODE_OMEMO2_BUNDLES, '5', `<bundle xmlns="${NS_OMEMO2}"/>`, {
    'pubsub#access_model': 'open',
    'pubsub#max_items': 'max',
  });
  assert.equal(
    c.iqs.map((iq) => (isPublish(iq) ? 'publish' : isConfigure(iq) ? 'configure' : 'other')),
    ['publish', 'configure', 'publish'],
  );
  const form = c.iqs[1]!.getChild('pubsub')!.getChild('configure')!;
  assert.is(form.attrs.node, NODE_OMEMO2_BUNDLES);
  const values = Object.fromEntries(
    form
      .getChild('x')!
      .getChildren('field')
      .map((f) => [f.attrs.var, f.getChild('value')!.getText()]),
  );
  assert.equal(values, {
    FORM_TYPE: 'http://jabber.org/protocol/pubsub#node_config',
    'pubsub#access_model': 'open',
    'pubsub#max_items': 'max',
  });
  assert.is(c.pep.items(ALICE, NODE_OMEMO2_BUNDLES).get('5'), `<bundle xmlns="${NS_OMEMO2}"/>`);
  assert.not.ok(t.usesNumericMaxItems);
});

test('publish: a server refusing max_items=max gets the numeric fallback, from then on directly', async () => {
  const c = new FakeXmppClient(`${ALICE}/r`, new FakePep());
  c.responders.push((iq) =>
    isPublish(iq) && field(iq, 'pubsub#max_items') === 'max' ? stanzaError('not-acceptable') : undefined,
  );
  const t = createPepTransport(c);
  const options = { 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' };
  await t.publish(NODE_OMEMO2_BUNDLES, '5', `<bundle xmlns="${NS_OMEMO2}"/>`, options);
  assert.equal(
    c.iqs.map((iq) => field(iq, 'pubsub#max_items')),
    ['max', MAX_ITEMS_NUMERIC_FALLBACK],
  );
  assert.ok(t.usesNumericMaxItems);
  await t.publish(NODE_OMEMO2_BUNDLES, '5', `<bundle xmlns="${NS_OMEMO2}"/>`, options);
  assert.equal(
    c.iqs.map((iq) => field(iq, 'pubsub#max_items')),
    ['max', MAX_ITEMS_NUMERIC_FALLBACK, MAX_ITEMS_NUMERIC_FALLBACK],
  );
  // Nodes without max_items are never touched by the fallback.
  await t.publish(NODE_OMEMO2_DEVICES, 'current', `<devices xmlns="${NS_OMEMO2}"/>`, { 'pubsub#access_model': 'open' });
  assert.is(field(c.iqs[3]!, 'pubsub#max_items'), undefined);
});

test('publish: other errors propagate without retries; fetch: missing node or item is undefined', async () => {
  const c = new FakeXmppClient(`${ALICE}/r`, new FakePep());
  c.responders.push((iq) => (isPublish(iq) ? stanzaError('forbidden') : undefined));
  const t = createPepTransport(c);
  const e = await rejects(
    t.publish(NODE_OMEMO2_BUNDLES, '5', `<bundle xmlns="${NS_OMEMO2}"/>`, {
      'pubsub#access_model': 'open',
      'pubsub#max_items': 'max',
    }),
  );
  assert.is((e as { condition: string }).condition, 'forbidden');
  assert.is(c.iqs.length, 1);

  c.pep.items(BOB, NODE_OMEMO2_BUNDLES).set('7', `<bundle xmlns="${NS_OMEMO2}"><spk id="1">AA==</spk></bundle>`);
  assert.is(
    await t.fetch(BOB, NODE_OMEMO2_BUNDLES, '7'),
    `<bundle xmlns="${NS_OMEMO2}"><spk id="1">AA==</spk></bundle>`,
  );
  assert.is(await t.fetch(BOB, NODE_OMEMO2_BUNDLES, '8'), undefined, 'empty <items/> (what Prosody answers)');
  assert.is(await t.fetch(BOB, NODE_OMEMO2_DEVICES), undefined, 'item-not-found');
  assert.is(c.iqs[c.iqs.length - 1]!.getChild('pubsub')!.getChild('items')!.attrs.max_items, '1', 'newest item only');
  c.responders.push(() => stanzaError('remote-server-timeout'));
  assert.is(
    ((await rejects(t.fetch(BOB, NODE_OMEMO2_DEVICES))) as { condition: string }).condition,
    'remote-server-timeout',
  );
});

test('caps: the XEP-0115 §5.2 example verification string', async () => {
  const ver = await capsVerification(
    [{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }],
    [
      'http://jabber.org/protocol/caps',
      'http://jabber.org/protocol/disco#info',
      'http://jabber.org/protocol/disco#items',
      'http://jabber.org/protocol/muc',
    ],
  );
  assert.is(ver, 'QgayPKawpkPSDYmwT/WM94uAlu0=');
  await rejects(capsVerification([], ['a', 'a']));
});

test('parseElement: one complete element or a malformed-stanza error', () => {
  assert.is(
    parseElement('<a xmlns="x"><b c="&amp;">t&lt;</b><d/></a>').toString(),
    '<a xmlns="x"><b c="&amp;">t&lt;</b><d/></a>',
  );
  for (const bad of ['', 'text', '<a><b></a>', '<a>']) {
    let err: unknown;
    try {
      parseElement(bad);
    } catch (e) {
      err = e;
    }
    assert.instance(err, OmemoError, JSON.stringify(bad));
    assert.is((err as OmemoError).code, 'malformed-stanza');
  }
});

interface Setup {
  pep: FakePep;
  c: FakeXmppClient;
  omemo: XmppClientOmemo;
  messages: OmemoChatMessage[];
  errors: { error: Error; context: OmemoErrorContext }[];
  bob: OmemoManager;
  bobOutbox: { to: string; xml: string }[];
}

/** alice behind the fake client with the adapter; bob a plain manager on the same PEP service. */
async function setup(): Promise<Setup> {
  const pep = new FakePep();
  const c = new FakeXmppClient(`${ALICE}/phone`, pep);
  const messages: OmemoChatMessage[] = [];
  const errors: Setup['errors'] = [];
  const omemo = createXmppClientOmemo({
    client: c,
    store: new MemoryStore(),
    onMessage: (m) => void messages.push(m),
    onError: (error, context) => void errors.push({ error, context }),
  });
  c.goOnline();
  await omemo.ready();
  const bobOutbox: { to: string; xml: string }[] = [];
  const bob = await OmemoManager.open({ jid: BOB, store: new MemoryStore(), transport: pep.transport(BOB, bobOutbox) });
  return { pep, c, omemo, messages, errors, bob, bobOutbox };
}

const message = (from: string, encryptedXml: string, attrs: Record<string, string> = {}) =>
  xml('message', { from, to: `${ALICE}/phone`, type: 'chat', ...attrs }, parseElement(encryptedXml));
const wrap = (kind: 'received' | 'sent', from: string | undefined, inner: XmlElement) =>
  xml(
    'message',
    { from, to: `${ALICE}/phone` },
    xml(kind, { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, inner)),
  );

test('setup: publishes, enables carbons, presence with caps matching the disco#info answer', async () => {
  const { c, omemo } = await setup();
  assert.ok(c.pep.items(ALICE, NODE_OMEMO2_DEVICES).get('current')?.includes(`id="${omemo.manager.deviceId}"`));
  assert.ok(c.iqs.some((iq) => iq.getChild('enable', 'urn:xmpp:carbons:2') !== undefined));
  const presence = c.sent.find((s) => s.name === 'presence')!;
  const caps = presence.getChild('c', 'http://jabber.org/protocol/caps')!;
  assert.is(caps.attrs.hash, 'sha-1');
  const info = (await c.discoInfo(`${caps.attrs.node}#${caps.attrs.ver}`))!;
  assert.is(info.attrs.node, `${caps.attrs.node}#${caps.attrs.ver}`);
  const features = info.getChildren('feature').map((f) => f.attrs.var!);
  assert.ok(features.includes('urn:xmpp:omemo:2:devices+notify'));
  assert.ok(features.includes('eu.siacs.conversations.axolotl.devicelist+notify'));
  const identities = info.getChildren('identity').map((i) => ({
    category: i.attrs.category!,
    type: i.attrs.type!,
    ...(i.attrs.name ? { name: i.attrs.name } : {}),
  }));
  assert.is(await capsVerification(identities, features), caps.attrs.ver);
  assert.ok(await c.discoInfo(), 'plain disco#info is answered too');
  assert.is(await c.discoInfo('https://other.example#abc'), undefined, 'other nodes are passed on');
});

test('direct message: decrypted and delivered; the session-completion reply goes out with store hint, no body', async () => {
  const { c, omemo, messages, errors, bob } = await setup();
  const enc = await bob.encrypt([ALICE], 'hello alice');
  c.sent.length = 0;
  c.receive(message(`${BOB}/laptop`, enc.elements[0]!.xml));
  await omemo.idle();
  assert.equal(errors, []);
  assert.is(messages.length, 1);
  assert.is(messages[0]!.text, 'hello alice');
  assert.is(messages[0]!.from, BOB);
  assert.is(messages[0]!.peer, BOB);
  assert.is(messages[0]!.via, 'direct');
  const reply = c.sent.find((s) => s.name === 'message')!;
  assert.is(reply.attrs.to, BOB);
  assert.ok(reply.getChild('encrypted', NS_OMEMO2));
  assert.ok(reply.getChild('store', 'urn:xmpp:hints'));
  assert.is(reply.getChild('body'), undefined);
  const done = await bob.decrypt(ALICE, reply.getChild('encrypted', NS_OMEMO2)!.toString());
  assert.is(done.payload, undefined);

  // Our answer: fallback body, EME, store hint; bob decrypts it.
  c.sent.length = 0;
  const result = await omemo.send(BOB, 'hi bob');
  assert.ok(result.devices.every((d) => d.ok));
  const out = c.sent[0]!;
  assert.is(out.getChild('body')!.getText(), DEFAULT_FALLBACK_BODY);
  assert.is(out.getChild('encryption', 'urn:xmpp:eme:0')!.attrs.namespace, NS_OMEMO2);
  assert.ok(out.getChild('store', 'urn:xmpp:hints'));
  assert.is((await bob.decrypt(ALICE, out.getChild('encrypted', NS_OMEMO2)!.toString())).text, 'hi bob');

  // The same stanza again (offline store + archive) fails quietly.
  c.receive(message(`${BOB}/laptop`, enc.elements[0]!.xml));
  await omemo.idle();
  assert.equal(errors, []);
  assert.is(messages.length, 1);
});

test('send: a recipient that cannot read the message gets nothing; every recipient is reported', async () => {
  const { c, omemo, bob } = await setup();
  await bob.publish();
  c.sent.length = 0;
  assert.equal(((await rejects(omemo.send('eve@example.org', 'x'))) as OmemoError).code, 'no-omemo');
  assert.equal(((await rejects(omemo.send('bad@@jid', 'x'))) as OmemoError).code, 'invalid-jid');
  assert.is(c.sent.filter((s) => s.name === 'message').length, 0, 'a refused send sends nothing');
  const r = await omemo.send([BOB, 'eve@example.org', 'bad@@jid'], 'partial', { partial: true });
  assert.equal(
    r.recipients.map((x) => [x.jid, x.ok, x.error]),
    [
      [BOB, true, undefined],
      ['eve@example.org', false, 'no-omemo'],
      ['bad@@jid', false, 'invalid-jid'],
    ],
  );
  assert.equal(
    c.sent.filter((s) => s.name === 'message').map((s) => s.attrs.to),
    [BOB],
    'only bob, who can read it, gets a stanza',
  );
  c.sent.length = 0;
  const none = await omemo.send(['eve@example.org'], 'nobody', { partial: true });
  assert.equal(none.elements, []);
  assert.is(c.sent.filter((s) => s.name === 'message').length, 0);
});

test('a 1000-key message not for this device is refused without decrypting; ours decrypts from the element', async () => {
  const { c, omemo, messages, errors, bob } = await setup();
  const manager = omemo.manager;
  const real = manager.decrypt.bind(manager);
  const inputs: unknown[] = [];
  manager.decrypt = ((from, encrypted, options) => {
    inputs.push(encrypted);
    return real(from, encrypted, options);
  }) as typeof manager.decrypt;
  const keys = Array.from({ length: 1000 }, (_, i) => `<key rid="${1_000_000 + i}">AAAAAAAAAAAAAAAAAAAAAA==</key>`);
  const big = `<encrypted xmlns="${NS_OMEMO2}"><header sid="99"><keys jid="${ALICE}">${keys.join('')}</keys></header><payload>AAAA</payload></encrypted>`;
  c.receive(message(`${BOB}/laptop`, big));
  await omemo.idle();
  assert.equal(inputs, [], 'the manager never saw it');
  assert.equal(
    errors.map((e) => (e.error as OmemoError).code),
    ['message-not-for-us'],
  );
  errors.length = 0;
  // A message for us goes to the manager as the parsed element, not as text to parse again.
  c.receive(message(`${BOB}/laptop`, (await bob.encrypt([ALICE], 'parsed once')).elements[0]!.xml));
  await omemo.idle();
  assert.equal(errors, []);
  assert.is(messages.at(-1)?.text, 'parsed once');
  assert.is(inputs.length, 1);
  assert.is(typeof inputs[0], 'object');
});

test('carbons: received/sent carbons from our account are decrypted; forged ones are reported, not delivered', async () => {
  const { c, omemo, messages, errors, bob } = await setup();
  const first = await bob.encrypt([ALICE], 'via carbon');
  c.receive(wrap('received', ALICE, message(`${BOB}/laptop`, first.elements[0]!.xml, { to: `${ALICE}/tablet` })));
  await omemo.idle();
  assert.equal(
    messages.map((m) => [m.via, m.text, m.from]),
    [['carbon-received', 'via carbon', BOB]],
  );

  const forged = await bob.encrypt([ALICE], 'forged');
  c.receive(wrap('received', 'mallory@evil.example', message(`${BOB}/laptop`, forged.elements[0]!.xml)));
  c.receive(wrap('sent', `${BOB}/laptop`, message(`${BOB}/laptop`, forged.elements[0]!.xml)));
  await omemo.idle();
  assert.is(messages.length, 1);
  assert.equal(
    errors.map((e) => [(e.error as OmemoError).code, e.context.phase]),
    [
      ['malformed-stanza', 'stanza'],
      ['malformed-stanza', 'stanza'],
    ],
  );

  // A message another device of ours sent to bob: decrypted with our own JID as the sender.
  const peerOfOurs = await OmemoManager.open({
    jid: ALICE,
    store: new MemoryStore(),
    transport: c.pep.transport(ALICE, []),
  });
  await omemo.manager.setDeviceList(ALICE, 'twomemo', [omemo.manager.deviceId, peerOfOurs.deviceId]);
  const mine = await peerOfOurs.encrypt([BOB], 'sent from my tablet');
  c.receive(
    wrap(
      'sent',
      ALICE,
      xml('message', { from: `${ALICE}/tablet`, to: BOB, type: 'chat' }, parseElement(mine.elements[0]!.xml)),
    ),
  );
  await omemo.idle();
  assert.equal(
    messages.slice(1).map((m) => [m.via, m.text, m.from, m.peer]),
    [['carbon-sent', 'sent from my tablet', ALICE, BOB]],
  );
  assert.is(errors.length, 2);
});

test('device-list events update the manager; bad ones are reported; retractions are ignored', async () => {
  const { c, omemo, errors } = await setup();
  const event = (from: string, node: string, item: string) =>
    `<message from="${from}" type="headline"><event xmlns="http://jabber.org/protocol/pubsub#event"><items node="${node}">${item}</items></event></message>`;
  const seen: string[] = [];
  omemo.on('device-list', (e) => void seen.push(`${e.jid} ${e.version}`));
  c.receive(
    event(
      'carol@example.org',
      NODE_OMEMO2_DEVICES,
      `<item id="current"><devices xmlns="${NS_OMEMO2}"><device id="42"/><device id="43"/></devices></item>`,
    ),
  );
  await omemo.idle();
  assert.equal((await omemo.manager.devices('carol@example.org')).map((d) => d.deviceId).sort(), [42, 43]);
  assert.equal(seen, ['carol@example.org twomemo']);
  c.receive(event('carol@example.org', NODE_OMEMO2_DEVICES, '<retract id="current"/>'));
  c.receive(
    event(
      'carol@example.org',
      NODE_OMEMO2_DEVICES,
      `<item id="current"><devices xmlns="${NS_OMEMO2}"><device id="zero"/></devices></item>`,
    ),
  );
  await omemo.idle();
  assert.equal(
    (await omemo.manager.devices('carol@example.org'))
      .filter((d) => d.activeIn.length)
      .map((d) => d.deviceId)
      .sort(),
    [42, 43],
  );
  assert.equal(
    errors.map((e) => [(e.error as OmemoError).code, e.context.phase, e.context.from]),
    [['malformed-stanza', 'device-list', 'carol@example.org']],
  );

  // Our own list without us: the manager puts us back (XEP-0384 §4.2).
  c.receive(
    event(
      ALICE,
      NODE_OMEMO2_DEVICES,
      `<item id="current"><devices xmlns="${NS_OMEMO2}"><device id="7"/></devices></item>`,
    ),
  );
  await omemo.idle();
  assert.ok(c.pep.items(ALICE, NODE_OMEMO2_DEVICES).get('current')!.includes(`id="${omemo.manager.deviceId}"`));
});

test('catchUp: pages through the archive, keeps consumed pre keys until the end, ignores foreign results', async () => {
  const { c, omemo, messages, errors, bob } = await setup();
  // 60 archived messages (more than one MAM page), the first a key exchange.
  for (let i = 0; i < 60; i++) {
    const enc = await bob.encrypt([ALICE], `archived ${i}`);
    c.archive.push({ id: `arch-${i}`, message: message(`${BOB}/laptop`, enc.elements[0]!.xml) });
  }
  const preKeysBefore = omemo.manager.preKeyIds().length;
  let catchingUpDuringDecrypt = false;
  omemo.on('message', () => {
    catchingUpDuringDecrypt ||= omemo.manager.isCatchingUp;
  });
  // A result for our query id from someone else's "archive" must be ignored.
  c.responders.push((iq) => {
    const q = iq.getChild('query', 'urn:xmpp:mam:2');
    if (q !== undefined && !iq.getChild('query')!.getChild('set')!.getChild('after')) {
      c.receive(
        xml(
          'message',
          { from: 'mallory@evil.example' },
          xml('result', { xmlns: 'urn:xmpp:mam:2', queryid: q.attrs.queryid, id: 'x' }),
        ),
      );
    }
    return undefined;
  });
  const r = await omemo.catchUp();
  assert.equal(
    { processed: r.processed, delivered: r.delivered, last: r.last, complete: r.complete },
    { processed: 60, delivered: 60, last: 'arch-59', complete: true },
  );
  assert.is(c.iqs.filter((iq) => iq.getChild('query', 'urn:xmpp:mam:2')).length, 2);
  assert.equal(
    messages.map((m) => m.text),
    Array.from({ length: 60 }, (_, i) => `archived ${i}`),
  );
  assert.ok(
    messages.every((m) => m.via === 'archive' && m.archiveId !== undefined && m.delay === '2024-01-01T00:00:00Z'),
  );
  assert.ok(catchingUpDuringDecrypt);
  assert.not.ok(omemo.manager.isCatchingUp);
  assert.is(omemo.manager.preKeyIds().length, preKeysBefore, 'the consumed pre key was replaced at the end');
  assert.equal(
    errors.map((e) => e.error.message),
    ['archive result from mallory@evil.example, not from our account'],
  );

  // A bounded catch-up stops early (complete: false); only one catch-up at a time.
  const bounded = omemo.catchUp({ maxMessages: 10 });
  assert.instance(await rejects(omemo.catchUp()), TypeError);
  assert.equal(await bounded, { processed: 10, delivered: 0, last: 'arch-9', complete: false });
  assert.is(messages.length, 60, 'the archived messages again are duplicates: quiet');

  // A failing archive query is an OmemoError, and the catch-up still ends.
  c.responders.push((iq) => (iq.getChild('query', 'urn:xmpp:mam:2') ? stanzaError('forbidden') : undefined));
  const e = await rejects(omemo.catchUp());
  assert.instance(e, OmemoError);
  assert.is((e as OmemoError).code, 'transport-error');
  assert.not.ok(omemo.manager.isCatchingUp);
});

test('setup failure: ready() rejects with a typed error, reported once, no unhandled rejection; retried on reconnect', async () => {
  const pep = new FakePep();
  const c = new FakeXmppClient(`${ALICE}/phone`, pep);
  const errors: Error[] = [];
  let fail = true;
  c.responders.push((iq) => (fail && isPublish(iq) ? stanzaError('forbidden') : undefined));
  const omemo = createXmppClientOmemo({ client: c, store: new MemoryStore(), onError: (e) => void errors.push(e) });
  c.goOnline();
  const e = await rejects(omemo.ready());
  assert.instance(e, OmemoError);
  assert.is((e as OmemoError).code, 'transport-error');
  assert.is(errors.length, 1);
  assert.throws(() => omemo.manager, TypeError);
  fail = false;
  c.goOnline();
  const manager = await omemo.ready();
  assert.is(omemo.manager, manager);
});

test('connection failure before online: ready() rejects (login-failed, connection-failed); a later online heals', async () => {
  const sasl = Object.assign(new Error('not-authorized - Unable to authorize you'), {
    name: 'SASLError',
    condition: 'not-authorized',
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  for (const [error, code, text] of [
    [sasl, 'login-failed', 'login failed: not-authorized'],
    [refused, 'connection-failed', 'connecting failed: connect ECONNREFUSED 127.0.0.1:1'],
  ] as const) {
    const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
    const omemo = createXmppClientOmemo({ client: c, store: new MemoryStore() });
    c.emit('error', error);
    const e = await rejects(omemo.ready());
    assert.instance(e, OmemoError);
    assert.is((e as OmemoError).code, code);
    assert.is((e as Error).message, text);
    assert.is((e as OmemoError).cause, error);
    c.emit('error', error); // the client retrying: still rejected, no unhandled rejection
    await rejects(omemo.ready());
    c.goOnline(); // the caller let it reconnect
    const manager = await omemo.ready();
    c.emit('error', new Error('stream closed later')); // after success: not ready()'s business
    assert.is(await omemo.ready(), manager);
    omemo.detach();
    assert.is(c.listenerCount('error'), 0, 'detach removes the listener');
  }
});

test('setup: a failure after the manager opened is retried on reconnect; overlapping onlines open one manager', async () => {
  const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
  const realSend = c.send.bind(c);
  let failPresence = true;
  c.send = async (el) => {
    if (el.name === 'presence' && failPresence) throw new Error('socket closed');
    return realSend(el);
  };
  const errors: Error[] = [];
  const omemo = createXmppClientOmemo({ client: c, store: new MemoryStore(), onError: (e) => void errors.push(e) });
  c.goOnline();
  assert.is(((await rejects(omemo.ready())) as OmemoError).code, 'transport-error');
  failPresence = false;
  c.goOnline();
  c.goOnline();
  const manager = await omemo.ready();
  await omemo.ready();
  assert.is(
    c.iqs.filter((iq) => isPublish(iq) && iq.getChild('pubsub')!.getChild('publish')!.attrs.node!.includes('bundles'))
      .length,
    2,
    'one bundle per version, published once',
  );
  assert.is(c.sent.filter((s) => s.name === 'presence').length, 2, 'presence on each successful online');
  assert.is(omemo.manager, manager);
  assert.is(errors.length, 1);
});

test('acceptSubscriptions (deprecated): a subscription request is approved and asked back; off by default', async () => {
  const answers = async (acceptSubscriptions: boolean) => {
    const c = new FakeXmppClient(`${ALICE}/phone`, new FakePep());
    const omemo = createXmppClientOmemo({ client: c, store: new MemoryStore(), acceptSubscriptions });
    c.goOnline();
    await omemo.ready();
    c.receive(xml('presence', { from: 'carol@example.org/laptop', type: 'subscribe' }));
    c.receive(xml('presence', { from: 'carol@example.org/laptop', type: 'unsubscribe' }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    omemo.detach();
    c.receive(xml('presence', { from: 'dave@example.org', type: 'subscribe' }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    return c.sent.filter((s) => s.name === 'presence' && s.attrs.type).map((s) => `${s.attrs.type} ${s.attrs.to}`);
  };
  assert.equal(await answers(true), ['subscribed carol@example.org', 'subscribe carol@example.org']);
  assert.equal(await answers(false), []);
});

test('options are checked', () => {
  assert.throws(() => createXmppClientOmemo({ client: {} as never, store: new MemoryStore() }), TypeError);
  assert.throws(
    () => createXmppClientOmemo({ client: new FakeXmppClient(`${ALICE}/r`, new FakePep()), store: undefined as never }),
    TypeError,
  );
});

test.run();
