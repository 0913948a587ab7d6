// The accounts of the PostgreSQL benches: a template account `u0` on PostgresStore with an OMEMO 0.3 session from
// a peer (who sends it messages) and sessions to FANOUT_PEERS peers (whom it writes to), cloned in SQL into `count`
// accounts. Clones share the template's keys and sessions, which is what makes one ciphertext of the peer
// decryptable by every clone (OMEMO 0.3 names no recipient JID): realistic per-account work and storage at a
// fraction of the set-up time of `count` key generations. Not for anything but benchmarks.
import { InProcessRouter } from '../../examples/in-process-router';
import { cryptoReady } from '../../src/crypto/ready';
import { OmemoManager } from '../../src/omemo/manager/session-manager';
import type { OmemoTransport } from '../../src/omemo/manager/transport';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import { PostgresDatabase, type PostgresStore } from '../../src/omemo/store/postgres-store';
import { OmemoAccounts } from '../../src/omemo/accounts/omemo-accounts';

export const PEER = 'peer@bench.example';
export const FANOUT_PEERS = 50;
export const fanoutJids = Array.from({ length: FANOUT_PEERS }, (_, i) => `f${i}@bench.example`);
export const accountJid = (i: number) => `u${i}@bench.example`;

/**
 * The transport of accounts served from a pool: everything they need is in the store (device lists included), so
 * it publishes and sends nowhere and fetches nothing; it counts what would have been sent (heartbeats).
 */
export const benchTransport: OmemoTransport & { sent: number } = {
  sent: 0,
  publish: async () => {},
  fetch: async () => undefined,
  send: async () => {
    benchTransport.sent++;
  },
};

/**
 * The pool of a worker: each account's manager opened from its PostgresStore (no publishing: the account exists
 * already), the store closed (its lock released) when the manager is evicted.
 */
export function accountPool(db: PostgresDatabase, maxOpen: number): OmemoAccounts {
  const stores = new Map<string, PostgresStore>();
  return new OmemoAccounts({
    maxOpen,
    open: async (jid) => {
      const store = await db.open(jid, { lockWaitMs: 10_000 });
      try {
        const m = await OmemoManager.open({ jid, store, transport: benchTransport, publish: false });
        stores.set(jid, store);
        return m;
      } catch (e) {
        await store.close();
        throw e;
      }
    },
    close: async (jid) => {
      await stores.get(jid)?.close();
      stores.delete(jid);
    },
  });
}

export interface Fixture {
  router: InProcessRouter;
  /** The peer's messages 1…n to every account (OMEMO 0.3 XML), each decryptable once per account. */
  messages: string[];
}

/** Builds the template and its clones u1…u(count-1) in the database at `url`. */
export async function buildAccounts(url: string, count: number, messageCount: number): Promise<Fixture> {
  await cryptoReady();
  const router = new InProcessRouter();
  const db = await PostgresDatabase.connect({ connectionString: url });
  const jid = accountJid(0);
  const store = await db.open(jid);
  const t = await OmemoManager.open({ jid, store, transport: router.connect(jid, `${jid}/t`) });
  const peer = await OmemoManager.open({
    jid: PEER,
    store: new MemoryStore(),
    transport: router.connect(PEER, `${PEER}/p`),
  });
  const pump = async () => {
    for (const m of router.drain(`${jid}/t`)) await t.decrypt(m.from, m.xml);
    for (const m of router.drain(`${PEER}/p`)) await peer.decrypt(m.from, m.xml);
  };
  // The session from the peer, confirmed by a reply, so that its next messages are plain ratchet messages.
  const first = await peer.encrypt([jid], 'hello', { version: 'oldmemo' });
  await t.decrypt(PEER, first.elements[0]!.xml);
  const reply = await t.encrypt([PEER], 'hi', { version: 'oldmemo' });
  await peer.decrypt(jid, reply.elements[0]!.xml);
  await pump();
  // Sessions to the fan-out peers (their bundles stay on the router for the clones' device-list fetches).
  for (const f of fanoutJids)
    await OmemoManager.open({ jid: f, store: new MemoryStore(), transport: router.connect(f, `${f}/d`) });
  const fan = await t.encrypt(fanoutJids, 'fan-out set-up', { version: 'oldmemo' });
  if (!fan.devices.every((d) => d.ok)) throw new Error('fan-out set-up failed');
  await pump();
  await store.close();
  const messages: string[] = [];
  for (let i = 0; i < messageCount; i++)
    messages.push((await peer.encrypt([jid], `message ${i}`, { version: 'oldmemo' })).elements[0]!.xml);
  // The clones, in SQL.
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(
    "INSERT INTO omemo_accounts (jid) SELECT 'u' || g || '@bench.example' FROM generate_series(1, $1::int - 1) g",
    [count],
  );
  const tid = (await c.query('SELECT id FROM omemo_accounts WHERE jid = $1', [jid])).rows[0].id as number;
  for (const table of [
    'omemo_identity',
    'omemo_signed_pre_keys',
    'omemo_pre_keys',
    'omemo_device_lists',
    'omemo_devices',
    'omemo_sessions',
  ]) {
    const cols = (
      await c.query(
        "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) AS c FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'account'",
        [table],
      )
    ).rows[0].c as string;
    const prefixed = cols
      .split(', ')
      .map((x) => `t.${x}`)
      .join(', ');
    await c.query(
      `INSERT INTO ${table} (account, ${cols}) SELECT a.id, ${prefixed} FROM ${table} t CROSS JOIN omemo_accounts a WHERE t.account = $1 AND a.id <> $1 AND a.jid LIKE 'u%@bench.example'`,
      [tid],
    );
  }
  await c.query('ANALYZE');
  await c.end();
  await db.close();
  return { router, messages };
}
