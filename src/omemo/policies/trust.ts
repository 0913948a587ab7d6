// Trust decisions of XEP-0384 0.9 §6 and XEP-0450-style blind trust before verification (BTBV). Trust belongs to an
// identity key, not to a device id (identity-trust.ts). The rule, as the manager applies it:
// - sending: only to `blind` and `verified` keys; `undecided` and `distrusted` devices are skipped and reported;
// - receiving: messages from `distrusted` keys are refused (`untrusted-device`, nothing stored); messages from
//   `undecided` keys are decrypted and returned with `trust: 'undecided'`: the application decides how to show
//   them (mark them, hold them until the user decides, or drop them), as Conversations and Gajim do.
import type { StoredDevice, TrustLevel } from '../store/store';

/** How new identity keys (new devices, or a known device with a new key) are trusted. */
export type TrustPolicy =
  /** Blind trust before verification: new keys are trusted until one key of that JID is verified. */
  | 'btbv'
  /** Every new key is trusted. */
  | 'blind'
  /** Every new key waits for a decision (undecided keys are not encrypted to). */
  | 'manual';

/**
 * The trust a new identity key of a JID starts with (a newly seen device, or a known device whose key changed),
 * given the known devices of that JID. Under BTBV a key is blindly trusted until the JID has a verified key, also
 * counting the keys its devices had before (a verified device whose key changes is what verification is for).
 */
export function initialTrust(policy: TrustPolicy, devicesOfJid: readonly StoredDevice[]): TrustLevel {
  if (policy === 'blind') return 'blind';
  if (policy === 'manual') return 'undecided';
  const verified = (d: StoredDevice) =>
    d.trust === 'verified' || (d.previousIdentities ?? []).some((p) => p.trust === 'verified');
  return devicesOfJid.some(verified) ? 'undecided' : 'blind';
}

/** Whether we encrypt to a key of this trust level (messages from `undecided` keys are still returned, marked). */
export function isTrusted(level: TrustLevel): boolean {
  return level === 'blind' || level === 'verified';
}

/** Fingerprint of an identity key (Curve25519 form): lowercase hex, as python-omemo and Conversations show it. */
export function formatFingerprint(hex: string): string {
  return hex.match(/.{1,8}/g)?.join(' ') ?? '';
}
