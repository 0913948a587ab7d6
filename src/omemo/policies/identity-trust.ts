// Trust per identity key (XEP-0384 0.9 §6 "Trust"; XEP-0450 "Blind trust before verification"): a device id is
// only an address, what is trusted is the identity key behind it. A known device that shows a new identity key is a
// new fingerprint: it starts from the policy's initial trust, and the old key keeps its own (should it come back).
import { bytesEqual, toHex } from '../../crypto/bytes';
import type { PreviousIdentity, StoredDevice, TrustLevel } from '../store/store';

/**
 * Earlier identity keys remembered per device with their trust (memory bound: 33 bytes each in SQLite). Enough for
 * a device that flips between a few keys (a restored backup, an attacker's injected key); older ones are forgotten
 * and would start from the initial trust again.
 */
export const MAX_PREVIOUS_IDENTITIES_PER_DEVICE = 8;

/** An identity key change of a known device, as reported to callers. */
export interface IdentityChange {
  /** Hex of the Curve25519 identity key the device had before. */
  previousFingerprint: string;
  /** Hex of its new identity key. */
  fingerprint: string;
  /** Trust of the new key (its own earlier trust if it had this key before, else the policy's initial trust). */
  trust: TrustLevel;
}

/**
 * `device` with `identityKey` as its current key. A first key is simply recorded (the device's trust was decided
 * for it); a different key moves the old one with its trust to `previousIdentities` and takes either the trust
 * this key had before or `initial()`.
 * @returns the updated device (a copy; `device` is not changed) and the change, if the key changed.
 */
export function adoptIdentityKey(
  device: StoredDevice,
  identityKey: Uint8Array,
  initial: () => TrustLevel,
): { device: StoredDevice; change: IdentityChange | undefined } {
  if (device.identityKey === undefined) return { device: { ...device, identityKey }, change: undefined };
  if (bytesEqual(device.identityKey, identityKey)) return { device, change: undefined };
  const earlier = device.previousIdentities ?? [];
  const known = earlier.find((p) => bytesEqual(p.identityKey, identityKey));
  const trust = known !== undefined ? known.trust : initial();
  const previousIdentities: PreviousIdentity[] = [
    { identityKey: device.identityKey, trust: device.trust },
    ...earlier.filter((p) => p !== known),
  ].slice(0, MAX_PREVIOUS_IDENTITIES_PER_DEVICE);
  return {
    device: { ...device, identityKey, trust, previousIdentities },
    change: { previousFingerprint: toHex(device.identityKey), fingerprint: toHex(identityKey), trust },
  };
}
