// Empty OMEMO messages the manager sends on its own (XEP-0384 0.9 §4.6 and 0.3.0 §4.6: session completion,
// heartbeat, repair, reset).
import { bytesEqual, createByteArena, toHex, utf8Decode, utf8Encode } from '../../crypto/bytes';
import { OmemoError } from '../../crypto/errors';
import type { Rng } from '../../crypto/random';
import { randomBytes } from '../../crypto/random';
import { cryptoReady } from '../../crypto/sodium';
import { x25519GenerateKeyPair } from '../../crypto/x25519';
import type { IdentityKeyPair } from '../../protocol/identity-key';
import { generateIdentityKeyPair, identityFromPrivate, identityWireKey, remoteIdentityToCurve, signSignedPreKey } from '../../protocol/identity-key';
import { Session, type SessionState } from '../../protocol/session';
import { deserializeSession, serializeSession } from '../../protocol/session-record';
import { parseKeyExchange, parseMessage } from '../../protocol/wire';
import { MAX_KEYS_PER_MESSAGE } from '../encrypted-element';
import { adoptIdentityKey, type IdentityChange } from '../policies/identity-trust';
import {
  checkConsumedPreKeyPolicy,
  checkPreKeyUse,
  DEFAULT_CONSUMED_PRE_KEY_POLICY,
  expiredPreKeys,
  markPreKeyUsed,
  type ConsumedPreKeyPolicy,
} from '../policies/pre-key-policy';
import { checkStaleDevicePolicy, DEFAULT_STALE_DEVICE_POLICY, isStale, type StaleDevicePolicy } from '../policies/stale-device';
import { DEFAULT_MAX_ENCRYPTED_ELEMENT_BYTES, encryptedElementBytes, keyElementBytes } from '../stanza-size';
import { parseBundle, serializeBundle, type BundleData } from '../bundle';
import { parseDeviceList, serializeDeviceList, MAX_DEVICES_PER_LIST } from '../device-list';
import { keysFor, parseEncrypted, serializeEncrypted, type EncryptedKey, type ParsedEncrypted } from '../encrypted-element';
import { bareJid } from '../jid';
import { OMEMO_VERSIONS, pepLocations, type OmemoVersion } from '../namespaces';
import { openPayload, sealPayload } from '../payload';
import { publishOptionsFor } from '../publish-options';
import { buildEnvelope, parseEnvelope, type ParsedEnvelope } from '../sce';
import type { OmemoStore, SessionAddress, StoreChanges, StoredDevice, StoredIdentity, StoredPreKey, StoredSignedPreKey, TrustLevel } from '../store/store';
import { deviceKey, deviceListKey, sessionKey } from '../store/store';
import type { AutomaticMessageKind, OmemoTransport } from './transport';
import { initialTrust, isTrusted, type TrustPolicy } from '../policies/trust';
import { MAX_ID } from '../wire-values';

import type { ManagerCore } from './manager-core';
import type { AutomaticMessage, DeviceInfo, DeviceReport, EncryptedElementOut, EncryptOptions, EncryptResult, DecryptResult, OmemoManagerOptions } from './manager-types';

/** An empty message on `session` (advanced by it) to the device at `address`. */
export function emptyMessageOn(core: ManagerCore, session: Session, address: SessionAddress, kind: AutomaticMessageKind): AutomaticMessage {
  const { version, jid, deviceId } = address;
  const sealed = sealPayload(version, undefined, core.rng);
  const out = session.encrypt(sealed.keyMaterial);
  const keys = [{ ...(version === 'twomemo' ? { jid } : {}), rid: deviceId, keyExchange: out.keyExchange, data: out.data }];
  const xml = serializeEncrypted({ sid: core.deviceId, keys, ...(sealed.iv ? { iv: sealed.iv } : {}) }, version);
  return { to: jid, version, kind, xml };
}
