// The shapes of the records IndexedDbStore keeps (store.ts): checked on the way in (a malformed value is the
// caller's TypeError and aborts the commit) and on the way out (a database that another script or an old bug
// changed is a `store-error`, never a crash deeper in the manager).
import type { OmemoVersion } from '../versions/backend';
import type { StoredDevice, StoredIdentity, StoredPreKey, StoredSignedPreKey, TrustLevel } from './store';

/** Lengths of the stored keys (bytes): Curve25519 private and public keys, XEdDSA signatures. */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const TRUST_LEVELS: readonly unknown[] = ['undecided', 'blind', 'verified', 'distrusted'] satisfies TrustLevel[];
const VERSIONS: readonly unknown[] = ['oldmemo', 'twomemo'] satisfies OmemoVersion[];

/** What is wrong with a value, or undefined when it has its shape. */
export type Problem = string | undefined;

type Fields = Record<string, unknown>;

function bytes(v: unknown, name: string, length?: number): Problem {
  if (!(v instanceof Uint8Array)) return `${name} is not a Uint8Array`;
  if (length !== undefined && v.length !== length) return `${name} is ${v.length} bytes, not ${length}`;
  return undefined;
}

function int(v: unknown, name: string): Problem {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : `${name} is not an integer ≥ 0`;
}

function time(v: unknown, name: string): Problem {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : `${name} is not a time`;
}

function optional(v: unknown, check: (v: unknown) => Problem): Problem {
  return v === undefined ? undefined : check(v);
}

function first(...problems: Problem[]): Problem {
  return problems.find((p) => p !== undefined);
}

function object(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null;
}

export function identityProblem(v: unknown): Problem {
  if (!object(v)) return 'not an object';
  return first(
    typeof v.jid === 'string' && v.jid !== '' ? undefined : 'jid is not a string',
    int(v.deviceId, 'deviceId'),
    bytes(v.identityPrivateKey, 'identityPrivateKey', KEY_BYTES),
    int(v.nextPreKeyId, 'nextPreKeyId'),
    int(v.nextSignedPreKeyId, 'nextSignedPreKeyId'),
    optional(v.label, (l) => (typeof l === 'string' ? undefined : 'label is not a string')),
  );
}

export function signedPreKeyProblem(v: unknown): Problem {
  if (!object(v)) return 'not an object';
  const s = v.signatures;
  if (!object(s)) return 'signatures is not an object';
  return first(
    int(v.id, 'id'),
    bytes(v.privateKey, 'privateKey', KEY_BYTES),
    bytes(v.publicKey, 'publicKey', KEY_BYTES),
    bytes(s.oldmemo, 'signatures.oldmemo', SIGNATURE_BYTES),
    bytes(s.twomemo, 'signatures.twomemo', SIGNATURE_BYTES),
    time(v.createdAt, 'createdAt'),
  );
}

export function preKeyProblem(v: unknown): Problem {
  if (!object(v)) return 'not an object';
  return first(
    int(v.id, 'id'),
    bytes(v.privateKey, 'privateKey', KEY_BYTES),
    bytes(v.publicKey, 'publicKey', KEY_BYTES),
    typeof v.consumed === 'boolean' ? undefined : 'consumed is not a boolean',
    optional(v.consumedAt, (t) => time(t, 'consumedAt')),
    optional(v.acceptedBaseKeys, (keys) =>
      Array.isArray(keys)
        ? first(...keys.map((k, i) => bytes(k, `acceptedBaseKeys[${i}]`, KEY_BYTES)))
        : 'acceptedBaseKeys is not an array',
    ),
  );
}

export function deviceListProblem(v: unknown): Problem {
  if (!Array.isArray(v)) return 'not an array';
  return first(...v.map((id, i) => int(id, `deviceIds[${i}]`)));
}

export function deviceProblem(v: unknown): Problem {
  if (!object(v)) return 'not an object';
  return first(
    typeof v.jid === 'string' && v.jid !== '' ? undefined : 'jid is not a string',
    int(v.deviceId, 'deviceId'),
    Array.isArray(v.activeIn) && v.activeIn.every((x) => VERSIONS.includes(x)) ? undefined : 'activeIn is not versions',
    TRUST_LEVELS.includes(v.trust) ? undefined : 'trust is not a trust level',
    optional(v.label, (l) => (typeof l === 'string' ? undefined : 'label is not a string')),
    optional(v.identityKey, (k) => bytes(k, 'identityKey', KEY_BYTES)),
    optional(v.previousIdentities, (list) =>
      Array.isArray(list)
        ? first(
            ...list.map((p, i) =>
              object(p)
                ? first(
                    bytes(p.identityKey, `previousIdentities[${i}].identityKey`, KEY_BYTES),
                    TRUST_LEVELS.includes(p.trust) ? undefined : `previousIdentities[${i}].trust is not a trust level`,
                  )
                : `previousIdentities[${i}] is not an object`,
            ),
          )
        : 'previousIdentities is not an array',
    ),
    int(v.sentSinceLastReceived, 'sentSinceLastReceived'),
    time(v.lastReceivedAt, 'lastReceivedAt'),
    optional(v.unansweredSince, (t) => time(t, 'unansweredSince')),
  );
}

export function sessionProblem(v: unknown): Problem {
  return bytes(v, 'record');
}

/** The checked records of one kind, by name (for messages). */
export const RECORD_CHECKS = {
  identity: identityProblem,
  'signed pre key': signedPreKeyProblem,
  'pre key': preKeyProblem,
  'device list': deviceListProblem,
  device: deviceProblem,
  session: sessionProblem,
} as const;

/** Names of the record kinds. */
export type RecordKind = keyof typeof RECORD_CHECKS;

/** Narrows the record types: what each kind is once checked. */
export interface CheckedRecords {
  identity: StoredIdentity;
  'signed pre key': StoredSignedPreKey;
  'pre key': StoredPreKey;
  'device list': number[];
  device: StoredDevice;
  session: Uint8Array;
}
