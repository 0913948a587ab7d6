// The OMEMO session manager (XEP-0384 0.3.0 §4 and 0.9 §4–§6 for both versions at once), as a thin facade: it
// checks arguments, runs one operation at a time, and puts our own keys back when an operation fails. The work is
// in one module per concern: own-keys, publishing, device-registry, session-builder, encryption, decryption,
// repair, catch-up (python-omemo's SessionManager over its backends; libsignal's session management apart from the
// ratchet cipher). XMPP-library-agnostic: the host supplies an OmemoTransport and feeds in events and messages.
import type { XmlElement } from '../stanzas/xml';
import { toHex } from '../../crypto/bytes';
import { cryptoReady } from '../../crypto/ready';
import { parseDeviceList } from '../versions/by-version';
import { bareJid } from '../stanzas/jid';
import type { OmemoVersion } from '../versions/backend';
import type { TrustLevel } from '../store/store';
import { MAX_ID } from '../stanzas/wire-values';
import { endCatchUp } from './catch-up';
import { decryptMessage } from './decryption';
import { applyDeviceList, devicesOf, devicesWithoutSession, isOwnDevicePublished, setTrust } from './device-registry';
import { encryptTo } from './encryption';
import { ManagerCore } from './manager-core';
import type {
  AutomaticMessage,
  DecryptResult,
  DeviceInfo,
  EncryptOptions,
  EncryptResult,
  OmemoManagerOptions,
} from './manager-types';
import { bundleXml, loadOwnKeys, maintainKeys, preKeyIds } from './own-keys';
import { deviceListXml, publishOwn, republishBundles, REPUBLISH_DEFERRED_OPERATIONS_MAX } from './publishing';
import { resetSessions } from './repair';
import { buildSession } from './session-builder';

export { HEARTBEAT_AFTER_MESSAGES } from './decryption';
export { DEVICE_LIST_CACHE_ENTRIES, SESSION_CACHE_ENTRIES } from './manager-core';
export type {
  AutomaticMessage,
  DecryptResult,
  DeviceInfo,
  DeviceReport,
  EncryptedElementOut,
  EncryptOptions,
  EncryptResult,
  OmemoManagerOptions,
  RecipientReport,
} from './manager-types';
export { PRE_KEY_COUNT, SIGNED_PRE_KEY_ROTATION_MS } from './own-keys';
export { REPUBLISH_DEFERRED_OPERATIONS_MAX } from './publishing';
export { SESSION_REPAIR_INTERVAL_MS } from './repair';
export { STALE_DEVICE_AFTER_DAYS, STALE_DEVICE_AFTER_MESSAGES } from '../policies/stale-device';

function checkDeviceId(deviceId: number): void {
  if (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > MAX_ID)
    throw new RangeError(`device id must be in 1..${MAX_ID}, got ${deviceId}`);
}

/** An operation in the manager's queue and its caller's promise. */
interface QueuedOperation {
  fn: (core: ManagerCore) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** Settles an operation's caller once its staged changes are durable, after the callbacks that waited for that. */
function settleWhenDurable(
  task: QueuedOperation,
  value: unknown,
  durables: Promise<void>[],
  after: (() => Promise<void>)[],
): void {
  Promise.all(durables)
    .then(async () => {
      for (const f of after) await f();
      return value;
    })
    .then(task.resolve, task.reject);
}

/**
 * The OMEMO session manager: one account, one device, both protocol versions.
 * All operations are serialized internally, so concurrent calls never race on a session.
 */
export class OmemoManager {
  readonly #core: ManagerCore;
  /** Operations waiting their turn, oldest first, with their callers' settle functions (see #exclusive). */
  #tasks: QueuedOperation[] = [];
  /** Whether #pump is running the queue. */
  #pumping = false;
  /** Operations queued or running. */
  #waiting = 0;

  private constructor(options: OmemoManagerOptions) {
    this.#core = new ManagerCore(options);
  }

  /**
   * Loads (or creates) the identity, device id and keys from the store, rotates the signed pre key if due
   * and, unless `publish: false`, publishes our device lists and bundles.
   * @throws OmemoError `store-owner-mismatch` when the store belongs to another JID; `store-error`,
   *   `transport-error`. TypeError/RangeError for bad options.
   */
  static async open(options: OmemoManagerOptions): Promise<OmemoManager> {
    await cryptoReady();
    const m = new OmemoManager(options);
    await loadOwnKeys(m.#core, options);
    m.#core.committed ??= m.#core.snapshotOwn();
    m.#core.durableOwn ??= m.#core.committed;
    if (options.publish !== false) await m.publish();
    return m;
  }

  /** Our bare JID. */
  get jid(): string {
    return this.#core.jid;
  }

  /** The enabled OMEMO versions. */
  get versions(): readonly OmemoVersion[] {
    return this.#core.versions;
  }

  /** Our device id. */
  get deviceId(): number {
    return this.#core.deviceId;
  }

  /** Hex fingerprint of our identity key (Curve25519 form), identical for both versions. */
  get fingerprint(): string {
    return toHex(this.#core.own.identity.publicKey);
  }

  /** True between `startCatchUp()` and `endCatchUp()`. */
  get isCatchingUp(): boolean {
    return this.#core.catchingUp;
  }

  /**
   * Runs one operation at a time. Our own keys are changed in memory before the commit that stores them, so
   * an operation that fails puts them back as they were at its last successful commit. Caches are only read
   * and written in here: a read that returned late can never put an older session back.
   */
  #exclusive<T>(fn: (core: ManagerCore) => Promise<T>): Promise<T> {
    this.#waiting++;
    return new Promise<T>((resolve, reject) => {
      this.#tasks.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#pumping) void this.#pump();
    });
  }

  /**
   * Runs the queued operations one after the other. One promise per operation (its caller's) and none to chain
   * them: a chain of promises cost every operation ~0.5 µs. An operation ends after its changes are staged and,
   * for the last of a burst, after the bundle is republished; its caller's promise settles then, or once the
   * changes are durable (group commit: the queue moves on meanwhile).
   */
  async #pump(): Promise<void> {
    this.#pumping = true;
    const core = this.#core;
    try {
      for (let task = this.#tasks.shift(); task !== undefined; task = this.#tasks.shift()) {
        let failed = false;
        let outcome: unknown;
        let durables: Promise<void>[] = [];
        let after: (() => Promise<void>)[] = [];
        try {
          core.beginOperation();
          // The last commit's keys are the rollback point (commit keeps it current); the catch-up flag, which
          // startCatchUp() sets between operations, is taken as it is now.
          core.flagCommitted();
          try {
            outcome = await task.fn(core);
            durables = core.opDurables;
            after = core.afterDurable;
          } catch (e) {
            failed = true;
            outcome = e;
            core.restoreOwn(core.committed!);
          }
        } catch (e) {
          failed = true;
          outcome = e;
        }
        try {
          // Once per burst: the last queued operation republishes (or one in a long burst, see the constant).
          if (
            core.republishDue &&
            (this.#waiting === 1 || ++core.republishDeferred >= REPUBLISH_DEFERRED_OPERATIONS_MAX)
          )
            await republishBundles(core);
        } catch (e) {
          failed = true;
          outcome = e;
        }
        this.#waiting--;
        if (failed) task.reject(outcome);
        else if (durables.length === 0) task.resolve(outcome);
        else settleWhenDurable(task, outcome, durables, after);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Our bundle for a version, as published.
   * @throws TypeError when the version is not enabled.
   */
  bundleXml(version: OmemoVersion): string {
    return bundleXml(this.#core, version);
  }

  /**
   * Our device list for a version containing at least our device, merged with what we know is published.
   * Queued with the other operations (it may fill the list cache), so it sees every update called before it.
   * @throws TypeError when the version is not enabled; OmemoError `store-error`.
   */
  async deviceListXml(version: OmemoVersion): Promise<string> {
    this.#core.checkVersion(version);
    return this.#exclusive((core) => deviceListXml(core, version));
  }

  /**
   * Publishes, for every enabled version, our bundle and (if our device is missing from it) our device list,
   * after fetching the current list so no other device is dropped.
   * @throws OmemoError `transport-error`, `store-error`.
   */
  publish(): Promise<void> {
    return this.#exclusive((core) => publishOwn(core));
  }

  /**
   * Feeds a device list received from PEP (a `+notify` event or a fetch). Updates the known devices of
   * `jid`; for our own JID, re-announces our device when the list lacks it (XEP-0384 §4.2).
   * @throws OmemoError `malformed-stanza` for a bad list; `store-error`, `transport-error`.
   */
  onDeviceListUpdate(jid: string, version: OmemoVersion, xml: string): Promise<void> {
    return this.setDeviceList(jid, version, parseDeviceList(xml, version));
  }

  /**
   * Sets the device list of `jid` for a version, as `onDeviceListUpdate` does for a parsed list (the typed
   * form of the seed's `set_devices` / `set_own_devices`).
   * @throws OmemoError `store-error`, `transport-error`; RangeError for a device id outside 1..2^31−1; TypeError
   *   for a version that is not enabled.
   */
  setDeviceList(
    jid: string,
    version: OmemoVersion,
    devices: readonly (number | { id: number; label?: string })[],
  ): Promise<void> {
    const entries = devices.map((d) => (typeof d === 'number' ? { id: d } : d));
    for (const e of entries) checkDeviceId(e.id);
    return this.#exclusive(async (core) => {
      core.checkVersion(version);
      await applyDeviceList(core, bareJid(jid), version, entries);
    });
  }

  /**
   * The known devices of a JID (our own JID lists our other devices, not this one).
   * @throws OmemoError `store-error`; TypeError for an invalid JID.
   */
  async devices(jid: string): Promise<DeviceInfo[]> {
    return devicesOf(this.#core, bareJid(jid));
  }

  /**
   * Records a trust decision for the current identity key of a device (e.g. after comparing fingerprints). Trust
   * belongs to a key: should the device show another key later, that key starts from the policy's initial trust.
   * @param options.fingerprint the fingerprint the decision is about (hex, as `DeviceInfo.fingerprint`): the call
   *   fails instead of trusting a key that changed since the user compared it.
   * @throws OmemoError `sender-not-found` when the device is unknown; `untrusted-device` when `fingerprint` is
   *   not the device's current key. TypeError for an unknown level.
   */
  setTrust(jid: string, deviceId: number, level: TrustLevel, options: { fingerprint?: string } = {}): Promise<void> {
    return this.#exclusive(async (core) => {
      if (!['undecided', 'blind', 'verified', 'distrusted'].includes(level))
        throw new TypeError(`unknown trust level ${JSON.stringify(level)}`);
      await setTrust(core, bareJid(jid), deviceId, level, options.fingerprint);
    });
  }

  /**
   * Builds a session with a device from its bundle (fetched now) without sending anything. An existing session is
   * replaced (its states are kept for messages still in flight).
   * @throws OmemoError `bundle-unavailable`, `invalid-signature`, `malformed-stanza`, `untrusted-device` (the
   *   bundle shows a new identity key that is not trusted; the device's new key is recorded).
   */
  buildSession(jid: string, deviceId: number, version: OmemoVersion): Promise<void> {
    return this.#exclusive(async (core) => {
      core.checkVersion(version);
      await buildSession(core, { version, jid: bareJid(jid), deviceId });
    });
  }

  /**
   * Encrypts a message to every known device of every recipient and to our own other devices, building
   * missing sessions from freshly fetched bundles. One unusable device does not fail the others: each is
   * reported in `devices`, and each recipient in `recipients`. Strings become the body (OMEMO 2: inside an SCE
   * envelope); bytes are sent as is.
   * @throws OmemoError (unless `partial`) when a recipient cannot read the message, with that recipient's code:
   *   `invalid-jid`, `recipient-not-found`, `recipient-unreachable`, `device-list-forbidden`, `no-omemo`,
   *   `transport-error` or `no-eligible-devices` (also when recipients fail for different reasons);
   *   `stanza-too-large` (nothing encrypted) above `maxElementBytes` or MAX_KEYS_PER_MESSAGE keys; `store-error`,
   *   `transport-error`. TypeError for a bad message, recipient list or version.
   */
  encrypt(to: readonly string[], message: string | Uint8Array, options: EncryptOptions = {}): Promise<EncryptResult> {
    if (typeof message !== 'string' && !(message instanceof Uint8Array))
      throw new TypeError('message must be a string or a Uint8Array');
    return this.#exclusive((core) => encryptTo(core, to, message, options));
  }

  /**
   * Encrypts an empty OMEMO message (no payload: key transport / session refresh) to the given recipients.
   * Same contract as `encrypt`.
   * @throws the same as `encrypt`.
   */
  encryptEmpty(to: readonly string[], options: EncryptOptions = {}): Promise<EncryptResult> {
    return this.#exclusive((core) => encryptTo(core, to, undefined, options));
  }

  /**
   * Decrypts an `<encrypted>` element (or a stanza containing one) sent by `fromJid`, as XML text or as an element
   * tree already parsed (an adapter's, so that a stanza is parsed once). Handles key exchanges
   * (a new session, the pre key consumed and replaced), sends an empty message back after a key exchange
   * and a heartbeat after a long one-sided chain. A failure changes no stored state, except that a normal message
   * we hold no usable session for starts a session repair (see the `repair` option).
   * @throws OmemoError `malformed-stanza`, `message-not-for-us`, `sender-not-found`, `untrusted-device`,
   *   `no-session`, `unknown-prekey`, `unknown-signed-prekey`, `bad-mac`, `duplicate-message`,
   *   `too-many-skipped`, `authentication-failed`, `malformed-message`, `malformed-record`, `store-error`.
   */
  decrypt(
    fromJid: string,
    encryptedXml: string | XmlElement,
    options: { version?: OmemoVersion } = {},
  ): Promise<DecryptResult> {
    const from = bareJid(fromJid);
    return this.#exclusive((core) => decryptMessage(core, from, encryptedXml, options));
  }

  /**
   * Starts a new session with a device from its current bundle and sends it an empty key-exchange message (XEP-0384
   * 0.9 §4.5 asks clients to offer this): for a conversation that no longer decrypts on one side. Earlier session
   * states are kept, so messages already on their way still decrypt. Not rate-limited.
   * @param versions the versions to reset (default: every enabled version the device is listed in, else all).
   * @returns the messages sent, one per version.
   * @throws OmemoError `bundle-unavailable`, `invalid-signature`, `untrusted-device` (the bundle shows a key that
   *   is not trusted), `store-error`, `transport-error`. RangeError for a bad device id.
   */
  resetSession(jid: string, deviceId: number, versions?: readonly OmemoVersion[]): Promise<AutomaticMessage[]> {
    checkDeviceId(deviceId);
    for (const v of versions ?? []) this.#core.checkVersion(v);
    return this.#exclusive((core) => resetSessions(core, bareJid(jid), deviceId, versions));
  }

  /** Starts a history catch-up (MAM): used pre keys are kept (unpublished) until `endCatchUp`. */
  startCatchUp(): void {
    this.#core.catchingUp = true;
  }

  /**
   * Ends a history catch-up: the pre keys used meanwhile fall under the `consumedPreKeys` policy again (those it
   * no longer keeps are deleted), the bundle is refilled to PRE_KEY_COUNT and republished.
   * @throws OmemoError `store-error`, `transport-error`.
   */
  endCatchUp(): Promise<void> {
    return this.#exclusive((core) => endCatchUp(core));
  }

  /**
   * Rotates the signed pre key when it is older than the rotation period (or always with `force`) and
   * republishes the bundles; also deletes the used pre keys the `consumedPreKeys` policy no longer keeps. Call it
   * periodically (e.g. hourly or daily).
   * @returns whether a new signed pre key was made.
   * @throws OmemoError `store-error`, `transport-error`.
   */
  rotateSignedPreKey(force = false): Promise<boolean> {
    return this.#exclusive((core) => maintainKeys(core, force));
  }

  /**
   * Whether our device id is in the last device list of our own JID we saw for `version`. Queued with the
   * other operations (it may fill the list cache).
   * @throws TypeError when the version is not enabled; OmemoError `store-error`.
   */
  async isOwnDevicePublished(version: OmemoVersion): Promise<boolean> {
    this.#core.checkVersion(version);
    return this.#exclusive((core) => isOwnDevicePublished(core, version));
  }

  /** Ids of our currently published pre keys. */
  preKeyIds(): number[] {
    return preKeyIds(this.#core);
  }

  /**
   * Devices of `jid` (default: our own other devices) that are active in `version` but have no session yet.
   * Queued with the other operations: it fills the session and list caches, and a read that returned after
   * a concurrent encrypt committed would otherwise put an older session back (a message key used twice).
   * @throws TypeError when the version is not enabled or the JID is invalid; OmemoError `store-error`.
   */
  async devicesWithoutSession(jid: string, version: OmemoVersion): Promise<number[]> {
    this.#core.checkVersion(version);
    const bare = bareJid(jid);
    return this.#exclusive((core) => devicesWithoutSession(core, bare, version));
  }
}
