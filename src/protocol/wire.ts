// Wire messages that carry the Double Ratchet: OMEMO 0.3 = libsignal's WhisperMessage / PreKeyWhisperMessage
// (version byte 0x33, 0x05-prefixed keys, 8-byte MAC after the protobuf); OMEMO 2 = XEP-0384 0.9 §7
// OMEMOMessage / OMEMOAuthenticatedMessage (16-byte MAC inside) / OMEMOKeyExchange. Parsing checks version,
// lengths and presence and copies every field, so the MAC is checked over exactly the bytes received.
import { allocateBytes, concatBytes, type ByteAllocator } from '../crypto/bytes';
import { OmemoError } from '../crypto/errors';
import type { ProtocolVersion } from './constants';
import { LEGACY_KEY_TYPE_DJB, LEGACY_VERSION_BYTE, MAX_WIRE_MESSAGE_BYTES, VERSIONS } from './constants';
import {
  OmemoAuthenticatedMessageType,
  OmemoKeyExchangeType,
  OmemoMessageType,
  PreKeyWhisperMessageType,
  WhisperMessageType,
  encodeProto,
  fieldTag,
  hasField,
  type MessageType,
} from './protobuf';

/** The Double Ratchet header of a message. */
export interface RatchetHeader {
  /** The sender's current ratchet public key (raw 32 bytes). */
  ratchetKey: Uint8Array;
  /** Message number in the sending chain. */
  n: number;
  /** Length of the sender's previous sending chain. */
  pn: number;
}

/** A parsed ratchet message whose MAC has not been checked yet. */
export interface ParsedMessage {
  version: ProtocolVersion;
  header: RatchetHeader;
  ciphertext: Uint8Array;
  /** The bytes the MAC covers after the identity/AD prefix (0.3: 0x33 ‖ protobuf; OMEMO 2: OMEMOMessage). */
  macInput: Uint8Array;
  mac: Uint8Array;
}

/** A parsed key exchange (0.3 PreKeyWhisperMessage, OMEMO 2 OMEMOKeyExchange). */
export interface ParsedKeyExchange {
  version: ProtocolVersion;
  /** The one-time pre key used; undefined when none was (0.3 only). */
  preKeyId: number | undefined;
  signedPreKeyId: number;
  /** The initiator's identity key in the version's wire form, without the 0x05 prefix. */
  identityKey: Uint8Array;
  /** The initiator's X3DH ephemeral key (raw). */
  baseKey: Uint8Array;
  message: ParsedMessage;
}

function malformed(what: string, cause?: unknown): OmemoError {
  return new OmemoError('malformed-message', what, cause === undefined ? undefined : { cause });
}

function decode<T>(type: MessageType<T>, bytes: Uint8Array, what: string): T {
  try {
    return type.decode(bytes);
  } catch (cause) {
    throw malformed(`${what} is not a valid protobuf`, cause);
  }
}

function own(bytes: Uint8Array | undefined, what: string, length?: number): Uint8Array {
  // Absent bytes fields come back from protobufjs as a default (an empty array), never as a Uint8Array.
  if (!(bytes instanceof Uint8Array)) throw malformed(`${what} is missing`);
  if (length !== undefined && bytes.length !== length)
    throw malformed(`${what} must be ${length} bytes, got ${bytes.length}`);
  return new Uint8Array(bytes); // a plain copy: never a Node Buffer, never a view of the input
}

/**
 * The X3DH base key is not covered by any MAC and X25519 ignores bit 255, so a flipped top bit would make an
 * old key exchange look new: refuse it (no implementation produces such keys).
 */
function baseKey(key: Uint8Array): Uint8Array {
  if ((key[31]! & 0x80) !== 0) throw malformed('base key has bit 255 set');
  return key;
}

function legacyKey(bytes: Uint8Array | undefined, what: string): Uint8Array {
  const k = own(bytes, what, 33);
  if (k[0] !== LEGACY_KEY_TYPE_DJB) throw malformed(`${what} has key type ${k[0]}, expected 5`);
  return k.slice(1);
}

function counter(value: number | undefined, what: string, required: boolean): number {
  if (value === undefined || value === null) {
    if (required) throw malformed(`${what} is missing`);
    return 0; // proto3-style writers omit zero counters (python-omemo always writes them)
  }
  return value >>> 0;
}

function checkSize(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('message must be a Uint8Array');
  if (bytes.length > MAX_WIRE_MESSAGE_BYTES)
    throw malformed(`message of ${bytes.length} bytes exceeds ${MAX_WIRE_MESSAGE_BYTES}`);
}

function checkLegacyVersion(bytes: Uint8Array): void {
  if (bytes.length < 1) throw malformed('message is empty');
  if (bytes[0]! >> 4 !== LEGACY_VERSION_BYTE >> 4) {
    throw new OmemoError('unsupported-version', `legacy message version ${bytes[0]! >> 4}, expected 3`);
  }
}

/** Parses a normal ratchet message (0.3 `<key>` without prekey, OMEMO 2 `<key>` without kex). */
export function parseMessage(version: ProtocolVersion, bytes: Uint8Array): ParsedMessage {
  checkSize(bytes);
  return readCanonicalMessage(version, bytes) ?? parseMessageThoroughly(version, bytes);
}

/**
 * parseMessage through protobufjs, for any encoding protobuf allows (field order, unknown fields, repeated fields,
 * long varints). Exported for the tests that hold the canonical reader to it.
 * @throws OmemoError `malformed-message` / `unsupported-version`.
 */
export function parseMessageThoroughly(version: ProtocolVersion, bytes: Uint8Array): ParsedMessage {
  checkSize(bytes);
  if (version === 'oldmemo') {
    checkLegacyVersion(bytes);
    const macBytes = VERSIONS.oldmemo.macBytes;
    if (bytes.length < 1 + macBytes) throw malformed('legacy message is too short');
    const body = bytes.subarray(0, bytes.length - macBytes);
    const m = decode(WhisperMessageType, body.subarray(1), 'WhisperMessage');
    return {
      version,
      header: {
        ratchetKey: legacyKey(m.ratchetKey, 'ratchetKey'),
        n: counter(m.counter, 'counter', false),
        pn: counter(m.previousCounter, 'previousCounter', false),
      },
      ciphertext: own(m.ciphertext, 'ciphertext'),
      macInput: body.slice(),
      mac: bytes.slice(bytes.length - macBytes),
    };
  }
  const auth = decode(OmemoAuthenticatedMessageType, bytes, 'OMEMOAuthenticatedMessage');
  return parseAuthenticated(auth);
}

function parseAuthenticated(auth: { mac?: Uint8Array; message?: Uint8Array }): ParsedMessage {
  const mac = own(auth.mac, 'mac', VERSIONS.twomemo.macBytes);
  const inner = own(auth.message, 'message');
  const m = decode(OmemoMessageType, inner, 'OMEMOMessage');
  return {
    version: 'twomemo',
    header: { ratchetKey: own(m.dh_pub, 'dh_pub', 32), n: counter(m.n, 'n', false), pn: counter(m.pn, 'pn', false) },
    ciphertext: own(m.ciphertext, 'ciphertext'),
    macInput: inner,
    mac,
  };
}

/** A varint read by readCanonicalMessage: its value and the offset after it; `next` is -1 when it is not one. */
const varint = { value: 0, next: 0 };

/**
 * Reads a varint of at most MAX_CANONICAL_VARINT_BYTES at `at` into `varint` (next = -1 for a longer one: the
 * thorough path decides). Values stay below 2^28, where protobufjs's uint32 reading gives the same number.
 */
function readVarint(bytes: Uint8Array, at: number): void {
  let value = 0;
  for (let i = 0; i < MAX_CANONICAL_VARINT_BYTES; i++) {
    const b = bytes[at + i];
    if (b === undefined) break;
    value |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      varint.value = value;
      varint.next = at + i + 1;
      return;
    }
  }
  varint.next = -1;
}
/** Longest varint the canonical reader takes (4 bytes: values below 2^28, counters and lengths of real messages). */
const MAX_CANONICAL_VARINT_BYTES = 4;

/**
 * A normal message in the canonical layout — every field present once, in field-number order, short varints,
 * nothing else: what frameMessage, protobufjs, libsignal and python-omemo write — read without protobufjs, or
 * undefined for anything else (then parseMessageThoroughly decides, errors included). The fields are the same as
 * that path gives (a fuzz property checks it). The MAC and the ratchet key (which a session may keep) are copies;
 * the MAC input and the ciphertext are views of `bytes` (a decryption reads them at once, and copying them cost an
 * allocation of over 64 bytes, ~0.7 µs, per message).
 */
function readCanonicalMessage(version: ProtocolVersion, bytes: Uint8Array): ParsedMessage | undefined {
  if (version === 'oldmemo') {
    const macBytes = VERSIONS.oldmemo.macBytes;
    const end = bytes.length - macBytes;
    // 0x33, ratchetKey (tag, 33, 0x05, 32 bytes), counter, previousCounter, ciphertext.
    if (end < 40 || bytes[0] !== LEGACY_VERSION_BYTE || bytes[1] !== TAGS.legacyRatchetKey || bytes[2] !== 33) {
      return undefined;
    }
    if (bytes[3] !== LEGACY_KEY_TYPE_DJB || bytes[36] !== TAGS.legacyCounter) return undefined;
    readVarint(bytes, 37);
    const n = varint.value;
    if (varint.next < 0 || bytes[varint.next] !== TAGS.legacyPreviousCounter) return undefined;
    readVarint(bytes, varint.next + 1);
    const pn = varint.value;
    if (varint.next < 0 || bytes[varint.next] !== TAGS.legacyCiphertext) return undefined;
    readVarint(bytes, varint.next + 1);
    const ctStart = varint.next;
    if (ctStart < 0 || ctStart + varint.value !== end) return undefined;
    const macInput = bytes.subarray(0, end);
    return {
      version,
      header: { ratchetKey: bytes.slice(4, 36), n, pn },
      ciphertext: macInput.subarray(ctStart, end),
      macInput,
      mac: bytes.slice(end),
    };
  }
  const macBytes = VERSIONS.twomemo.macBytes;
  // OMEMOAuthenticatedMessage: mac (tag, 16, 16 bytes), message (tag, length, OMEMOMessage to the end).
  if (bytes[0] !== TAGS.mac || bytes[1] !== macBytes || bytes[2 + macBytes] !== TAGS.message) return undefined;
  readVarint(bytes, 3 + macBytes);
  const start = varint.next;
  if (start < 0 || start + varint.value !== bytes.length) return undefined;
  // OMEMOMessage: n, pn, dh_pub (tag, 32, 32 bytes), ciphertext.
  if (bytes[start] !== TAGS.n) return undefined;
  readVarint(bytes, start + 1);
  const n = varint.value;
  if (varint.next < 0 || bytes[varint.next] !== TAGS.pn) return undefined;
  readVarint(bytes, varint.next + 1);
  const pn = varint.value;
  const key = varint.next;
  if (key < 0 || bytes[key] !== TAGS.dhPub || bytes[key + 1] !== 32 || bytes[key + 34] !== TAGS.ciphertext) {
    return undefined;
  }
  readVarint(bytes, key + 35);
  const ctStart = varint.next;
  if (ctStart < 0 || ctStart + varint.value !== bytes.length) return undefined;
  const macInput = bytes.subarray(start);
  return {
    version,
    header: { ratchetKey: bytes.slice(key + 2, key + 34), n, pn },
    ciphertext: macInput.subarray(ctStart - start),
    macInput,
    mac: bytes.slice(2, 2 + macBytes),
  };
}

/** Parses a key exchange (0.3 `<key prekey="true">`, OMEMO 2 `<key kex="true">`). */
export function parseKeyExchange(version: ProtocolVersion, bytes: Uint8Array): ParsedKeyExchange {
  checkSize(bytes);
  if (version === 'oldmemo') {
    checkLegacyVersion(bytes);
    const m = decode(PreKeyWhisperMessageType, bytes.subarray(1), 'PreKeyWhisperMessage');
    if (!hasField(m, 'signedPreKeyId')) throw malformed('signedPreKeyId is missing');
    return {
      version,
      // 0.3 allows a key exchange without a one-time pre key: then preKeyId is absent (id 0 is a real id).
      preKeyId: hasField(m, 'preKeyId') ? m.preKeyId! >>> 0 : undefined,
      signedPreKeyId: m.signedPreKeyId! >>> 0,
      identityKey: legacyKey(m.identityKey, 'identityKey'),
      baseKey: baseKey(legacyKey(m.baseKey, 'baseKey')),
      message: parseMessage('oldmemo', own(m.message, 'message')),
    };
  }
  const k = decode(OmemoKeyExchangeType, bytes, 'OMEMOKeyExchange');
  if (!hasField(k, 'message') || k.message === undefined || k.message === null) throw malformed('message is missing');
  return {
    version,
    preKeyId: counter(k.pk_id, 'pk_id', false),
    signedPreKeyId: counter(k.spk_id, 'spk_id', false),
    identityKey: own(k.ik, 'ik', 32),
    baseKey: baseKey(own(k.ek, 'ek', 32)),
    message: parseAuthenticated(k.message),
  };
}

const VARINT = 0;
const BYTES = 2;
const TAGS = {
  legacyRatchetKey: fieldTag(WhisperMessageType, 'ratchetKey', BYTES),
  legacyCounter: fieldTag(WhisperMessageType, 'counter', VARINT),
  legacyPreviousCounter: fieldTag(WhisperMessageType, 'previousCounter', VARINT),
  legacyCiphertext: fieldTag(WhisperMessageType, 'ciphertext', BYTES),
  n: fieldTag(OmemoMessageType, 'n', VARINT),
  pn: fieldTag(OmemoMessageType, 'pn', VARINT),
  dhPub: fieldTag(OmemoMessageType, 'dh_pub', BYTES),
  ciphertext: fieldTag(OmemoMessageType, 'ciphertext', BYTES),
  mac: fieldTag(OmemoAuthenticatedMessageType, 'mac', BYTES),
  message: fieldTag(OmemoAuthenticatedMessageType, 'message', BYTES),
};

function varintLength(value: number): number {
  let n = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) n++;
  return n;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/**
 * An outgoing message laid out before its ciphertext and MAC exist: `message` has its final length and holds
 * every byte but those two. The ciphertext goes at `headerOffset + headerLength`, the MAC at `macOffset`;
 * the MAC covers `message[headerOffset, end of ciphertext)` after the identity/AD prefix.
 */
export interface MessageFrame {
  message: Uint8Array;
  headerOffset: number;
  headerLength: number;
  macOffset: number;
}

/**
 * Lays out a ratchet message with a ciphertext of `ciphertextLength` bytes: byte for byte what
 * protobufjs would encode (field order and tags from proto/*.proto; test/protocol/protobufjs-reference.ts
 * checks it) without going through protobufjs, so the fan-out hot path allocates one array per device (from `allocate`).
 */
export function frameMessage(
  version: ProtocolVersion,
  header: RatchetHeader,
  ciphertextLength: number,
  allocate: ByteAllocator = allocateBytes,
): MessageFrame {
  const ctLen = varintLength(ciphertextLength);
  if (version === 'oldmemo') {
    const headerLength = 1 + 2 + 33 + 1 + varintLength(header.n) + 1 + varintLength(header.pn) + 1 + ctLen;
    const message = allocate(headerLength + ciphertextLength + VERSIONS.oldmemo.macBytes);
    message[0] = LEGACY_VERSION_BYTE;
    message[1] = TAGS.legacyRatchetKey;
    message[2] = 33;
    message[3] = LEGACY_KEY_TYPE_DJB;
    message.set(header.ratchetKey, 4);
    let at = 36;
    message[at++] = TAGS.legacyCounter;
    at = writeVarint(message, at, header.n);
    message[at++] = TAGS.legacyPreviousCounter;
    at = writeVarint(message, at, header.pn);
    message[at++] = TAGS.legacyCiphertext;
    writeVarint(message, at, ciphertextLength);
    return { message, headerOffset: 0, headerLength, macOffset: headerLength + ciphertextLength };
  }
  const macBytes = VERSIONS.twomemo.macBytes;
  const headerLength = 1 + varintLength(header.n) + 1 + varintLength(header.pn) + 2 + 32 + 1 + ctLen;
  const inner = headerLength + ciphertextLength;
  const headerOffset = 2 + macBytes + 1 + varintLength(inner);
  const message = allocate(headerOffset + inner);
  message[0] = TAGS.mac;
  message[1] = macBytes;
  message[2 + macBytes] = TAGS.message;
  let at = writeVarint(message, 3 + macBytes, inner);
  message[at++] = TAGS.n;
  at = writeVarint(message, at, header.n);
  message[at++] = TAGS.pn;
  at = writeVarint(message, at, header.pn);
  message[at++] = TAGS.dhPub;
  message[at++] = 32;
  message.set(header.ratchetKey, at);
  at += 32;
  message[at++] = TAGS.ciphertext;
  writeVarint(message, at, ciphertextLength);
  return { message, headerOffset, headerLength, macOffset: 2 };
}

/** Fields of an outgoing key exchange. */
export interface KeyExchangeFields {
  preKeyId: number | undefined;
  signedPreKeyId: number;
  identityKey: Uint8Array;
  baseKey: Uint8Array;
}

/** Wraps a framed message into a key exchange. */
export function encodeKeyExchange(version: ProtocolVersion, kex: KeyExchangeFields, message: Uint8Array): Uint8Array {
  if (version === 'oldmemo') {
    const proto = encodeProto(PreKeyWhisperMessageType, {
      ...(kex.preKeyId === undefined ? {} : { preKeyId: kex.preKeyId }),
      signedPreKeyId: kex.signedPreKeyId,
      baseKey: concatBytes(Uint8Array.of(LEGACY_KEY_TYPE_DJB), kex.baseKey),
      identityKey: concatBytes(Uint8Array.of(LEGACY_KEY_TYPE_DJB), kex.identityKey),
      message,
    });
    return concatBytes(Uint8Array.of(LEGACY_VERSION_BYTE), proto);
  }
  const auth = OmemoAuthenticatedMessageType.decode(message);
  return encodeProto(OmemoKeyExchangeType, {
    pk_id: kex.preKeyId ?? 0,
    spk_id: kex.signedPreKeyId,
    ik: kex.identityKey,
    ek: kex.baseKey,
    message: { mac: auth.mac, message: auth.message },
  });
}
