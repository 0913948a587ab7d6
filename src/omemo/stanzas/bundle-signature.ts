// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: checking a bundle's signed pre key signature before using it.
import { verifySignedPreKey } from '../../protocol/identity-key';
import type { BundleData } from './bundle';
import type { OmemoVersion } from '../versions/backend';

/** True when the bundle's signed pre key signature verifies against its identity key. */
export function verifyBundleSignature(bundle: BundleData, version: OmemoVersion): boolean {
  return verifySignedPreKey(version, bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature);
}
