// The optional logger of the manager (and what it must never carry): events with levels and structured fields
// for publishing, fetches, sessions built by either side, repairs, skipped devices and failed decryptions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toBase64, toHex } from '../../src/crypto/bytes';
import { cryptoReady } from '../../src/crypto/ready';
import { createLog, type LogFields, type LogLevel, type OmemoLogger } from '../../src/omemo/manager/logger';
import { serializeDeviceList } from '../../src/omemo/versions/by-version';
import { InProcessRouter, VERSIONS, elementOf, openDevice, rejectsWith, syncDeviceLists } from './manager-fixture';

test.before(async () => {
  await cryptoReady();
});

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

/** A logger that keeps every event. */
function collecting(levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']) {
  const events: { level: LogLevel; message: string; fields: LogFields }[] = [];
  const logger: OmemoLogger = {};
  for (const level of levels) logger[level] = (message, fields) => void events.push({ level, message, fields });
  const named = (event: string) => events.filter((e) => e.fields.event === event);
  return { logger, events, named };
}

test('createLog: no logger is silent; missing levels are off; a throwing logger is ignored; bad loggers refused', () => {
  createLog(undefined)('info', 'x', { event: 'x' });
  const seen: string[] = [];
  const log = createLog({
    warn: (m) => void seen.push(m),
    info: () => {
      throw new Error('broken logger');
    },
  });
  log('debug', 'not logged', { event: 'a' });
  log('info', 'throws', { event: 'b' });
  log('warn', 'logged', { event: 'c' });
  assert.equal(seen, ['logged']);
  assert.throws(() => createLog({ info: 'yes' } as unknown as OmemoLogger), TypeError);
  assert.throws(() => createLog(42 as unknown as OmemoLogger), TypeError);
});

for (const version of VERSIONS) {
  test(`${version}: the manager tells what it does, with structured fields and no key material`, async () => {
    const router = new InProcessRouter();
    const a = collecting();
    const b = collecting(['info', 'warn']); // no debug: hot paths skip it
    const alice = await openDevice(router, ALICE, 'a', { versions: [version], logger: a.logger });
    const bob = await openDevice(router, BOB, 'b', { versions: [version], logger: b.logger });
    await syncDeviceLists(router, [alice, bob]);
    assert.equal(
      a.named('identity-created').map((e) => e.fields.deviceId),
      [alice.m.deviceId],
    );
    assert.ok(a.named('bundle-published').length >= 1);
    assert.ok(a.named('device-list-published').some((e) => e.fields.version === version));

    // Alice builds a session (bundle fetched), bob accepts it; the second message is a normal one.
    const first = elementOf(await alice.m.encrypt([BOB], 'hello'), version);
    assert.ok(a.named('bundle-fetched').some((e) => e.fields.jid === BOB && e.fields.deviceId === bob.m.deviceId));
    const built = a.named('session-built');
    assert.equal(
      built.map((e) => [e.fields.jid, e.fields.deviceId, e.fields.by, e.level]),
      [[BOB, bob.m.deviceId, 'us', 'info']],
    );
    await bob.m.decrypt(ALICE, first);
    assert.equal(
      b.named('session-built').map((e) => [e.fields.jid, e.fields.by]),
      [[ALICE, 'them']],
    );
    assert.equal(a.named('encrypted').at(-1)?.fields.count, 1);

    // A recipient without OMEMO, a device without bundle (debug: skipped), a failed decryption, a repair.
    await rejectsWith(alice.m.encrypt(['eve@example.org'], 'x'), 'no-omemo');
    assert.equal(
      a.named('recipient-failed').map((e) => [e.fields.jid, e.fields.code]),
      [['eve@example.org', 'no-omemo']],
    );
    await alice.m.onDeviceListUpdate(
      BOB,
      version,
      serializeDeviceList([{ id: bob.m.deviceId }, { id: 4242 }], version),
    );
    await alice.m.encrypt([BOB], 'one device without bundle');
    assert.ok(a.named('bundle-unavailable').some((e) => e.fields.deviceId === 4242 && e.level === 'warn'));
    assert.ok(
      a.named('device-skipped').some((e) => e.fields.deviceId === 4242 && e.fields.code === 'bundle-unavailable'),
    );
    const second = elementOf(await alice.m.encrypt([BOB], 'second'), version);
    await bob.m.decrypt(ALICE, second);
    await rejectsWith(bob.m.decrypt(ALICE, second), 'duplicate-message');
    assert.equal(b.named('decrypt-failed'), [], 'a duplicate is debug, and bob does not read debug');
    const stranger = await openDevice(router, 'carol@example.org', 'c', { versions: [version] });
    await syncDeviceLists(router, [stranger, bob]);
    await stranger.m.decrypt(BOB, elementOf(await bob.m.encrypt(['carol@example.org'], 'y'), version));
    await bob.store.commit({ deleteSessions: [{ version, jid: 'carol@example.org', deviceId: stranger.m.deviceId }] });
    const forgetful = await openDevice(router, BOB, 'b', { versions: [version], logger: b.logger, store: bob.store });
    await rejectsWith(
      forgetful.m.decrypt('carol@example.org', elementOf(await stranger.m.encrypt([BOB], 'z'), version)),
      'no-session',
    );
    assert.ok(b.named('decrypt-failed').some((e) => e.fields.code === 'no-session' && e.level === 'warn'));
    assert.ok(b.named('session-repair').some((e) => e.fields.jid === 'carol@example.org'));

    // Fields are plain values; no private key appears anywhere.
    const secret = (await alice.store.loadIdentity())!.identityPrivateKey;
    const dump = JSON.stringify([...a.events, ...b.events]);
    for (const form of [toHex(secret), toBase64(secret)])
      assert.not.ok(dump.includes(form), 'a private key in the log');
    for (const e of [...a.events, ...b.events])
      for (const v of Object.values(e.fields))
        assert.ok(['string', 'number', 'boolean', 'undefined'].includes(typeof v), `${e.fields.event}: ${typeof v}`);
  });
}

test.run();
