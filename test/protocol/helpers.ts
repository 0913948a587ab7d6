// Test helpers for the protocol layer (no tests here): seeded randomness that names its seed, typed-error
// assertions, two in-process devices, a minimal protobuf reader/writer written independently of protobufjs,
// and the key-exchange handling an upper layer would do (look up the pre keys, recognise a repeated one).
import * as assert from 'uvu/assert';
import { bytesEqual, fromHex, toHex, utf8Encode } from '../../src/crypto/bytes';
import { OmemoError, type OmemoErrorCode } from '../../src/crypto/errors';
import { seededRng, type Rng } from '../../src/crypto/random';
import { x25519GenerateKeyPair, type KeyPair } from '../../src/crypto/x25519';
import type { ProtocolVersion } from '../../src/protocol/constants';
import {
  generateIdentityKeyPair,
  identityWireKey,
  signSignedPreKey,
  type IdentityKeyPair,
} from '../../src/protocol/identity-key';
import { Session, type PreKeyBundle } from '../../src/protocol/session';
import { deserializeSession, serializeSession } from '../../src/protocol/session-record';
import { parseKeyExchange, parseMessage, type ParsedKeyExchange } from '../../src/protocol/wire';
import { serializeSessionWithProtobufjs } from './protobufjs-reference';

export const VERSIONS: ProtocolVersion[] = ['oldmemo', 'twomemo'];

/**
 * The base seed of every randomised test. Override with PROTOCOL_TEST_SEED=<text> to explore other cases;
 * every failure message names the seed it ran with, so a failing case can be replayed.
 */
export const BASE_SEED = process.env.PROTOCOL_TEST_SEED ?? 'omemo-wasm protocol tests v1';

/** The seed string of one test case (printed in failure messages). */
export function caseSeed(label: string): string {
  return `${BASE_SEED}/${label}`;
}

/** A deterministic Rng for a case seed. */
export function rngFor(seed: string): Rng {
  return seededRng(utf8Encode(seed));
}

/** Deterministic test decisions (shuffles, burst sizes) drawn from a seeded Rng. */
export class Dice {
  private readonly rng: Rng;
  constructor(readonly seed: string) {
    this.rng = rngFor(`${seed}#dice`);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    const b = this.rng(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000;
  }
  shuffle<T>(items: T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** Asserts that `fn` throws an OmemoError with `code` (or one of `code`); returns it. */
export function throwsOmemo(fn: () => unknown, code: OmemoErrorCode | OmemoErrorCode[], context = ''): OmemoError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(caught !== undefined, `expected OmemoError ${codes.join('|')}, nothing was thrown ${context}`);
  assert.ok(caught instanceof OmemoError, `expected OmemoError ${codes.join('|')}, got ${String(caught)} ${context}`);
  const err = caught as OmemoError;
  assert.ok(
    codes.includes(err.code),
    `expected OmemoError ${codes.join('|')}, got ${err.code}: ${err.message} ${context}`,
  );
  return err;
}

/** Plaintext i of a conversation (32 bytes for 0.3: key16 ‖ tag16; 48 for OMEMO 2: key32 ‖ hmac16). */
export function plaintext(version: ProtocolVersion, label: string | number): Uint8Array {
  return rngFor(`plaintext ${label}`)(version === 'oldmemo' ? 32 : 48);
}

export const hex = toHex;
export const unhex = fromHex;

/** Byte equality by value, whatever the concrete class (protobufjs hands out Node Buffers). */
export function eqB(actual: Uint8Array | undefined, expected: Uint8Array | undefined, message?: string): void {
  assert.ok(actual instanceof Uint8Array, `${message ?? ''}: expected bytes, got ${String(actual)}`);
  assert.is(toHex(actual!), toHex(expected!), message);
}

/** A plain Uint8Array copy. (`x.slice()` on a Node Buffer is a view: mutating it would change `x` too.) */
export function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A device: identity, one signed pre key and a few one-time pre keys, as a key store would hold them. */
export interface Device {
  version: ProtocolVersion;
  identity: IdentityKeyPair;
  signedPreKeys: Map<number, KeyPair>;
  preKeys: Map<number, KeyPair>;
  signature: Uint8Array;
  signedPreKeyId: number;
}

export function makeDevice(version: ProtocolVersion, rng: Rng, firstPreKeyId = 1, preKeyCount = 3): Device {
  const identity = generateIdentityKeyPair(rng);
  const spk = x25519GenerateKeyPair(rng);
  const signedPreKeyId = 7;
  const preKeys = new Map<number, KeyPair>();
  for (let i = 0; i < preKeyCount; i++) preKeys.set(firstPreKeyId + i, x25519GenerateKeyPair(rng));
  return {
    version,
    identity,
    signedPreKeys: new Map([[signedPreKeyId, spk]]),
    preKeys,
    signature: signSignedPreKey(identity, version, spk.publicKey, rng),
    signedPreKeyId,
  };
}

/** The bundle of a device as another device reads it (`preKeyId` undefined: no one-time pre key). */
export function bundleOf(d: Device, preKeyId: number | undefined): PreKeyBundle {
  const spk = d.signedPreKeys.get(d.signedPreKeyId)!;
  const b: PreKeyBundle = {
    identityKey: identityWireKey(d.identity, d.version),
    signedPreKeyId: d.signedPreKeyId,
    signedPreKey: spk.publicKey,
    signedPreKeySignature: d.signature,
  };
  if (preKeyId !== undefined) {
    b.preKeyId = preKeyId;
    b.preKey = d.preKeys.get(preKeyId)!.publicKey;
  }
  return b;
}

/** What the receiving side of a key exchange remembers about the session it built (see receiveKeyExchange). */
export interface Inbound {
  session: Session;
  kex: { identityKey: Uint8Array; baseKey: Uint8Array; preKeyId: number | undefined; signedPreKeyId: number };
}

/**
 * What an upper layer does with a `<key prekey/kex="true">`: parse, and if it repeats the key exchange of the
 * session we have (same base key, identity and pre key ids) decrypt with that session; otherwise build a new
 * session from the named pre keys and keep it only if the message inside decrypts. The pre key ids are kept
 * beside the session here because SessionState does not record them on the responder side.
 */
export function receiveKeyExchange(
  d: Device,
  bytes: Uint8Array,
  existing: Inbound | undefined,
  rng: Rng,
): { inbound: Inbound; plaintext: Uint8Array; repeated: boolean } {
  const kex: ParsedKeyExchange = parseKeyExchange(d.version, bytes);
  if (existing !== undefined && sameKeyExchange(existing, kex)) {
    return { inbound: existing, plaintext: existing.session.decryptParsed(kex.message, rng), repeated: true };
  }
  const spk = d.signedPreKeys.get(kex.signedPreKeyId);
  if (spk === undefined) throw new OmemoError('unknown-signed-prekey', `no signed pre key ${kex.signedPreKeyId}`);
  let pk: KeyPair | undefined;
  if (kex.preKeyId !== undefined) {
    pk = d.preKeys.get(kex.preKeyId);
    if (pk === undefined) throw new OmemoError('unknown-prekey', `no pre key ${kex.preKeyId}`);
  }
  const session = Session.respond(d.identity, kex, spk, pk);
  const pt = session.decryptParsed(kex.message, rng);
  return {
    inbound: {
      session,
      kex: {
        identityKey: kex.identityKey,
        baseKey: kex.baseKey,
        preKeyId: kex.preKeyId,
        signedPreKeyId: kex.signedPreKeyId,
      },
    },
    plaintext: pt,
    repeated: false,
  };
}

function sameKeyExchange(existing: Inbound, kex: ParsedKeyExchange): boolean {
  return (
    bytesEqual(existing.session.baseKey, kex.baseKey) &&
    bytesEqual(existing.kex.identityKey, kex.identityKey) &&
    existing.kex.preKeyId === kex.preKeyId &&
    existing.kex.signedPreKeyId === kex.signedPreKeyId
  );
}

/** Two devices with an established session (key exchange answered), ready to exchange normal messages. */
export interface Pair {
  version: ProtocolVersion;
  seed: string;
  rng: Rng;
  aliceDevice: Device;
  bobDevice: Device;
  alice: Session;
  bob: Session;
  bobInbound: Inbound;
  /** The key exchange messages Alice sent before her session was answered. */
  kexMessages: Uint8Array[];
}

export interface PairOptions {
  withPreKey?: boolean;
  /** Stop after Bob received the key exchange (Alice still pending). */
  answered?: boolean;
}

export function makePair(version: ProtocolVersion, seed: string, options: PairOptions = {}): Pair {
  const withPreKey = options.withPreKey ?? true;
  const rng = rngFor(seed);
  const aliceDevice = makeDevice(version, rng);
  const bobDevice = makeDevice(version, rng, 100);
  const alice = Session.initiate(version, aliceDevice.identity, bundleOf(bobDevice, withPreKey ? 101 : undefined), rng);
  const first = alice.encrypt(plaintext(version, 'kex'));
  assert.ok(first.keyExchange, `first message must be a key exchange (seed ${seed})`);
  const got = receiveKeyExchange(bobDevice, first.data, undefined, rng);
  assert.equal(got.plaintext, plaintext(version, 'kex'), `key exchange plaintext (seed ${seed})`);
  const pair: Pair = {
    version,
    seed,
    rng,
    aliceDevice,
    bobDevice,
    alice,
    bob: got.inbound.session,
    bobInbound: got.inbound,
    kexMessages: [first.data],
  };
  if (options.answered ?? true) {
    const reply = pair.bob.encrypt(plaintext(version, 'reply'));
    assert.not.ok(reply.keyExchange, `the responder never sends a key exchange (seed ${seed})`);
    assert.equal(
      alice.decryptParsed(parseMessage(version, reply.data), rng),
      plaintext(version, 'reply'),
      `reply (seed ${seed})`,
    );
    assert.not.ok(alice.hasPendingKeyExchange, `answered session has no pending key exchange (seed ${seed})`);
  }
  return pair;
}

/** Decrypts a normal message with the pair's seeded Rng (DH steps draw a new ratchet key from it). */
export function recv(session: Session, version: ProtocolVersion, data: Uint8Array, rng: Rng): Uint8Array {
  return session.decryptParsed(parseMessage(version, data), rng);
}

/**
 * serialize → deserialize → serialize must give the same bytes, the hand-framed writer those of protobufjs;
 * returns the reloaded session.
 */
export function roundTrip(session: Session, what: string): Session {
  const bytes = serializeSession(session);
  const reference = serializeSessionWithProtobufjs(session);
  assert.is(hex(bytes), hex(reference), `${what}: the hand-framed writer differs from protobufjs`);
  const again = deserializeSession(bytes);
  assert.is(hex(serializeSession(again)), hex(bytes), `${what}: record bytes differ after a round trip`);
  assert.is(again.version, session.version);
  assert.is(again.hasPendingKeyExchange, session.hasPendingKeyExchange, what);
  assert.is(again.unansweredCount, session.unansweredCount, what);
  assert.is(hex(again.baseKey), hex(session.baseKey), what);
  assert.is(again.state.skipped.size, session.state.skipped.size, what);
  const order = `${what}: skipped keys keep their order (oldest first)`;
  assert.equal([...again.state.skipped.keys()], [...session.state.skipped.keys()], order);
  assert.is(again.archivedStates.length, session.archivedStates.length, `${what}: archived states`);
  session.archivedStates.forEach((a, i) => {
    const b = again.archivedStates[i]!;
    assert.is(hex(b.baseKey), hex(a.baseKey), `${what}: archived state ${i} in order`);
    assert.equal([...b.skipped.keys()], [...a.skipped.keys()], `${what}: archived state ${i} skipped keys`);
  });
  return again;
}

/** A session's record (to prove that a failed operation left it unchanged). */
export function snapshot(session: Session): string {
  return toHex(serializeSession(session));
}

// ------------------------------------------------------------------ minimal protobuf, independent of protobufjs

export interface PbField {
  field: number;
  wireType: number;
  /** varint value (wire type 0) */
  int?: number;
  /** length-delimited payload (wire type 2) */
  bytes?: Uint8Array;
  /** offset of the tag in the buffer */
  offset: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/** Decodes one protobuf message into its top-level fields (wire types 0 and 2 only; anything else throws). */
export function pbRead(buf: Uint8Array): PbField[] {
  const out: PbField[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const offset = pos;
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) {
      const [v, p2] = readVarint(buf, pos);
      out.push({ field, wireType, int: v, offset });
      pos = p2;
    } else if (wireType === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new Error('truncated length-delimited field');
      out.push({ field, wireType, bytes: buf.slice(p2, p2 + len), offset });
      pos = p2 + len;
    } else {
      throw new Error(`unexpected wire type ${wireType} at ${offset}`);
    }
  }
  return out;
}

/** Field numbers in order of appearance. */
export function pbFieldNumbers(buf: Uint8Array): number[] {
  return pbRead(buf).map((f) => f.field);
}

/** The single field `n` (asserts it occurs exactly once). */
export function pbGet(fields: PbField[], n: number): PbField {
  const found = fields.filter((f) => f.field === n);
  assert.is(found.length, 1, `field ${n} must occur once, occurs ${found.length} times`);
  return found[0]!;
}

function writeVarint(v: number): number[] {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80) {
    out.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return out;
}

/** A protobuf field to write: number → varint, Uint8Array → length-delimited. */
export type PbValue = [field: number, value: number | Uint8Array];

/** Encodes fields in the given order (so tests can omit, repeat or reorder fields). */
export function pbWrite(fields: PbValue[]): Uint8Array {
  const out: number[] = [];
  for (const [field, value] of fields) {
    if (typeof value === 'number') {
      out.push(...writeVarint(field * 8), ...writeVarint(value));
    } else {
      out.push(...writeVarint(field * 8 + 2), ...writeVarint(value.length), ...value);
    }
  }
  return Uint8Array.from(out);
}

/** Concatenation. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An Rng that hands out the given byte strings in order (replays another implementation's draws). */
export function scriptedRng(draws: Uint8Array[], label: string): Rng {
  let i = 0;
  return (n: number) => {
    const next = draws[i++];
    if (next === undefined) throw new Error(`${label}: scripted Rng exhausted after ${draws.length} draws`);
    if (next.length !== n) throw new Error(`${label}: draw ${i - 1} has ${next.length} bytes, ${n} requested`);
    return next.slice();
  };
}

// ------------------------------------------------------------------ one peer as the manager keeps it

/**
 * What the session manager keeps per remote device: one Session (current + archived states), replaced only when
 * a received message decrypted. `archive` is the new behaviour (withArchiveFrom/hasState); `replace` is what the
 * manager did before archived states existed: the newest session replaces the stored one.
 */
export type KeepPolicy = 'archive' | 'replace';

export interface Side {
  name: string;
  device: Device;
  session: Session | undefined;
  policy: KeepPolicy;
}

export interface Sent {
  data: Uint8Array;
  keyExchange: boolean;
  plain: Uint8Array;
  label: string;
}

/** Starts a new session with `other`'s bundle; an existing one is archived (policy `archive`) or dropped. */
export function sideInitiate(side: Side, other: Device, preKeyId: number | undefined, rng: Rng): void {
  const fresh = Session.initiate(side.device.version, side.device.identity, bundleOf(other, preKeyId), rng);
  if (side.session !== undefined && side.policy === 'archive') fresh.withArchiveFrom(side.session);
  side.session = fresh;
}

/** Encrypts with the side's session (its current state). */
export function sideSend(side: Side, label: string): Sent {
  const plain = plaintext(side.device.version, `${side.name} ${label}`);
  const e = side.session!.encrypt(plain);
  return { data: e.data, keyExchange: e.keyExchange, plain, label: `${side.name} ${label}` };
}

/**
 * Receives a `<key>` as the manager does, on a clone that replaces the stored session only on success: a key
 * exchange whose base key and identity match a kept state (policy `archive`: any state, `hasState`; `replace`:
 * the current one, as before) decrypts there; another builds a new session from our pre keys, which replaces the
 * stored one (archiving it under policy `archive`) once its message decrypted.
 * @returns the plaintext and whether a new session was built.
 */
export function sideReceive(side: Side, m: Sent, rng: Rng): { plaintext: Uint8Array; built: boolean } {
  const version = side.device.version;
  const stored = side.session?.clone();
  if (m.keyExchange) {
    const kex = parseKeyExchange(version, m.data);
    const known =
      stored !== undefined &&
      (side.policy === 'archive'
        ? stored.hasState(kex.baseKey, kex.identityKey)
        : bytesEqual(stored.baseKey, kex.baseKey) && bytesEqual(stored.remoteIdentityKey, kex.identityKey));
    if (known) {
      const pt = stored!.decryptParsed(kex.message, rng);
      side.session = stored;
      return { plaintext: pt, built: false };
    }
    const spk = side.device.signedPreKeys.get(kex.signedPreKeyId);
    if (spk === undefined) throw new OmemoError('unknown-signed-prekey', `no signed pre key ${kex.signedPreKeyId}`);
    const pk = kex.preKeyId === undefined ? undefined : side.device.preKeys.get(kex.preKeyId);
    if (kex.preKeyId !== undefined && pk === undefined) {
      throw new OmemoError('unknown-prekey', `no pre key ${kex.preKeyId}`);
    }
    const fresh = Session.respond(side.device.identity, kex, spk, pk);
    const pt = fresh.decryptParsed(kex.message, rng);
    if (stored !== undefined && side.policy === 'archive') fresh.withArchiveFrom(stored);
    side.session = fresh;
    return { plaintext: pt, built: true };
  }
  if (stored === undefined) throw new OmemoError('no-session', `${side.name} has no session`);
  const pt = stored.decryptParsed(parseMessage(version, m.data), rng);
  side.session = stored;
  return { plaintext: pt, built: false };
}

/**
 * Crossed key exchanges: Alice and Bob each initiate (Alice with Bob's pre key 101, Bob with Alice's pre key 1)
 * and send one key exchange message before receiving anything; nothing delivered yet.
 */
export function makeCrossed(version: ProtocolVersion, seed: string, policy: KeepPolicy = 'archive') {
  const rng = rngFor(seed);
  const alice: Side = { name: 'alice', device: makeDevice(version, rng), session: undefined, policy };
  const bob: Side = { name: 'bob', device: makeDevice(version, rng, 100), session: undefined, policy };
  sideInitiate(alice, bob.device, 101, rng);
  sideInitiate(bob, alice.device, 1, rng);
  const kexA = sideSend(alice, 'kex');
  const kexB = sideSend(bob, 'kex');
  assert.ok(kexA.keyExchange && kexB.keyExchange, `both first messages are key exchanges (seed ${seed})`);
  const aliceBase = copy(alice.session!.baseKey);
  const bobBase = copy(bob.session!.baseKey);
  return { version, seed, rng, alice, bob, kexA, kexB, aliceBase, bobBase };
}
