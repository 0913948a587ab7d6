// Decryption (XEP-0384 0.3.0 §4.6 and 0.9 §4.5–4.6): key exchanges and normal messages, trust of the sender's
// identity key, automatic empty messages (session completion, heartbeat); a failure changes nothing.
import type { XmlElement } from '../stanzas/xml';
import { bytesEqual, utf8DecodeOrUndefined } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import { remoteIdentityToCurve } from '../../protocol/identity-key';
import { Session, type SessionState } from '../../protocol/session';
import { serializeSession } from '../../protocol/session-record';
import { parseKeyExchange, parseMessage } from '../../protocol/wire';
import { adoptIdentityKey } from '../policies/identity-trust';
import { checkPreKeyUse, markPreKeyUsed } from '../policies/pre-key-policy';
import { parseEncryptedFor } from '../versions/by-version';
import type { EncryptedKey } from '../stanzas/encrypted-element';
import type { ParsedEncrypted } from '../versions/backend';
import { bareJid } from '../stanzas/jid';
import type { OmemoVersion } from '../versions/backend';
import { parseEnvelope, type ParsedEnvelope } from '../stanzas/sce';
import type { SessionAddress, StoreChanges, StoredDevice, StoredPreKey } from '../store/store';
import type { AutomaticMessageKind } from './transport';
import { initialTrust } from '../policies/trust';

import type { ManagerCore } from './manager-core';
import { sessionKeyOf } from './address-keys';
import { REPAIRABLE, repairAfterFailure } from './repair';
import { keepsUsedPreKey, pruneUsedPreKeys, refillPreKeys } from './own-keys';
import { replaceSession } from './session-builder';
import { emptyMessageOn } from './automatic-messages';
import type { AutomaticMessage, DecryptResult } from './manager-types';
import { backendFor } from '../versions/backend';

/** A receiving chain this long without our answer triggers an empty "heartbeat" message (XEP-0384 §4.6). */
export const HEARTBEAT_AFTER_MESSAGES = 53;

/**
 * The header's `sid` is not authenticated by OMEMO: a key exchange relabelled with another device id would build a
 * session (and use up its pre key) under that id. An identity key belongs to one device, so a key exchange whose
 * identity key is the current key of another device of the JID still in its device list is refused.
 * @throws OmemoError `untrusted-device`.
 */
function refuseIdentityOfAnotherDevice(
  devicesOfJid: readonly StoredDevice[],
  deviceId: number,
  identityKey: Uint8Array,
): void {
  const owner = devicesOfJid.find(
    (d) =>
      d.deviceId !== deviceId &&
      d.activeIn.length > 0 &&
      d.identityKey !== undefined &&
      bytesEqual(d.identityKey, identityKey),
  );
  if (owner !== undefined) {
    throw new OmemoError(
      'untrusted-device',
      `a key exchange from device ${deviceId} carries the identity key of device ${owner.deviceId}`,
    );
  }
}

/** Text that may be an XML document: its first non-white-space character opens markup. */
const LOOKS_LIKE_XML = /^\s*</;

/**
 * The text of a decrypted payload: 0.3 the UTF-8 payload, OMEMO 2 the SCE `<body>` (or the UTF-8 payload without an
 * envelope). Never throws: whatever a sender put there, the message has been decrypted.
 */
function readPayload(
  version: OmemoVersion,
  payload: Uint8Array | undefined,
  from: string,
): { text: string | undefined; envelope: ParsedEnvelope | undefined; envelopeFromMatches: boolean } {
  if (payload === undefined) return { text: undefined, envelope: undefined, envelopeFromMatches: false };
  const decoded = utf8DecodeOrUndefined(payload); // a binary payload is no text (no exception: many are)
  if (decoded === undefined) return { text: undefined, envelope: undefined, envelopeFromMatches: false };
  let envelope: ParsedEnvelope | undefined;
  // Only text that can be XML is parsed as an envelope: a refused parse costs an error with its stack (~9 µs).
  if (backendFor(version).wrapsText && LOOKS_LIKE_XML.test(decoded)) {
    try {
      envelope = parseEnvelope(decoded);
    } catch {
      envelope = undefined;
    }
  }
  let envelopeFromMatches = false;
  if (envelope !== undefined) {
    try {
      envelopeFromMatches = envelope.from === undefined || bareJid(envelope.from) === from;
    } catch {
      envelopeFromMatches = false; // an empty or oversized JID is no match
    }
  }
  return { text: envelope ? envelope.body : decoded, envelope, envelopeFromMatches };
}

/**
 * Decrypts an `<encrypted>` element from `from` (see OmemoManager.decrypt); after a failure that a fresh session
 * repairs, offers one (rate-limited).
 * @throws OmemoError as OmemoManager.decrypt.
 */
export async function decryptMessage(
  core: ManagerCore,
  from: string,
  encryptedXml: string | XmlElement,
  options: { version?: OmemoVersion },
): Promise<DecryptResult> {
  // Only our key is decoded: a room message carries one per device of every member.
  const parsed = parseEncryptedFor(encryptedXml, core.jid, core.deviceId, options.version);
  const version = parsed.version;
  if (!core.versions.includes(version))
    throw new OmemoError('message-not-for-us', `${version} is not enabled on this device`);
  const key = parsed.keys[0];
  if (key === undefined) throw new OmemoError('message-not-for-us', `no key for device ${core.deviceId}`);
  const address: SessionAddress = { version, jid: from, deviceId: parsed.sid };
  try {
    const result = await decryptKey(core, address, parsed, key);
    if (result.keyExchange)
      core.log('info', `${from}/${parsed.sid} started a ${version} session with us`, {
        event: 'session-built',
        jid: from,
        deviceId: parsed.sid,
        version,
        by: 'them',
        trust: result.trust,
      });
    if (result.identityChanged !== undefined)
      core.log('warn', `${from}/${parsed.sid} shows a new identity key`, {
        event: 'identity-changed',
        jid: from,
        deviceId: parsed.sid,
        version,
        fingerprint: result.identityChanged.fingerprint,
        trust: result.trust,
      });
    return result;
  } catch (e) {
    const code = e instanceof OmemoError ? e.code : 'store-error';
    if (code !== 'duplicate-message' || core.logsDebug)
      core.log(
        code === 'duplicate-message' ? 'debug' : 'warn',
        `a ${version} message from ${from}/${parsed.sid} failed`,
        {
          event: 'decrypt-failed',
          jid: from,
          deviceId: parsed.sid,
          version,
          code,
        },
      );
    // The message changed nothing. When the reason is that we hold no usable session with its sender, a fresh
    // one is offered (rate-limited per device): the sender's next message then decrypts.
    if (
      !key.keyExchange &&
      e instanceof OmemoError &&
      REPAIRABLE.has(e.code) &&
      (e.code !== 'bad-mac' || opensUnknownChain(core, address, key.data))
    ) {
      await repairAfterFailure(core, address);
    }
    throw e;
  }
}

/** Decrypts our `<key>` of a parsed element and commits what it changes; a failure changes nothing. */
export async function decryptKey(
  core: ManagerCore,
  address: SessionAddress,
  parsed: ParsedEncrypted,
  key: EncryptedKey,
): Promise<DecryptResult> {
  const { version, jid: from } = address;
  const k = sessionKeyOf(address);
  const changes: StoreChanges = { putDevices: [], putSessions: [] };
  // From the manager's caches without waiting when they hold them (a steady conversation): every await costs a
  // decrypt a promise and a turn of the microtask queue.
  const others = core.cachedDevicesOf(from) ?? (await core.loadDevicesOf([from]));
  let device = others.find((d) => d.deviceId === parsed.sid);

  // Work on a private copy of the session: nothing is kept unless the payload decrypts too. A record that does
  // not load is no session at all here: a valid key exchange replaces it.
  let stored = core.sessions.get(k);
  let broken = false;
  if (stored === undefined) {
    const loaded = await core.sessionsFor([address], [k]);
    stored = loaded.sessions.get(k);
    broken = loaded.broken.has(k);
  }
  let session = stored?.clone();
  let keyMaterial: Uint8Array;
  let newSession = false;
  let usedPreKey: StoredPreKey | undefined;
  let baseKey: Uint8Array | undefined;
  if (key.keyExchange) {
    const kex = parseKeyExchange(version, key.data);
    if (session?.hasState(kex.baseKey, kex.identityKey)) {
      keyMaterial = session.decryptParsed(kex.message, core.rng, kex.baseKey); // the initiator repeats its key exchange
    } else {
      const spk = core.own.signedPreKeys.find((s) => s.id === kex.signedPreKeyId);
      if (spk === undefined)
        throw new OmemoError('unknown-signed-prekey', `unknown signed pre key ${kex.signedPreKeyId}`);
      if (kex.preKeyId !== undefined) {
        usedPreKey = core.own.preKeys.get(kex.preKeyId);
        if (usedPreKey === undefined) throw new OmemoError('unknown-prekey', `unknown pre key ${kex.preKeyId}`);
        checkPreKeyUse(usedPreKey, kex.baseKey, core.catchingUp || keepsUsedPreKey(core, usedPreKey));
        baseKey = kex.baseKey;
      }
      const fresh = Session.respond(core.own.identity, kex, spk, usedPreKey);
      keyMaterial = fresh.decryptParsed(kex.message, core.rng);
      session = replaceSession(session, fresh);
      newSession = true;
    }
  } else {
    if (session === undefined) {
      if (broken)
        throw new OmemoError('malformed-record', `the stored session with ${from}/${parsed.sid} does not load`);
      throw new OmemoError(
        device === undefined ? 'sender-not-found' : 'no-session',
        `no session with ${from}/${parsed.sid}`,
      );
    }
    keyMaterial = session.decrypt(key.data);
  }
  const opened = backendFor(version).openPayload(keyMaterial, parsed.iv, parsed.payload);
  const payload = opened instanceof Promise ? await opened : opened;
  if (parsed.payload === undefined && !backendFor(version).isEmptyMessageKey(keyMaterial)) {
    // Not the key of an empty message (OMEMO 2: 32 zero bytes; 0.3: a bare 16-byte key, not key ‖ tag): a message
    // whose payload went missing. Keep nothing, so that its key stays unused for the complete message.
    if (device?.trust === 'distrusted' && !newSession)
      throw new OmemoError('untrusted-device', `${from}/${parsed.sid} is distrusted`);
    return {
      version,
      sender: { jid: from, deviceId: parsed.sid },
      payload: undefined,
      text: undefined,
      keyExchange: key.keyExchange,
      trust: device?.trust ?? 'undecided',
      payloadMissing: true,
      sent: [],
    };
  }

  // Everything verified. All that depends on the message is decided here, before the commit.
  const { text, envelope, envelopeFromMatches } = readPayload(version, payload, from);
  // Converted in X3DH already for a new session, or in an earlier decrypt: remembered by the protocol layer.
  const identityKey = remoteIdentityToCurve(version, session.remoteIdentityKey);
  if (newSession) refuseIdentityOfAnotherDevice(others, parsed.sid, identityKey);
  if (device === undefined) device = await core.newDevice(from, parsed.sid, others);
  const adopted = adoptIdentityKey(device, identityKey, () => initialTrust(core.trustPolicy, others));
  device = adopted.device;
  if (adopted.change !== undefined && device.trust === 'undecided') device.trust = await core.decideTrust(device);
  if (device.trust === 'distrusted') throw new OmemoError('untrusted-device', `${from}/${parsed.sid} is distrusted`);
  // Our own copy (loadDevicesOf hands out copies): updated in place unless a field has to go.
  if (device.unansweredSince !== undefined) {
    const { unansweredSince: _answered, ...heard } = device;
    device = heard;
  }
  device.sentSinceLastReceived = 0;
  device.lastReceivedAt = core.now();

  const sent: AutomaticMessage[] = [];
  const kind: AutomaticMessageKind | undefined = newSession
    ? 'session-completion'
    : session.unansweredCount >= HEARTBEAT_AFTER_MESSAGES
      ? 'heartbeat'
      : undefined;
  if (kind !== undefined) sent.push(await emptyMessageOn(core, session, address, kind));
  changes.putSessions!.push({ address, record: serializeSession(session) });
  changes.putDevices!.push(device);
  let republish = false;
  if (usedPreKey !== undefined) {
    const kept = core.catchingUp || core.preKeyPolicy.keepMs > 0;
    if (kept) {
      const marked = markPreKeyUsed(usedPreKey, baseKey!, core.now());
      core.own.preKeys.set(marked.id, marked);
      changes.putPreKeys = [marked];
    } else {
      core.own.preKeys.delete(usedPreKey.id);
      changes.deletePreKeys = [usedPreKey.id];
    }
    // A live key left the bundle: refill, and republish once this burst of operations is over (the manager's
    // queue does; never during a catch-up, which republishes at its end).
    if (!usedPreKey.consumed && !core.catchingUp) {
      pruneUsedPreKeys(core, changes);
      refillPreKeys(core, changes);
      republish = true;
    }
  }
  await core.commit(changes, [k], true);
  core.cacheSession(k, session);
  if (republish) core.republishDue = true;

  // The messages go out on the advanced session: only once it is durable (group commit).
  if (sent.length > 0)
    await core.whenDurable(async () => {
      for (const m of sent) {
        try {
          await core.transport.send(m.to, m.xml, m.kind);
        } catch {
          // The message was decrypted and stored; a lost automatic message is repaired by the next one.
        }
      }
    });
  return {
    version,
    sender: { jid: from, deviceId: parsed.sid },
    payload,
    text,
    ...(envelope ? { envelope, envelopeFromMatches } : {}),
    keyExchange: key.keyExchange,
    trust: device.trust,
    ...(adopted.change ? { identityChanged: { ...adopted.change, trust: device.trust } } : {}),
    sent,
  };
}

/** Whether a normal message's ratchet key is none that our session with `address` has received on. */
export function opensUnknownChain(core: ManagerCore, address: SessionAddress, data: Uint8Array): boolean {
  const session = core.sessions.get(sessionKeyOf(address));
  if (session === undefined) return true;
  let ratchetKey: Uint8Array;
  try {
    ratchetKey = parseMessage(address.version, data).header.ratchetKey;
  } catch {
    return false;
  }
  const known = (s: SessionState) =>
    (s.receivingRatchetKey !== undefined && bytesEqual(s.receivingRatchetKey, ratchetKey)) ||
    s.oldChains.some((c) => bytesEqual(c.ratchetKey, ratchetKey));
  return !known(session.state) && !session.archivedStates.some(known);
}
