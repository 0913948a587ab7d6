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

/** The trust a newly seen device of a JID starts with, given the other known devices of that JID. */
export function initialTrust(policy: TrustPolicy, otherDevicesOfJid: readonly StoredDevice[]): TrustLevel {
  if (policy === 'blind') return 'blind';
  if (policy === 'manual') return 'undecided';
  return otherDevicesOfJid.some((d) => d.trust === 'verified') ? 'undecided' : 'blind';
}

/** Whether we encrypt to (and accept messages from) a device of this trust level. */
export function isTrusted(level: TrustLevel): boolean {
  return level === 'blind' || level === 'verified';
}

/** Fingerprint of an identity key (Curve25519 form): lowercase hex, as python-omemo and Conversations show it. */
export function formatFingerprint(hex: string): string {
  return hex.match(/.{1,8}/g)?.join(' ') ?? '';
}
