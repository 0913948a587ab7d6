// The protobufjs encodings that the hand-framed hot paths replaced (wire.ts `frameMessage`, session-record.ts
// `serializeSession`): kept here, test-only, as the references those writers must match byte for byte.
import { concatBytes } from '../../src/crypto/bytes';
import { LEGACY_KEY_TYPE_DJB, LEGACY_VERSION_BYTE, type ProtocolVersion } from '../../src/protocol/constants';
import {
  OmemoAuthenticatedMessageType,
  OmemoMessageType,
  SessionRecordType,
  WhisperMessageType,
  encodeProto,
  type SessionRecordProto,
} from '../../src/protocol/protobuf';
import type { Session, SessionState } from '../../src/protocol/session';
import type { RatchetHeader } from '../../src/protocol/wire';

/** Serializes the MAC'd part of a message (0.3: 0x33 ‖ WhisperMessage; OMEMO 2: OMEMOMessage). */
export function encodeMacInput(version: ProtocolVersion, header: RatchetHeader, ciphertext: Uint8Array): Uint8Array {
  if (version === 'oldmemo') {
    const proto = encodeProto(WhisperMessageType, {
      ratchetKey: concatBytes(Uint8Array.of(LEGACY_KEY_TYPE_DJB), header.ratchetKey),
      counter: header.n,
      previousCounter: header.pn,
      ciphertext,
    });
    const out = new Uint8Array(1 + proto.length);
    out[0] = LEGACY_VERSION_BYTE;
    out.set(proto, 1);
    return out;
  }
  return encodeProto(OmemoMessageType, { n: header.n, pn: header.pn, dh_pub: header.ratchetKey, ciphertext });
}

/** Frames a message: 0.3 appends the 8-byte MAC, OMEMO 2 wraps both in OMEMOAuthenticatedMessage. */
export function encodeMessage(version: ProtocolVersion, macInput: Uint8Array, mac: Uint8Array): Uint8Array {
  if (version === 'oldmemo') return concatBytes(macInput, mac);
  return encodeProto(OmemoAuthenticatedMessageType, { mac, message: macInput });
}

/**
 * A session record through protobufjs: what session-record.ts's hand-framed writer must produce. Format 1
 * without archived states; format 2 with them, each archived state a nested format-1 record (field 22).
 */
export function serializeSessionWithProtobufjs(session: Session): Uint8Array {
  const archived = session.archivedStates.map((a) => stateRecord(a, 1));
  return encodeProto(SessionRecordType, { ...stateRecord(session.state, archived.length === 0 ? 1 : 2), archived });
}

function stateRecord(s: SessionState, format: number): SessionRecordProto {
  return {
    format,
    protocol: s.version === 'oldmemo' ? 1 : 2,
    local_identity_key: s.localIdentityKey,
    remote_identity_key: s.remoteIdentityKey,
    initiator: s.initiator,
    root_key: s.rootKey,
    sending_ratchet_private: s.sendingRatchet.privateKey,
    sending_ratchet_public: s.sendingRatchet.publicKey,
    receiving_ratchet_key: s.receivingRatchetKey ?? new Uint8Array(0),
    sending_chain_key: s.sendingChainKey ?? new Uint8Array(0),
    sending_counter: s.sendingCounter,
    previous_counter: s.previousCounter,
    receiving_chain_key: s.receivingChainKey ?? new Uint8Array(0),
    receiving_counter: s.receivingCounter,
    skipped: [...s.skipped.values()].map((k) => ({ ratchet_key: k.ratchetKey, n: k.n, seed: k.seed })),
    old_chains: s.oldChains.map((c) => ({ ratchet_key: c.ratchetKey, next_n: c.nextN })),
    pending:
      s.pending === undefined
        ? null
        : {
            has_pre_key: s.pending.preKeyId !== undefined,
            pre_key_id: s.pending.preKeyId ?? 0,
            signed_pre_key_id: s.pending.signedPreKeyId,
            base_key: s.pending.baseKey,
          },
    unanswered: s.unanswered,
    base_key: s.baseKey,
    has_receiving_chain: s.receivingChainKey !== undefined,
    has_sending_chain: s.sendingChainKey !== undefined,
  };
}
