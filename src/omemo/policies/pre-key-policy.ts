// What happens to a one-time pre key once a key exchange used it (X3DH §3.4 says delete it; XEP-0384 §4.3 lets
// OMEMO keep it during a history catch-up). Every contact who fetched the same bundle may pick the same key, so
// deleting it at once loses the first messages of all but one of them (100 contacts and 100 keys: ~37 % collide).
// The policy hides a used key from the bundle at once but keeps its private part for a bounded time and count;
// the key exchanges it accepted are remembered, so the same one again is a replay.
import { bytesEqual } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import type { StoredPreKey } from '../store/store';

/** Default time a used pre key is kept for other contacts' first messages (ms): one day. */
export const CONSUMED_PRE_KEY_KEEP_MS = 24 * 3600 * 1000;
/** Default number of used pre keys kept at once (oldest deleted first): as many as a bundle offers. */
export const CONSUMED_PRE_KEYS_KEPT_MAX = 100;
/**
 * Key exchanges one kept pre key accepts (memory: 32 bytes each). With 100 keys and 100 contacts at once, the most
 * any key is picked is about 5; this leaves room for much larger bursts and still bounds the record.
 */
export const MAX_KEY_EXCHANGES_PER_PRE_KEY = 32;

/**
 * How long used one-time pre keys are kept. `{ keepMs: 0 }` deletes a used key at once (strict forward secrecy of
 * first messages, at the price of the first messages of contacts whose bundle snapshot picked the same key).
 */
export interface ConsumedPreKeyPolicy {
  keepMs: number;
  maxKept: number;
}

/** One day and at most 100 keys (see README, "Pre keys"). */
export const DEFAULT_CONSUMED_PRE_KEY_POLICY: ConsumedPreKeyPolicy = {
  keepMs: CONSUMED_PRE_KEY_KEEP_MS,
  maxKept: CONSUMED_PRE_KEYS_KEPT_MAX,
};

/**
 * Checks a policy given by a caller.
 * @throws TypeError/RangeError for anything but two non-negative numbers (`maxKept` an integer).
 */
export function checkConsumedPreKeyPolicy(policy: unknown): ConsumedPreKeyPolicy {
  if (typeof policy !== 'object' || policy === null) throw new TypeError('consumedPreKeys must be { keepMs, maxKept }');
  const { keepMs, maxKept } = policy as Record<string, unknown>;
  if (typeof keepMs !== 'number' || !(keepMs >= 0))
    throw new RangeError(`consumedPreKeys.keepMs must be a number ≥ 0, got ${String(keepMs)}`);
  if (!Number.isSafeInteger(maxKept) || (maxKept as number) < 0)
    throw new RangeError(`consumedPreKeys.maxKept must be an integer ≥ 0, got ${String(maxKept)}`);
  return { keepMs, maxKept: maxKept as number };
}

/**
 * Whether a key exchange with `baseKey` may use the stored pre key `key`: a live key always; a used one only
 * while it is kept, and never twice for the same key exchange.
 * @throws OmemoError `duplicate-message` for a key exchange it accepted already; `unknown-prekey` for a used key
 *   whose time is over (`keepUsed` false) or that accepted MAX_KEY_EXCHANGES_PER_PRE_KEY already.
 */
export function checkPreKeyUse(key: StoredPreKey, baseKey: Uint8Array, keepUsed: boolean): void {
  if (!key.consumed) return;
  const accepted = key.acceptedBaseKeys ?? [];
  if (accepted.some((b) => bytesEqual(b, baseKey)))
    throw new OmemoError('duplicate-message', `this key exchange already used pre key ${key.id}`);
  if (!keepUsed) throw new OmemoError('unknown-prekey', `pre key ${key.id} was used and is no longer kept`);
  if (accepted.length >= MAX_KEY_EXCHANGES_PER_PRE_KEY)
    throw new OmemoError('unknown-prekey', `pre key ${key.id} was used by too many key exchanges`);
}

/** `key` after a key exchange with `baseKey` used it at `now` (a copy). */
export function markPreKeyUsed(key: StoredPreKey, baseKey: Uint8Array, now: number): StoredPreKey {
  return {
    ...key,
    consumed: true,
    consumedAt: key.consumedAt || now,
    acceptedBaseKeys: [...(key.acceptedBaseKeys ?? []), baseKey.slice()],
  };
}

/**
 * The used keys to delete now: those kept longer than `keepMs` and, beyond `maxKept`, the oldest. During a
 * history catch-up nothing is deleted (every used key is kept until it ends).
 */
export function expiredPreKeys(
  keys: Iterable<StoredPreKey>,
  policy: ConsumedPreKeyPolicy,
  now: number,
  catchingUp: boolean,
): number[] {
  if (catchingUp) return [];
  const used = [...keys]
    .filter((k) => k.consumed)
    .sort((a, b) => (a.consumedAt ?? 0) - (b.consumedAt ?? 0) || a.id - b.id);
  const expired = new Set(used.filter((k) => now - (k.consumedAt ?? 0) >= policy.keepMs).map((k) => k.id));
  const left = used.filter((k) => !expired.has(k.id));
  for (const k of left.slice(0, Math.max(0, left.length - policy.maxKept))) expired.add(k.id);
  return [...expired];
}
