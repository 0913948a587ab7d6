// The Double Ratchet's sending step (Signal, "The Double Ratchet Algorithm" rev. 1, §3.3 RatchetEncrypt) for many
// sessions at once: one batch of symmetric ratchet steps (ratchet-send-batch.ts), each message laid out once
// (wire.ts `frameMessage`), and the key exchange attached while the other side has not answered.
import { allocateBytes, assertBytes, type ByteAllocator } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { RatchetSendLane } from '../crypto/ratchet-send-lanes';
import { MAX_COUNTER, MAX_RATCHET_PLAINTEXT_BYTES, VERSIONS } from './constants';
import { ratchetSendBatch } from './ratchet-send-batch';
import type { EncryptedKeyElement, Session } from './session';
import { encodeKeyExchange, frameMessage } from './wire';

/**
 * Encrypts the same `plaintext` with every session (a fan-out): byte for byte what `encrypt` on each would give.
 * A session that cannot send gets its OmemoError in its slot and is left unchanged; the others go on.
 * @throws TypeError/RangeError for a bad plaintext or a session listed twice.
 */
export function encryptSessions(
  sessions: readonly Session[],
  plaintext: Uint8Array,
  allocate: ByteAllocator = allocateBytes,
): (EncryptedKeyElement | OmemoError)[] {
  assertBytes(plaintext, 'plaintext');
  if (plaintext.length > MAX_RATCHET_PLAINTEXT_BYTES)
    throw new RangeError(`plaintext must be at most ${MAX_RATCHET_PLAINTEXT_BYTES} bytes, got ${plaintext.length}`);
  if (new Set(sessions).size !== sessions.length)
    throw new TypeError('a session is listed twice: each step needs its own chain key');
  const results = new Array<EncryptedKeyElement | OmemoError>(sessions.length);
  const ciphertextLength = (plaintext.length & ~15) + 16; // AES-CBC with PKCS#7 always pads
  for (const version of ['oldmemo', 'twomemo'] as const) {
    const lanes: RatchetSendLane[] = [];
    const owners: number[] = [];
    sessions.forEach((session, i) => {
      const s = session.state;
      if (s.version !== version) return;
      if (s.sendingChainKey === undefined) {
        results[i] = new OmemoError('no-session', 'this session cannot send before it has received');
        return;
      }
      if (s.sendingCounter >= MAX_COUNTER) {
        results[i] = new OmemoError('too-many-skipped', 'sending chain exhausted');
        return;
      }
      const frame = frameMessage(
        version,
        { ratchetKey: s.sendingRatchet.publicKey, n: s.sendingCounter, pn: s.previousCounter },
        ciphertextLength,
        allocate,
      );
      lanes.push({
        chainKey: s.sendingChainKey,
        nextChainKey: new Uint8Array(32),
        associatedData: session.sendPrefix(),
        message: frame.message,
        headerOffset: frame.headerOffset,
        headerLength: frame.headerLength,
        macOffset: frame.macOffset,
      });
      owners.push(i);
    });
    if (lanes.length === 0) continue;
    const v = VERSIONS[version];
    ratchetSendBatch(lanes, { info: v.messageKeyInfo, plaintext, macBytes: v.macBytes });
    lanes.forEach((lane, k) => {
      const i = owners[k]!;
      const s = sessions[i]!.state;
      s.sendingChainKey = lane.nextChainKey;
      s.sendingCounter += 1;
      s.unanswered = 0;
      results[i] =
        s.pending === undefined
          ? { data: lane.message, keyExchange: false }
          : {
              data: encodeKeyExchange(version, { ...s.pending, identityKey: s.localIdentityKey }, lane.message),
              keyExchange: true,
            };
    });
  }
  return results;
}
