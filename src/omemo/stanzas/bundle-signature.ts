// XEP-0384 0.3.0 §4.3 / 0.9 §5.3.2: checking a bundle's signed pre key signature before using it.
import { verifySignedPreKey } from '../../protocol/identity-key';
// The one name stanzas/ takes from versions/, a type (erased): the public signature reads OmemoVersion.
import type { OmemoVersion } from '../versions/backend';
import type { BundleData } from './bundle';

/**
 * True when the bundle's signed pre key signature verifies against its identity key.
 * @throws TypeError/RangeError for keys or a signature of the wrong type or length.
 */
export function verifyBundleSignature(bundle: BundleData, version: OmemoVersion): boolean {
  return verifySignedPreKey(version, bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature);
}
