// XEP-0384 0.3.0 §4 / 0.9 §5: a backend's stanza codecs, built the same way for every version from the data that
// tells the versions apart (element names, key encodings, header shapes, size bounds).
import { readBundle, writeBundle, type BundleFormat } from '../stanzas/bundle';
import { readDeviceList, writeDeviceList, type DeviceListFormat } from '../stanzas/device-list';
import { readEncrypted, writeEncrypted, type EncryptedFormat } from '../stanzas/encrypted-element';
import { scanPlainEncrypted } from '../stanzas/encrypted-plain';
import { encryptedElementBound, keyElementBound, type StanzaSizeBounds } from '../stanzas/stanza-size';
import type { OmemoBackend, OmemoVersion } from './backend';

/** What one version's stanzas look like. */
export interface StanzaFormats {
  readonly deviceList: DeviceListFormat;
  readonly bundle: BundleFormat;
  readonly encrypted: EncryptedFormat;
  readonly size: StanzaSizeBounds;
}

/** The members of OmemoBackend that stanzaCodecs builds. */
export type StanzaCodecs = Pick<
  OmemoBackend,
  | 'supportsLabels'
  | 'parseDeviceList'
  | 'serializeDeviceList'
  | 'parseBundle'
  | 'serializeBundle'
  | 'parseEncrypted'
  | 'serializeEncrypted'
  | 'payloadCiphertextBytes'
  | 'keyElementBytes'
  | 'encryptedElementBytes'
>;

/**
 * The stanza codecs and size bounds of `version`, whose stanzas look like `f`.
 * @throws nothing (the codecs throw as OmemoBackend documents).
 */
export function stanzaCodecs(version: OmemoVersion, f: StanzaFormats): StanzaCodecs {
  return {
    supportsLabels: f.deviceList.labels,
    parseDeviceList: (xml) => readDeviceList(xml, f.deviceList),
    serializeDeviceList: (entries) => writeDeviceList(entries, f.deviceList),
    parseBundle: (xml, choosePreKey) => readBundle(xml, f.bundle, choosePreKey),
    serializeBundle: (bundle) => writeBundle(bundle, f.bundle),
    // The plain shape every client writes: read from the text, no tree (encrypted-plain.ts); else every check.
    parseEncrypted: (xml, keep, transient = false) =>
      (typeof xml === 'string' ? scanPlainEncrypted(xml, f.encrypted, keep, transient, version) : undefined) ?? {
        version,
        ...readEncrypted(xml, f.encrypted, keep, transient),
      },
    serializeEncrypted: (data) => writeEncrypted(data, f.encrypted),
    payloadCiphertextBytes: f.size.payloadCiphertextBytes,
    keyElementBytes: (keyExchange) => keyElementBound(f.size, keyExchange),
    encryptedElementBytes: (keyBytes, jids, plaintextBytes) =>
      encryptedElementBound(f.size, keyBytes, jids, plaintextBytes),
  };
}
