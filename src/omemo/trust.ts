// Trust decisions of XEP-0384 0.9 §6 and XEP-0450-style blind trust before verification (BTBV).
import type { StoredDevice, TrustLevel } from './store';

/** How new devices are trusted. */
export type TrustPolicy =
  /** Blind trust before verification: new devices are trusted until one device of that JID is verified. */
  | 'btbv'
  /** Every new device is trusted. */
  | 'blind'
  /** Every new device waits for a decision (undecided devices are not encrypted to). */
  | 'manual';

/**
 * The trust a new identity key of a JID starts with (a newly seen device, or a known device whose key changed),
 * given the known devices of that JID. Under BTBV a key is blindly trusted until the JID has a verified key, also
 * counting the keys its devices had before (a verified device whose key changes is what verification is for).
 */
export function initialTrust(policy: TrustPolicy, devicesOfJid: readonly StoredDevice[]): TrustLevel {
  if (policy === 'blind') return 'blind';
  if (policy === 'manual') return 'undecided';
  const verified = (d: StoredDevice) => d.trust === 'verified' || (d.previousIdentities ?? []).some((p) => p.trust === 'verified');
  return devicesOfJid.some(verified) ? 'undecided' : 'blind';
}

/** Whether we encrypt to (and accept messages from) a device of this trust level. */
export function isTrusted(level: TrustLevel): boolean {
  return level === 'blind' || level === 'verified';
}

/** Fingerprint of an identity key (Curve25519 form): lowercase hex, as python-omemo and Conversations show it. */
export function formatFingerprint(hex: string): string {
  return hex.match(/.{1,8}/g)?.join(' ') ?? '';
}
