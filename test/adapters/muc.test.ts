// The adapter's group-chat plugins (src/adapters/muc.ts, muc-messages.ts) against a scripted client: rooms that
// are refused before we join, real JIDs only from the room (never from what an occupant writes in its message),
// archived messages with conflicting real JIDs refused, presences and affiliation announcements followed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xml } from '@xmpp/client';
import { isOmemoError } from '../../src/crypto/errors';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import { OmemoRoom } from '../../src/omemo/rooms/room';
import { encryptToRoom } from '../../src/omemo/rooms/room-messages';
import { parseElement } from '../../src/adapters/ltx-xml';
import { createXmppClientOmemo, type OmemoChatMessage, type OmemoErrorContext } from '../../src/adapters/xmpp-client';
import type { XmlElement } from '../../src/adapters/xmpp-types';
import { FakePep, FakeXmppClient } from './fake-xmpp-client';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const ROOM = 'team@conference.example.org';
const MUC_USER = 'http://jabber.org/protocol/muc#user';

const occupant = (nick: string, jid: string | undefined, extra: XmlElement[] = [], attrs = {}) =>
  xml(
    'presence',
    { from: `${ROOM}/${nick}`, to: `${ALICE}/phone`, ...attrs },
    xml('x', { xmlns: MUC_USER }, xml('item', { affiliation: 'member', role: 'participant', jid }), ...extra),
  );

/** alice behind the fake client, a room service answering disco#info with `features`, bob a plain manager. */
async function setup(features: string[]) {
  const pep = new FakePep();
  const c = new FakeXmppClient(`${ALICE}/phone`, pep);
  const messages: OmemoChatMessage[] = [];
  const errors: { error: Error; context: OmemoErrorContext }[] = [];
  c.responders.push((iq) => {
    const result = (...children: XmlElement[]) => xml('iq', { type: 'result', id: iq.attrs.id }, ...children);
    if (iq.attrs.to !== ROOM) return undefined;
    const query = iq.getChildElements()[0]!;
    if (query.attrs.xmlns === 'http://jabber.org/protocol/disco#info')
      return result(xml('query', { xmlns: query.attrs.xmlns }, ...features.map((f) => xml('feature', { var: f }))));
    if (query.attrs.xmlns === 'http://jabber.org/protocol/muc#admin') {
      const affiliation = query.getChild('item')!.attrs.affiliation;
      const jids = affiliation === 'member' ? [BOB, ALICE] : [];
      return result(
        xml('query', { xmlns: query.attrs.xmlns }, ...jids.map((jid) => xml('item', { affiliation, jid }))),
      );
    }
    return undefined;
  });
  const send = c.send.bind(c);
  c.send = async (el: XmlElement) => {
    await send(el);
    // The room answers a join with the occupants, then our own presence (status 110).
    if (el.name === 'presence' && el.attrs.to === `${ROOM}/alice` && el.attrs.type === undefined) {
      setTimeout(() => {
        c.receive(occupant('bob', `${BOB}/laptop`));
        c.receive(occupant('alice', `${ALICE}/phone`, [xml('status', { code: '110' })]));
      }, 1);
    }
  };
  const omemo = createXmppClientOmemo({
    client: c,
    store: new MemoryStore(),
    onMessage: (m) => void messages.push(m),
    onError: (error, context) => void errors.push({ error, context }),
  });
  c.goOnline();
  await omemo.ready();
  const bob = await OmemoManager.open({ jid: BOB, store: new MemoryStore(), transport: pep.transport(BOB, []) });
  return { c, omemo, messages, errors, bob };
}

test('rooms that are anonymous or open are refused with room-not-eligible, without joining them', async () => {
  for (const features of [
    ['muc_membersonly', 'muc_semianonymous'],
    ['muc_open', 'muc_nonanonymous'],
  ]) {
    const { c, omemo } = await setup(features);
    let error: unknown;
    await omemo.joinRoom(ROOM, { nick: 'alice' }).catch((e: unknown) => (error = e));
    assert.ok(isOmemoError(error, 'room-not-eligible'), String(error));
    assert.is(c.sent.filter((s) => s.name === 'presence' && s.attrs.to?.startsWith(ROOM)).length, 0);
    assert.is(omemo.room(ROOM), undefined);
  }
});

test('groupchat: decrypted with the real JID from the presence; never with one the sender wrote itself', async () => {
  const { c, omemo, messages, errors, bob } = await setup(['muc_membersonly', 'muc_nonanonymous']);
  const room = await omemo.joinRoom(ROOM, { nick: 'alice' });
  assert.equal(room.members(), [BOB]);
  assert.is(room.realJidOf('bob'), BOB);
  // bob's device list and bundle were fetched when we joined (bob is no contact): encrypt to him right away.
  const bobRoom = new OmemoRoom(ROOM, BOB);
  bobRoom.setAffiliation(ALICE, 'member');
  const fromBob = await encryptToRoom(bob, bobRoom, 'hi room', { originId: 'b-1' });
  const groupchat = (nick: string, extra: XmlElement[] = []) =>
    xml(
      'message',
      { from: `${ROOM}/${nick}`, to: `${ALICE}/phone`, type: 'groupchat' },
      parseElement(fromBob.elements[0]!.xml),
      ...extra,
    );
  // mallory has no presence; she claims bob's real JID in her own <x>: reported, not delivered, not guessed.
  c.receive(groupchat('mallory', [xml('x', { xmlns: MUC_USER }, xml('item', { jid: BOB }))]));
  await omemo.idle();
  assert.equal(messages, []);
  assert.ok(isOmemoError(errors[0]?.error, 'unknown-real-jid'), String(errors[0]?.error));
  errors.length = 0;
  c.receive(groupchat('bob'));
  await omemo.idle();
  assert.equal(errors, []);
  assert.is(messages[0]?.text, 'hi room');
  assert.is(messages[0]?.via, 'groupchat');
  assert.is(messages[0]?.realJid, BOB);
  assert.is(messages[0]?.nick, 'bob');
  assert.is(messages[0]?.room, ROOM);
  assert.is(messages[0]?.peer, ROOM);

  // Our own message, reflected by the room: returned as ours with its text (this device has no key in it).
  const sent = await omemo.sendToRoom(ROOM, 'mine');
  const out = c.sent.filter((s) => s.name === 'message' && s.attrs.type === 'groupchat').pop()!;
  assert.is(out.attrs.to, ROOM);
  const originId = out.getChild('origin-id', 'urn:xmpp:sid:0')!.attrs.id!;
  assert.ok(
    out.getChild('store', 'urn:xmpp:hints') && out.getChild('encryption', 'urn:xmpp:eme:0') && out.getChild('body'),
  );
  assert.ok(sent.elements.length > 0);
  const reflection = xml('message', { from: `${ROOM}/alice`, type: 'groupchat' }, ...out.getChildElements());
  c.receive(reflection);
  await omemo.idle();
  const own = messages.find((m) => m.reflected);
  assert.ok(own, `reflection for ${originId}`);
  assert.is(own!.text, 'mine');
  assert.is(own!.from, ALICE);
  // bob leaves and is removed from the member list (status 321): he is no member any more.
  c.receive(occupant('bob', `${BOB}/laptop`, [xml('status', { code: '321' })], { type: 'unavailable' }));
  assert.is(room.realJidOf('bob'), undefined);
  // The unavailable item says affiliation member in this script; an announcement from the room removes him.
  c.receive(
    xml('message', { from: ROOM }, xml('x', { xmlns: MUC_USER }, xml('item', { jid: BOB, affiliation: 'none' }))),
  );
  assert.equal(room.members(), []);

  // Nobody left to read it: refused rather than sent without a key for anyone.
  let error: unknown;
  await omemo.sendToRoom(ROOM, 'alone', { partial: true }).catch((e: unknown) => (error = e));
  assert.ok(isOmemoError(error, 'no-eligible-devices'), String(error));
  assert.equal(errors, []);
});

test('room archive: the real JID the archive adds counts; two different ones (a forged <x>) are refused', async () => {
  const { c, omemo, messages, errors, bob } = await setup(['muc_membersonly', 'muc_nonanonymous']);
  await omemo.joinRoom(ROOM, { nick: 'alice' });
  const bobRoom = new OmemoRoom(ROOM, BOB);
  bobRoom.setAffiliation(ALICE, 'member');
  const e1 = await encryptToRoom(bob, bobRoom, 'archived one', { originId: 'b-1' });
  const e2 = await encryptToRoom(bob, bobRoom, 'archived two', { originId: 'b-2' });
  const archived = (nick: string, enc: string, jids: string[]) =>
    xml(
      'message',
      { from: `${ROOM}/${nick}`, type: 'groupchat' },
      parseElement(enc),
      ...jids.map((jid) => xml('x', { xmlns: MUC_USER }, xml('item', { jid }))),
    );
  c.archive = [
    { id: 'a1', message: archived('someone', e1.elements[0]!.xml, [`${BOB}/laptop`]) },
    { id: 'a2', message: archived('bob', e2.elements[0]!.xml, [`mallory@example.org`, BOB]) },
  ];
  // The fake answers from our own account; a room archive answers from the room: rewrite its results.
  const receive = c.receive.bind(c);
  c.receive = (stanza) => {
    const el = typeof stanza === 'string' ? parseElement(stanza) : stanza;
    if (el.getChild('result', 'urn:xmpp:mam:2') !== undefined) el.attrs.from = ROOM;
    receive(el);
  };
  const result = await omemo.catchUp({ room: ROOM });
  assert.is(result.processed, 2);
  assert.equal(
    messages.map((m) => [m.text, m.via, m.realJid, m.room]),
    [['archived one', 'archive', BOB, ROOM]],
  );
  assert.equal(
    errors.map((e) => (e.error as { code?: string }).code),
    ['unknown-real-jid'],
  );
  const query = c.iqs.find((iq) => iq.getChild('query', 'urn:xmpp:mam:2') !== undefined)!;
  assert.is(query.attrs.to, ROOM);
});

test('after a reconnect the rooms we were in are joined again and their member lists read again', async () => {
  const { c, omemo } = await setup(['muc_membersonly', 'muc_nonanonymous']);
  await omemo.joinRoom(ROOM, { nick: 'alice' });
  const joins = () => c.sent.filter((s) => s.name === 'presence' && s.attrs.to === `${ROOM}/alice`).length;
  const lists = () => c.iqs.filter((iq) => iq.getChild('query', 'http://jabber.org/protocol/muc#admin')).length;
  assert.is(joins(), 1);
  const listsBefore = lists();
  c.goOnline();
  await new Promise((r) => setTimeout(r, 50));
  assert.is(joins(), 2);
  assert.is(lists(), listsBefore + 3, 'owner, admin and member lists again');
  assert.is(omemo.room(ROOM)?.realJidOf('bob'), BOB);
});
test('a room that becomes semi-anonymous (status 173) is checked again and refused from then on', async () => {
  const features = ['muc_membersonly', 'muc_nonanonymous'];
  const { c, omemo } = await setup(features);
  await omemo.joinRoom(ROOM, { nick: 'alice' });
  await omemo.sendToRoom(ROOM, 'still fine');
  features.splice(1, 1, 'muc_semianonymous');
  c.receive(
    xml('message', { from: ROOM, type: 'groupchat' }, xml('x', { xmlns: MUC_USER }, xml('status', { code: '173' }))),
  );
  let error: unknown;
  await omemo.sendToRoom(ROOM, 'not any more').catch((e: unknown) => (error = e));
  assert.ok(isOmemoError(error, 'room-not-eligible'), String(error));
  // Back to non-anonymous (172): sending works again.
  features.splice(1, 1, 'muc_nonanonymous');
  c.receive(
    xml('message', { from: ROOM, type: 'groupchat' }, xml('x', { xmlns: MUC_USER }, xml('status', { code: '172' }))),
  );
  await omemo.sendToRoom(ROOM, 'fine again');
});

test.run();
