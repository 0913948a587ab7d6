// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: checking a bundle's signed pre key signature before using it.
import type { ProtocolVersion } from '../../protocol/constants';
import { verifySignedPreKey } from '../../protocol/identity-key';
import type { BundleData } from './bundle';

/**
 * True when the bundle's signed pre key signature verifies against its identity key (`version` is an OmemoVersion).
 * @throws TypeError/RangeError for keys or a signature of the wrong type or length.
 */
export function verifyBundleSignature(bundle: BundleData, version: ProtocolVersion): boolean {
  return verifySignedPreKey(version, bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature);
}
