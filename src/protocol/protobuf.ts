// Protocol buffer types of proto/*.proto (legacy WhisperTextProtocol, OMEMO 2 §7, the session record),
// parsed once from the embedded .proto text. Only this module touches protobufjs.
import protobuf from 'protobufjs';
import { legacyProto, omemo2Proto, sessionRecordProto } from './proto-text';

/** A protobufjs message type restricted to what we use. */
export interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

/** Encodes to a plain Uint8Array (protobufjs hands out Node Buffers; the public API never does). */
export function encodeProto<T>(type: MessageType<T>, message: T): Uint8Array {
  const b = type.encode(message).finish();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** True when a decoded message really carries `field` (protobufjs fills absent fields with defaults). */
export function hasField(message: object, field: string): boolean {
  return Object.hasOwn(message, field);
}

/**
 * The key (field number << 3 | wire type) of `field` in `type`, read from the parsed .proto so that the
 * hand-framed hot paths (wire.ts `frameMessage`, session-record.ts) still follow proto/*.proto.
 */
export function fieldKey(type: MessageType<unknown>, field: string, wireType: 0 | 2): number {
  const id = (type as unknown as { fields: Record<string, { id: number } | undefined> }).fields[field]?.id;
  if (id === undefined || id < 1 || id > 2047)
    throw new Error(`field ${field} must exist and have a number in 1..2047`);
  return (id << 3) | wireType;
}

/** Like `fieldKey`, for fields numbered 1..15 whose key is one byte. */
export function fieldTag(type: MessageType<unknown>, field: string, wireType: 0 | 2): number {
  const key = fieldKey(type, field, wireType);
  if (key > 0x7f) throw new Error(`field ${field} must have a number in 1..15 for a one-byte tag`);
  return key;
}

function load(text: string, names: string[]): Record<string, MessageType<unknown>> {
  const root = protobuf.parse(text, { keepCase: true }).root;
  const out: Record<string, MessageType<unknown>> = {};
  for (const name of names) out[name] = root.lookupType(name) as unknown as MessageType<unknown>;
  return out;
}

export interface WhisperMessageProto {
  ratchetKey?: Uint8Array;
  counter?: number;
  previousCounter?: number;
  ciphertext?: Uint8Array;
}
export interface PreKeyWhisperMessageProto {
  registrationId?: number;
  preKeyId?: number;
  signedPreKeyId?: number;
  baseKey?: Uint8Array;
  identityKey?: Uint8Array;
  message?: Uint8Array;
}
export interface OmemoMessageProto {
  n?: number;
  pn?: number;
  dh_pub?: Uint8Array;
  ciphertext?: Uint8Array;
}
export interface OmemoAuthenticatedMessageProto {
  mac?: Uint8Array;
  message?: Uint8Array;
}
export interface OmemoKeyExchangeProto {
  pk_id?: number;
  spk_id?: number;
  ik?: Uint8Array;
  ek?: Uint8Array;
  message?: OmemoAuthenticatedMessageProto;
}
export interface SessionRecordProto {
  format: number;
  protocol: number;
  local_identity_key: Uint8Array;
  remote_identity_key: Uint8Array;
  initiator: boolean;
  root_key: Uint8Array;
  sending_ratchet_private: Uint8Array;
  sending_ratchet_public: Uint8Array;
  receiving_ratchet_key: Uint8Array;
  sending_chain_key: Uint8Array;
  sending_counter: number;
  previous_counter: number;
  receiving_chain_key: Uint8Array;
  receiving_counter: number;
  skipped: { ratchet_key: Uint8Array; n: number; seed: Uint8Array }[];
  old_chains: { ratchet_key: Uint8Array; next_n: number }[];
  pending?: { has_pre_key: boolean; pre_key_id: number; signed_pre_key_id: number; base_key: Uint8Array } | null;
  unanswered: number;
  base_key: Uint8Array;
  has_receiving_chain: boolean;
  has_sending_chain: boolean;
  /** Format 2: previous states, newest first (each a format-1 record). */
  archived?: SessionRecordProto[];
}

const legacy = load(legacyProto, ['omemo.legacy.WhisperMessage', 'omemo.legacy.PreKeyWhisperMessage']);
const two = load(omemo2Proto, [
  'omemo.two.OMEMOMessage',
  'omemo.two.OMEMOAuthenticatedMessage',
  'omemo.two.OMEMOKeyExchange',
]);
const store = load(sessionRecordProto, [
  'omemo.store.SessionRecord',
  'omemo.store.SkippedKey',
  'omemo.store.OldChain',
  'omemo.store.PendingKeyExchange',
]);

export const WhisperMessageType = legacy['omemo.legacy.WhisperMessage'] as MessageType<WhisperMessageProto>;
export const PreKeyWhisperMessageType = legacy[
  'omemo.legacy.PreKeyWhisperMessage'
] as MessageType<PreKeyWhisperMessageProto>;
export const OmemoMessageType = two['omemo.two.OMEMOMessage'] as MessageType<OmemoMessageProto>;
export const OmemoAuthenticatedMessageType = two[
  'omemo.two.OMEMOAuthenticatedMessage'
] as MessageType<OmemoAuthenticatedMessageProto>;
export const OmemoKeyExchangeType = two['omemo.two.OMEMOKeyExchange'] as MessageType<OmemoKeyExchangeProto>;
export const SessionRecordType = store['omemo.store.SessionRecord'] as MessageType<SessionRecordProto>;
export const SkippedKeyType = store['omemo.store.SkippedKey']!;
export const OldChainType = store['omemo.store.OldChain']!;
export const PendingKeyExchangeType = store['omemo.store.PendingKeyExchange']!;
