// The XMPP-agnostic room model (src/omemo/rooms/room.ts): members from affiliation lists and presences, the
// nick → real JID map, and the bounded record of our sent messages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OmemoRoom, ROOM_SENT_MESSAGES_KEPT } from '../../../src/omemo/rooms/room';

const ROOM = 'team@conference.example.org';
const ME = 'bot@example.org';

test('members come from affiliation lists and presences, never include us, and follow removals', () => {
  const room = new OmemoRoom(`${ROOM}/ignored`, `${ME}/res`);
  assert.is(room.jid, ROOM);
  assert.equal(room.setAffiliationList('owner', ['alice@example.org']), ['alice@example.org']);
  assert.equal(room.setAffiliationList('member', ['bob@example.org', `${ME}/x`, 'carol@example.org/phone']), [
    'bob@example.org',
    ME,
    'carol@example.org',
  ]);
  assert.equal(room.members().sort(), ['alice@example.org', 'bob@example.org', 'carol@example.org']);
  // A new member list drops bob; an admin list does not touch the members.
  assert.equal(room.setAffiliationList('member', ['carol@example.org', ME]), ['bob@example.org']);
  room.setAffiliationList('admin', []);
  assert.equal(room.members().sort(), ['alice@example.org', 'carol@example.org']);
  // A presence with a real JID and affiliation adds a member; an unavailable one with affiliation none removes it.
  assert.is(room.occupantPresent('dave', 'dave@example.org/laptop', 'member'), true);
  assert.is(room.realJidOf('dave'), 'dave@example.org');
  assert.ok(room.isMember('dave@example.org'));
  assert.is(room.occupantLeft('dave', 'none'), true);
  assert.not.ok(room.isMember('dave@example.org'));
  assert.is(room.realJidOf('dave'), undefined);
  // An occupant without affiliation (e.g. a moderator-visible visitor) is no member; an outcast loses membership.
  assert.is(room.occupantPresent('eve', 'eve@example.org', 'none'), false);
  assert.not.ok(room.isMember('eve@example.org'));
  assert.is(room.setAffiliation('carol@example.org', 'outcast'), true);
  assert.equal(room.members(), ['alice@example.org']);
  assert.throws(() => room.setAffiliation('x@example.org', 'visitor' as never), TypeError);
});

test('nicks map to real JIDs only as the room told; renames follow', () => {
  const room = new OmemoRoom(ROOM, ME);
  room.occupantPresent('anon', undefined, 'member');
  assert.is(room.realJidOf('anon'), undefined);
  assert.equal(room.members(), []);
  room.occupantPresent('al', 'alice@example.org/a', 'member');
  room.occupantRenamed('al', 'alice');
  assert.is(room.realJidOf('al'), undefined);
  assert.is(room.realJidOf('alice'), 'alice@example.org');
  room.clearOccupants();
  assert.is(room.realJidOf('alice'), undefined);
  assert.equal(room.members(), ['alice@example.org'], 'leaving keeps the member list');
});

test(`our sent messages are remembered by origin-id, at most ROOM_SENT_MESSAGES_KEPT (${ROOM_SENT_MESSAGES_KEPT})`, () => {
  const room = new OmemoRoom(ROOM, ME);
  for (let i = 0; i <= ROOM_SENT_MESSAGES_KEPT; i++) room.recordSent({ originId: `id${i}`, text: `text ${i}` });
  assert.is(room.sentMessage('id0'), undefined, 'the oldest is forgotten');
  assert.equal(room.sentMessage('id1'), { originId: 'id1', text: 'text 1' });
  assert.equal(room.sentMessage(`id${ROOM_SENT_MESSAGES_KEPT}`)?.text, `text ${ROOM_SENT_MESSAGES_KEPT}`);
  assert.is(room.sentMessage(undefined), undefined);
  assert.is(room.sentMessage('never'), undefined);
});

test.run();
