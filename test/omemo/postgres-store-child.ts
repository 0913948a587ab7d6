// Child process of postgres-store.test.ts's race: connects to the database, opens the account; on success prints
// "holding", commits twice and waits to be killed; on `store-locked` prints "locked", then waits for the lock
// (lockWaitMs) and, once it holds the account, checks the two commits of the killed holder are there.
//   node --import tsx postgres-store-child.ts <url> <jid> <name>
import { OmemoError } from '../../src/crypto/errors';
import { PostgresDatabase } from '../../src/omemo/store/postgres-store';

const [url, jid, name] = process.argv.slice(2);
const db = await PostgresDatabase.connect({ connectionString: url! });
const device = (n: number) => ({
  jid: 'peer@example.org',
  deviceId: n,
  activeIn: ['twomemo' as const],
  trust: 'undecided' as const,
  sentSinceLastReceived: 0,
  lastReceivedAt: 0,
});
try {
  const store = await db.open(jid!);
  await store.commit({ putDevices: [device(1)] });
  await store.commit({
    putDevices: [device(2)],
    putDeviceLists: [{ version: 'twomemo', jid: 'peer@example.org', deviceIds: [1, 2] }],
  });
  process.stdout.write('holding\n');
  await new Promise((r) => setTimeout(r, 60_000));
  process.exit(3);
} catch (e) {
  if (!(e instanceof OmemoError && e.code === 'store-locked')) throw e;
  process.stdout.write('locked\n');
}
const store = await db.open(jid!, { lockWaitMs: 20_000 });
const devices = await store.loadDevices(['peer@example.org']);
const list = await store.loadDeviceList('twomemo', 'peer@example.org');
if (devices.length === 2 && list?.join() === '1,2') process.stdout.write(`took over 2 commits\n`);
else process.stdout.write(`took over, but found ${devices.length} devices and list ${String(list)} (${name})\n`);
await db.close();
