// OMEMO echo bot: answers every encrypted message with the same text, encrypted (both OMEMO versions), in chats
// and in the group chats it is invited to (members-only, non-anonymous rooms; XEP-0045 and XEP-0249 invitations).
//   npm run bot -- --service xmpp://127.0.0.1:5222 --jid bot@localhost --password secret [--store file.sqlite]
//     [--verbose]
// Its identity, sessions and trust live in a SQLite file (default ~/.omemo-wasm/<jid>.sqlite), so it keeps its
// device and conversations across restarts. Prints "ready" with its device id and fingerprint once online.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { client, xml } from '@xmpp/client';
import { createXmppClientOmemo, type OmemoChatMessage, type XmlElement } from '../src/adapters/xmpp-client';
import { formatFingerprint, type LogFields, type OmemoLogger } from '../src/index';
import { SqliteStore } from '../src/sqlite';

const { values: args } = parseArgs({
  options: {
    service: { type: 'string', default: 'xmpp://127.0.0.1:5222' },
    jid: { type: 'string' },
    password: { type: 'string' },
    store: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
if (!args.jid?.includes('@') || args.password === undefined) {
  console.error(
    'usage: npm run bot -- --service xmpp://host:5222 --jid bot@example.org --password secret [--store file.sqlite] [--verbose]',
  );
  process.exit(2);
}
const [username, domain] = args.jid.split('@') as [string, string];
const file = args.store ?? join(homedir(), '.omemo-wasm', `${args.jid}.sqlite`);
mkdirSync(dirname(file), { recursive: true });
const store = await SqliteStore.open(file, { jid: args.jid });

const xmpp = client({ service: args.service!, domain, username, password: args.password, resource: 'echo-bot' });
let online = false; // before that, a failure is omemo.ready()'s to tell, in one line
xmpp.on('error', (e: Error) => online && console.error(`xmpp: ${e.message}`));

// Contacts who add the bot get their subscription approved and a request back (RFC 6121 §3.1.3–3.1.4): then the
// server pushes device-list updates both ways. Presence is the application's business, not OMEMO's.
function approveSubscriptions(stanza: XmlElement): void {
  if (stanza.name !== 'presence' || stanza.attrs.type !== 'subscribe' || !stanza.attrs.from) return;
  const contact = stanza.attrs.from.split('/')[0]!;
  const answer = (type: 'subscribed' | 'subscribe') => xmpp.send(xml('presence', { to: contact, type }));
  answer('subscribed')
    .then(() => answer('subscribe'))
    .catch((e: Error) => console.error(`answering ${contact}'s subscription failed: ${e.message}`));
}
xmpp.on('stanza', approveSubscriptions);

// --verbose: what the library does, one line per event on stderr ("info session-built jid=… deviceId=…").
const line =
  (level: string) =>
  (message: string, fields: LogFields): void => {
    const { event, ...rest } = fields;
    const kv = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    console.error([level, event, ...kv].join(' '), `(${message})`);
  };
const logger: OmemoLogger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };

const omemo = createXmppClientOmemo({
  client: xmpp,
  store,
  ...(args.verbose ? { logger } : {}),
  onMessage: async (m) => {
    if (m.via === 'groupchat') return answerInRoom(m);
    if (m.via !== 'direct' || m.text === undefined) return; // not our own carbons, nothing that is not text
    // The library returns messages from undecided keys marked as such; a bot acts only on trusted ones (its answer
    // could not reach an undecided key anyway). A new key of a known device is a new fingerprint: say so.
    if (m.result.identityChanged)
      console.error(
        `${m.from}/${m.result.sender.deviceId} has a new identity key ${m.result.identityChanged.fingerprint}`,
      );
    if (m.result.trust !== 'blind' && m.result.trust !== 'verified') return;
    await omemo.send(m.from, m.text);
  },
  onError: (e, context) => console.error(`${context.phase}${context.from ? ` (${context.from})` : ''}: ${e.message}`),
});

// In a room: every member's message from a trusted key, never our own (reflected, or from another device of ours).
async function answerInRoom(m: OmemoChatMessage): Promise<void> {
  if (m.reflected || m.realJid === omemo.jid || m.text === undefined || m.room === undefined) return;
  if (m.result.trust !== 'blind' && m.result.trust !== 'verified') return;
  await omemo.sendToRoom(m.room, m.text, { partial: true }); // a member without OMEMO does not silence the room
}

// Invited to a room: join it; rooms where OMEMO is not used (anonymous or open) are refused with a typed error.
omemo.on('invitation', (invitation) => {
  omemo
    .joinRoom(invitation.room, { nick: 'echo-bot', ...(invitation.password ? { password: invitation.password } : {}) })
    .then((room) => console.log(`joined ${room.jid} (${room.members().length} members)`))
    .catch((e: Error) => console.error(`not joining ${invitation.room}: ${e.message}`));
});

xmpp.start().catch(() => undefined); // its failure is also ready()'s, as a typed OmemoError
let manager: Awaited<ReturnType<typeof omemo.ready>>;
try {
  manager = await omemo.ready();
} catch (e) {
  // login-failed (wrong password), connection-failed (no server), or a failed setup: nothing to retry here.
  console.error(`echo bot: ${(e as Error).message}`);
  await xmpp.stop().catch(() => undefined);
  store.close();
  process.exit(1);
}
online = true;
console.log(
  `echo bot ${omemo.jid} ready: device ${manager.deviceId}, fingerprint ${formatFingerprint(manager.fingerprint)}`,
);

const stop = async () => {
  await xmpp.stop().catch(() => undefined);
  store.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
