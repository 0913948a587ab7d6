// The JSON-lines interop peer of ../shared/interop/README.md ("What a peer must implement"), driving the
// public session manager with an in-process fake PEP. One process = one JID + device. Started by
// `npm run --silent peer`; stdout carries nothing but one JSON answer per request.
//
// `init` with `state_file` keeps everything across a restart (even after SIGKILL): the manager's state is a
// SqliteStore at that path (identity, device id, pre keys, sessions with their skipped keys, device lists),
// and the fake PEP (the bundles and device lists handed in with `add_device`, and our own published items)
// is a JSON file next to it, `<state_file>.pep.json`, replaced atomically (write, fsync, rename) before a
// command that changed it is answered. Without `state_file` everything is in memory, as before.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  MemoryStore,
  OmemoError,
  OmemoManager,
  parseBundle,
  parseDeviceList,
  pepLocations,
  serializeDeviceList,
  verifyBundleSignature,
  type OmemoStore,
  type OmemoTransport,
  type OmemoVersion,
  type TrustLevel,
} from '../../src/index';
import { SqliteStore } from '../../src/sqlite';

// Anything a library prints must not corrupt the protocol stream.
console.log = (...args: unknown[]) => console.error(...args);

type Json = Record<string, unknown>;

class PeerError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const BACKEND_ALIASES: Record<string, OmemoVersion> = {
  oldmemo: 'oldmemo',
  legacy: 'oldmemo',
  'eu.siacs.conversations.axolotl': 'oldmemo',
  twomemo: 'twomemo',
  omemo2: 'twomemo',
  'urn:xmpp:omemo:2': 'twomemo',
};

function backend(value: unknown): OmemoVersion {
  if (typeof value !== 'string' || BACKEND_ALIASES[value] === undefined)
    throw new PeerError('UnknownBackend', `unknown backend ${JSON.stringify(value)}`);
  return BACKEND_ALIASES[value]!;
}

function str(req: Json, name: string): string {
  const v = req[name];
  if (typeof v !== 'string' || v === '') throw new PeerError('BadRequest', `${name} must be a non-empty string`);
  return v;
}

function int(req: Json, name: string): number {
  const v = req[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0x7fffffff)
    throw new PeerError('BadRequest', `${name} must be an integer 1..2^31-1`);
  return v;
}

const bare = (jid: string) => jid.split('/')[0]!;

/** In-process PEP: jid → node → item id → payload XML. */
const pep = new Map<string, Map<string, Map<string, string>>>();
let outbox: { to: string; xml: string }[] = [];
let manager: OmemoManager | undefined;
let ownJid = '';

/** What follows the state file's name in the name of the fake PEP's file. */
const PEP_FILE_SUFFIX = '.pep.json';
/** The `format` of the fake PEP's file; another value is refused. */
const PEP_FILE_FORMAT = 'omemo-wasm-peer-pep/1';

/** With `state_file`: the open store and where the fake PEP is saved; `dirty` when PEP changed since. */
let persistent: { store: SqliteStore; pepFile: string; dirty: boolean } | undefined;

/** The fake PEP's file: nested [key, value] pairs, so the order of the items (newest last) is kept. */
interface PepFile {
  format: typeof PEP_FILE_FORMAT;
  jid: string;
  pep: [string, [string, [string, string][]][]][];
}

/** Replaces `path` by `text` so that a crash leaves either the old or the new file, never a part. */
function writeFileAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename itself is durable once the directory is synced (possible on Linux and macOS only).
  let dir: number | undefined;
  try {
    dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
  } catch {
    // A platform that cannot sync a directory: the rename is still atomic.
  } finally {
    if (dir !== undefined) closeSync(dir);
  }
}

function savePep(): void {
  if (persistent === undefined) return;
  const file: PepFile = {
    format: PEP_FILE_FORMAT,
    jid: ownJid,
    pep: [...pep].map(([jid, nodes]) => [jid, [...nodes].map(([node, items]) => [node, [...items]])]),
  };
  writeFileAtomically(persistent.pepFile, `${JSON.stringify(file)}\n`);
  persistent.dirty = false;
}

/** Saves PEP after a command that failed but changed it; a failure to save is reported by the next one. */
function savePepAfterFailure(): void {
  try {
    savePep();
  } catch {
    // persistent.dirty stays true.
  }
}

/** Reads the fake PEP's file of `jid` (next to the state file `statePath`), or undefined when there is none. */
function loadPepFile(path: string, statePath: string, jid: string): PepFile | undefined {
  if (!existsSync(path)) return undefined;
  let file: PepFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as PepFile;
  } catch (e) {
    throw new PeerError('StateCorrupt', `${path} is not JSON: ${(e as Error).message}`);
  }
  if (file?.format !== PEP_FILE_FORMAT || !Array.isArray(file.pep)) {
    throw new PeerError('StateCorrupt', `${path} is not a ${PEP_FILE_FORMAT} file`);
  }
  if (file.jid !== jid) {
    const owner = String(file.jid);
    throw new PeerError('StateMismatch', `the state file ${statePath} belongs to ${owner}, not ${jid} (${path})`);
  }
  return file;
}

/**
 * Opens the state of `init`'s `state_file` for `jid`: the SqliteStore (refused when it belongs to another
 * JID or, with `deviceId`, to another device) and the saved fake PEP.
 */
async function openState(
  path: string,
  jid: string,
  deviceId: number | undefined,
): Promise<{ store: SqliteStore; saved: PepFile | undefined; restored: boolean }> {
  const pepFile = `${path}${PEP_FILE_SUFFIX}`;
  const saved = loadPepFile(pepFile, path, jid);
  let store: SqliteStore;
  try {
    store = await SqliteStore.open(path, { jid });
  } catch (e) {
    const otherJid = e instanceof OmemoError && e.code === 'store-owner-mismatch';
    if (otherJid) throw new PeerError('StateMismatch', e.message);
    throw e;
  }
  try {
    const identity = await store.loadIdentity();
    if (identity !== undefined && deviceId !== undefined && identity.deviceId !== deviceId) {
      const what = `the state file ${path} holds device ${identity.deviceId} of ${jid}, not device ${deviceId}`;
      throw new PeerError('StateMismatch', what);
    }
    return { store, saved, restored: identity !== undefined };
  } catch (e) {
    store.close();
    throw e;
  }
}

function pepItems(jid: string, node: string): Map<string, string> {
  let nodes = pep.get(jid);
  if (!nodes) pep.set(jid, (nodes = new Map()));
  let items = nodes.get(node);
  if (!items) nodes.set(node, (items = new Map()));
  return items;
}

const transport: OmemoTransport = {
  async publish(node, itemId, xml) {
    pepItems(ownJid, node).set(itemId, xml);
    if (persistent !== undefined) persistent.dirty = true;
  },
  async fetch(jid, node, itemId) {
    const items = pepItems(jid, node);
    if (itemId !== undefined) return items.get(itemId);
    return [...items.values()].pop();
  },
  async send(to, xml) {
    outbox.push({ to, xml });
  },
};

function requireManager(): OmemoManager {
  if (manager === undefined) throw new PeerError('NotInitialised', 'send init first');
  return manager;
}

const ERROR_TYPES: Record<string, string> = {
  'message-not-for-us': 'MessageNotForUs',
  'sender-not-found': 'SenderNotFound',
  'untrusted-device': 'SenderDistrusted',
  'no-eligible-devices': 'NoEligibleDevices',
  'invalid-jid': 'NoEligibleDevices',
  'recipient-unreachable': 'NoEligibleDevices',
  'recipient-not-found': 'NoEligibleDevices',
  'device-list-forbidden': 'NoEligibleDevices',
  'no-omemo': 'NoEligibleDevices',
  'malformed-stanza': 'XMLParseError',
  'no-session': 'NoSession',
  'duplicate-message': 'DecryptionFailed',
  'bad-mac': 'DecryptionFailed',
  'authentication-failed': 'DecryptionFailed',
  'malformed-message': 'DecryptionFailed',
  'too-many-skipped': 'DecryptionFailed',
  'unknown-prekey': 'KeyExchangeFailed',
  'unknown-signed-prekey': 'KeyExchangeFailed',
  'invalid-signature': 'BundleRejected',
};

async function handle(req: Json): Promise<Json> {
  const cmd = req.cmd ?? req.command;
  switch (cmd) {
    case 'ping':
      return { pong: true, initialised: manager !== undefined, peer_version: '1.0', implementation: 'omemo-wasm' };
    case 'init': {
      if (manager !== undefined) throw new PeerError('AlreadyInitialised', 'init was already sent');
      const jid = bare(str(req, 'jid'));
      const deviceId = req.device_id === undefined ? undefined : int(req, 'device_id');
      const backends = Array.isArray(req.backends)
        ? (req.backends as unknown[]).map(backend)
        : (['oldmemo', 'twomemo'] as OmemoVersion[]);
      let store: OmemoStore = new MemoryStore();
      let restored = false;
      if (req.state_file !== undefined) {
        const path = resolve(str(req, 'state_file'));
        const state = await openState(path, jid, deviceId);
        store = state.store;
        restored = state.restored;
        // Before open, which publishes: our own device list as saved still names our other devices.
        pep.clear();
        for (const [j, nodes] of state.saved?.pep ?? []) {
          for (const [node, items] of nodes) for (const [id, xml] of items) pepItems(j, node).set(id, xml);
        }
        persistent = { store: state.store, pepFile: `${path}${PEP_FILE_SUFFIX}`, dirty: true };
      }
      ownJid = jid;
      try {
        manager = await OmemoManager.open({
          jid,
          store,
          transport,
          versions: backends,
          trustPolicy: 'blind',
          ...(deviceId !== undefined ? { deviceId } : {}),
          ...(typeof req.label === 'string' ? { label: req.label } : {}),
        });
        // add_device saves PEP before the manager commits the list: a kill in between is made good here.
        for (const [j, nodes] of pep) {
          if (j === jid) continue;
          for (const v of backends) {
            const xml = [...(nodes.get(pepLocations(v, 1).deviceListNode)?.values() ?? [])].pop();
            if (xml !== undefined) await manager.onDeviceListUpdate(j, v, xml);
          }
        }
      } catch (e) {
        manager = undefined;
        persistent?.store.close();
        persistent = undefined;
        pep.clear();
        throw e;
      }
      const out: Json = {};
      for (const v of backends) {
        out[v] = {
          bundle_xml: manager.bundleXml(v),
          devicelist_xml: await manager.deviceListXml(v),
          fingerprint: manager.fingerprint,
        };
      }
      return { jid: ownJid, device_id: manager.deviceId, backends: out, restored };
    }
    case 'add_device': {
      const m = requireManager();
      const version = backend(req.backend);
      const jid = bare(str(req, 'jid'));
      const deviceId = int(req, 'device_id');
      const bundleXml = str(req, 'bundle_xml');
      let bundle;
      try {
        bundle = parseBundle(bundleXml, version);
      } catch (e) {
        throw new PeerError('BundleRejected', (e as Error).message);
      }
      if (!verifyBundleSignature(bundle, version))
        throw new PeerError('BundleRejected', 'the signature of the signed pre key does not verify');
      const loc = pepLocations(version, deviceId);
      let listXml: string;
      if (typeof req.devicelist_xml === 'string') {
        listXml = req.devicelist_xml;
        parseDeviceList(listXml, version);
      } else {
        const current = await transport.fetch(jid, loc.deviceListNode);
        const ids = current ? parseDeviceList(current, version).map((d) => d.id) : [];
        if (!ids.includes(deviceId)) ids.push(deviceId);
        listXml = serializeDeviceList(
          ids.map((id) => ({ id })),
          version,
        );
      }
      pepItems(jid, loc.bundleNode).set(loc.bundleItemId, bundleXml);
      pepItems(jid, loc.deviceListNode).set(loc.deviceListItemId, listXml);
      savePep(); // first: after a kill before the manager's commit, init feeds the saved list in again
      await m.onDeviceListUpdate(jid, version, listXml);
      return {
        backend: version,
        jid,
        device_id: deviceId,
        known_devices: (await m.devices(jid)).map((d) => d.deviceId),
      };
    }
    case 'bundle': {
      const m = requireManager();
      const version = backend(req.backend);
      return { backend: version, device_id: m.deviceId, bundle_xml: m.bundleXml(version), prekey_ids: m.preKeyIds() };
    }
    case 'encrypt': {
      const m = requireManager();
      const version = backend(req.backend);
      if (!Array.isArray(req.to) || req.to.some((j) => typeof j !== 'string'))
        throw new PeerError('BadRequest', 'to must be a list of JIDs');
      let message: string | Uint8Array;
      if (typeof req.plaintext === 'string') message = req.plaintext;
      else if (typeof req.plaintext_b64 === 'string')
        message = new Uint8Array(Buffer.from(req.plaintext_b64, 'base64'));
      else throw new PeerError('BadRequest', 'plaintext must be a string');
      const result = await m.encrypt(req.to as string[], message, {
        version,
        ...(req.sce === false ? { sce: false } : {}),
      });
      const element = result.elements.find((e) => e.version === version);
      if (element === undefined) throw new PeerError('NoEligibleDevices', 'no device to encrypt to');
      return {
        backend: version,
        encrypted_xml: element.xml,
        keys: result.devices
          .filter((d) => d.ok)
          .map((d) => ({ jid: d.jid, rid: d.deviceId, key_exchange: d.keyExchange === true })),
        errors: result.devices
          .filter((d) => !d.ok)
          .map((d) => ({ jid: d.jid, device_id: d.deviceId, error: d.error, message: d.message })),
      };
    }
    case 'decrypt': {
      const m = requireManager();
      const from = bare(str(req, 'from_jid'));
      const xml = str(req, 'encrypted_xml');
      outbox = [];
      const r = await m.decrypt(from, xml, req.backend === undefined ? {} : { version: backend(req.backend) });
      return {
        backend: r.version,
        plaintext: r.payload === undefined ? null : (r.text ?? null),
        empty: r.payload === undefined,
        key_exchange: r.keyExchange,
        sender: { jid: r.sender.jid, device_id: r.sender.deviceId, trust: r.trust },
        sent: outbox.map((o) => ({ to: o.to, encrypted_xml: o.xml, backend: r.version })),
        ...(r.envelope
          ? {
              sce: {
                body: r.envelope.body ?? null,
                from: r.envelope.from ?? null,
                to: r.envelope.to ?? null,
                from_matches_sender: r.envelopeFromMatches,
              },
            }
          : {}),
      };
    }
    case 'fingerprint': {
      const m = requireManager();
      const fp = m.fingerprint;
      return { fingerprint: fp, fingerprint_groups: fp.match(/.{8}/g) };
    }
    case 'devices': {
      const m = requireManager();
      const devices = await m.devices(typeof req.jid === 'string' ? bare(req.jid) : ownJid);
      return {
        devices: devices.map((d) => ({
          device_id: d.deviceId,
          namespaces: d.activeIn,
          trust: d.trust,
          fingerprint: d.fingerprint ?? null,
          label: d.label ?? null,
        })),
      };
    }
    case 'set_trust': {
      const m = requireManager();
      const levels: Record<string, TrustLevel> = {
        blind: 'blind',
        trusted: 'verified',
        verified: 'verified',
        distrusted: 'distrusted',
        undecided: 'undecided',
      };
      const level = levels[str(req, 'level')];
      if (level === undefined) throw new PeerError('BadRequest', 'unknown trust level');
      await m.setTrust(bare(str(req, 'jid')), int(req, 'device_id'), level);
      return { trust: str(req, 'level') };
    }
    case 'outbox': {
      const messages = outbox.map((o) => ({ to: o.to, encrypted_xml: o.xml }));
      outbox = [];
      return { messages };
    }
    case 'end_history_sync': {
      await requireManager().endCatchUp();
      return { sent: [] };
    }
    case 'quit':
      return { bye: true };
    default:
      throw new PeerError(
        cmd === undefined ? 'BadRequest' : 'UnknownCommand',
        cmd === undefined ? 'cmd is missing' : `unknown command ${JSON.stringify(cmd)}`,
      );
  }
}

function write(answer: Json): void {
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

async function onLine(line: string): Promise<void> {
  if (line.trim() === '') return;
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    write({ ok: false, id: null, error: 'invalid JSON', error_type: 'InvalidJSON' });
    return;
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    write({ ok: false, id: null, error: 'request must be a JSON object', error_type: 'BadRequest' });
    return;
  }
  const r = req as Json;
  const id = r.id ?? null;
  const cmd = r.cmd ?? r.command ?? null;
  try {
    const result = await handle(r);
    if (persistent?.dirty) savePep();
    write({ ok: true, id, cmd, ...result });
    if (cmd === 'quit') exit();
  } catch (e) {
    if (persistent?.dirty) savePepAfterFailure();
    const errorType =
      e instanceof PeerError
        ? e.errorType
        : e instanceof OmemoError
          ? (ERROR_TYPES[e.code] ?? e.code)
          : e instanceof TypeError || e instanceof RangeError
            ? 'BadRequest'
            : 'InternalError';
    // A failed decrypt may still have sent a session repair: reported like every automatic message.
    const sent =
      cmd === 'decrypt' && outbox.length > 0 ? { sent: outbox.map((o) => ({ to: o.to, encrypted_xml: o.xml })) } : {};
    write({
      ok: false,
      id,
      cmd,
      error: (e as Error).message ?? String(e),
      error_type: errorType,
      ...(e instanceof OmemoError ? { code: e.code } : {}),
      ...sent,
    });
  }
}

let chain = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  chain = chain.then(() => onLine(line));
});
rl.on('close', () => {
  void chain.then(exit);
});

/** Exits with status 0, closing the state file first (it would survive a kill just as well). */
function exit(): never {
  persistent?.store.close();
  process.exit(0);
}
