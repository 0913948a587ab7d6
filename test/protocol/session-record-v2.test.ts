// Session records of format 2 (src/protocol/session-record.ts, proto/session-record.proto field 22): a
// session's archived states as nested format-1 records. Exact round trips and protobufjs bytes up to the bounds,
// the frozen format-2 fixture (fixtures/session-record-v2.*, made by fixtures/make-fixture-v2.ts), damaged records.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import {
  MAX_ARCHIVED_SESSION_STATES,
  MAX_OLD_RECEIVING_CHAINS,
  MAX_SKIPPED_KEYS_PER_SESSION,
  type ProtocolVersion,
} from '../../src/protocol/constants';
import { Session, skipId, type SessionState, type SkippedKey } from '../../src/protocol/session';
import { deserializeSession, serializeSession } from '../../src/protocol/session-record';
import { parseMessage } from '../../src/protocol/wire';
import {
  VERSIONS,
  caseSeed,
  cat,
  hex,
  makeCrossed,
  pbRead,
  pbWrite,
  rngFor,
  roundTrip,
  sideReceive,
  sideSend,
  throwsOmemo,
  unhex,
} from './helpers';

test.before(async () => {
  await cryptoReady();
});

/** Crossed key exchanges delivered: each side holds its responder state and, archived, its own initiation. */
function crossedSessions(version: ProtocolVersion, label: string) {
  const c = makeCrossed(version, caseSeed(`${version} record ${label}`));
  sideReceive(c.alice, c.kexB, c.rng);
  sideReceive(c.bob, c.kexA, c.rng);
  return c;
}

/** A state with `count` skipped keys (made up, distinct) added to a copy of `s`. */
function withSkipped(s: SessionState, count: number, tag: number): SessionState {
  const skipped = new Map<string, SkippedKey>();
  for (let j = 0; j < count; j++) {
    const ratchetKey = new Uint8Array(32).fill(tag);
    skipped.set(skipId(ratchetKey, 70000 + j), { ratchetKey, n: 70000 + j, seed: new Uint8Array(32).fill(j & 0xff) });
  }
  return { ...s, skipped, oldChains: [...s.oldChains] };
}

for (const version of VERSIONS) {
  test(`${version}: archived states: format 2, nested format-1 records, exact round trip, protobufjs bytes`, () => {
    const c = crossedSessions(version, 'archived');
    const bob = c.bob.session!;
    assert.is(bob.archivedStates.length, 1);
    const rec = serializeSession(bob);
    const fields = pbRead(rec);
    assert.is(fields.find((f) => f.field === 1)?.int, 2, 'format 2 with archived states');
    const nested = fields.filter((f) => f.field === 22);
    assert.is(nested.length, 1);
    assert.is(fields[fields.length - 1]!.field, 22, 'archived states come last (field order)');
    // Each archived state is a whole format-1 record: exactly what a session of that state alone serializes to.
    const alone = new Session(bob.archivedStates[0]!);
    assert.is(hex(nested[0]!.bytes!), hex(serializeSession(alone)));
    assert.is(pbRead(nested[0]!.bytes!).find((f) => f.field === 1)?.int, 1);
    // The current state's fields are those of a format-1 record of it alone, but for the format.
    const currentOnly = serializeSession(new Session(bob.state));
    assert.equal(
      pbRead(currentOnly)
        .slice(1)
        .map((f) => hex(f.bytes ?? Uint8Array.of(f.int!))),
      fields.slice(1, -1).map((f) => hex(f.bytes ?? Uint8Array.of(f.int!))),
    );
    roundTrip(bob, 'crossed: current + 1 archived');
    // After a promotion the demoted state is archived: still exact.
    const m = sideSend(c.alice, 'promote');
    sideReceive(c.bob, m, c.rng);
    assert.is(hex(c.bob.session!.baseKey), hex(c.bobBase));
    roundTrip(c.bob.session!, 'after a promotion');
  });

  test(`${version}: archived states with skipped keys at the bounds: protobufjs bytes, size, round trip`, () => {
    const c = crossedSessions(version, 'bounds');
    const base = c.bob.session!;
    // Nested lengths needing 2 and 3 varint bytes (a state is > 127 bytes), up to MAX archived states each holding
    // MAX_SKIPPED_KEYS_PER_SESSION skipped keys.
    for (const [count, skipped] of [
      [1, 0],
      [2, 150],
      [3, 400],
      [MAX_ARCHIVED_SESSION_STATES, MAX_SKIPPED_KEYS_PER_SESSION],
    ] as const) {
      const archived = Array.from({ length: count }, (_, i) => withSkipped(base.archivedStates[0]!, skipped, i + 1));
      const s = new Session(withSkipped(base.state, skipped, 9), archived);
      const rec = roundTrip(s, `${count} archived with ${skipped} skipped keys each`);
      if (skipped === MAX_SKIPPED_KEYS_PER_SESSION) {
        const size = serializeSession(rec).length;
        // (1 + MAX_ARCHIVED_SESSION_STATES) states at the bound: ≤ 76 bytes per skipped key plus ~400 per state.
        assert.ok(size > 5 * 70_000 && size < 5 * 77_000, `record at the bounds: ${size} bytes`);
      }
    }
  });
}

const FIXTURE2_BIN = new Uint8Array(readFileSync(new URL('./fixtures/session-record-v2.bin', import.meta.url)));
const FIXTURE2 = JSON.parse(readFileSync(new URL('./fixtures/session-record-v2.json', import.meta.url), 'utf8')) as {
  format: number;
  versions: Record<
    ProtocolVersion,
    {
      records: Record<'alice' | 'bob', { offset: number; length: number }>;
      baseKeys: { aliceInitiated: string; bobInitiated: string };
      undelivered: { toBob: { data: string; plaintext: string }; toAlice: { data: string; plaintext: string } };
      afterLoad: { bobRng: string; aliceRng: string; bobNext: { plaintext: string; data: string } };
    }
  >;
};

test('fixture v2: format 2 and the .bin holds exactly the listed records', () => {
  assert.is(FIXTURE2.format, 2);
  const ends = Object.values(FIXTURE2.versions).flatMap((v) =>
    Object.values(v.records).map((r) => r.offset + r.length),
  );
  assert.is(Math.max(...ends), FIXTURE2_BIN.length);
});

for (const version of VERSIONS) {
  test(`${version} fixture v2: records load, re-serialize to the same bytes, promote archived states`, () => {
    const v = FIXTURE2.versions[version];
    const rec = (name: 'alice' | 'bob') =>
      FIXTURE2_BIN.slice(v.records[name].offset, v.records[name].offset + v.records[name].length);
    for (const name of ['alice', 'bob'] as const) {
      const s = deserializeSession(rec(name));
      assert.is(hex(serializeSession(s)), hex(rec(name)), `${name}: format 2 bytes written back unchanged`);
      assert.is(pbRead(rec(name)).find((f) => f.field === 1)?.int, 2);
      assert.is(s.archivedStates.length, 1);
      assert.is(
        hex(s.archivedStates[0]!.baseKey),
        name === 'alice' ? v.baseKeys.aliceInitiated : v.baseKeys.bobInitiated,
        `${name}: its initiation is archived`,
      );
      assert.ok(s.archivedStates[0]!.pending !== undefined, `${name}: the archived initiation is still unanswered`);
    }
    const bob = deserializeSession(rec('bob'));
    const bobRng = rngFor(v.afterLoad.bobRng);
    assert.is(
      hex(bob.decryptParsed(parseMessage(version, unhex(v.undelivered.toBob.data)), bobRng)),
      v.undelivered.toBob.plaintext,
    );
    assert.is(hex(bob.baseKey), v.baseKeys.bobInitiated, 'Bob promoted his initiation');
    const next = bob.encrypt(unhex(v.afterLoad.bobNext.plaintext));
    assert.not.ok(next.keyExchange);
    assert.is(hex(next.data), v.afterLoad.bobNext.data, 'Bob encrypts exactly the recorded bytes');
    const alice = deserializeSession(rec('alice'));
    const aliceRng = rngFor(v.afterLoad.aliceRng);
    assert.is(hex(alice.decryptParsed(parseMessage(version, next.data), aliceRng)), v.afterLoad.bobNext.plaintext);
    assert.is(
      hex(alice.baseKey),
      v.baseKeys.bobInitiated,
      "no promotion: her current state pairs with Bob's initiation",
    );
    assert.is(
      hex(alice.decryptParsed(parseMessage(version, unhex(v.undelivered.toAlice.data)), aliceRng)),
      v.undelivered.toAlice.plaintext,
    );
    assert.is(hex(alice.baseKey), v.baseKeys.aliceInitiated, 'Alice promoted her initiation');
  });

  test(`${version}: damaged format-2 records → malformed-record (bounds, nesting, protocol, keys, cuts)`, () => {
    const c = crossedSessions(version, 'damaged');
    const session = new Session(
      c.bob.session!.state,
      Array.from({ length: MAX_ARCHIVED_SESSION_STATES }, () => c.bob.session!.archivedStates[0]!),
    );
    const rec = serializeSession(session);
    const fields = pbRead(rec);
    const top = fields.filter((f) => f.field !== 22);
    const nested = fields.filter((f) => f.field === 22).map((f) => f.bytes!);
    const record = (topFields: typeof fields, archived: Uint8Array[]) =>
      cat(
        pbWrite(topFields.map((f) => [f.field, f.wireType === 0 ? f.int! : f.bytes!])),
        pbWrite(archived.map((a) => [22, a])),
      );
    assert.is(hex(record(top, nested)), hex(rec), 'the rebuilder reproduces the record');
    const withField = (bytes: Uint8Array, field: number, value: number | Uint8Array | undefined) => {
      const fs = pbRead(bytes)
        .filter((f) => f.field !== field)
        .map((f) => [f.field, f.wireType === 0 ? f.int! : f.bytes!] as [number, number | Uint8Array]);
      if (value !== undefined) fs.push([field, value]);
      return pbWrite(fs.sort((a, b) => a[0] - b[0]));
    };
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'one archived state too many',
        record(top, [...nested, nested[0]!]),
        new RegExp(`${MAX_ARCHIVED_SESSION_STATES + 1} archived states`),
      ],
      [
        'an archived state with archived states',
        record(top, [cat(nested[0]!, pbWrite([[22, nested[1]!]])), ...nested.slice(1)]),
        /archived states of its own/,
      ],
      [
        'an archived state of the other protocol',
        record(top, [withField(nested[0]!, 2, version === 'oldmemo' ? 2 : 1)]),
        /protocol/,
      ],
      ['an archived state of format 2', record(top, [withField(nested[0]!, 1, 2)]), /format 2, must be 1/],
      ['an archived state without format', record(top, [withField(nested[0]!, 1, undefined)]), /format/],
      [
        'an archived state with a short root key',
        record(top, [withField(nested[0]!, 6, new Uint8Array(31))]),
        /archived state 0: root_key/,
      ],
      [
        'a format-1 record with archived states',
        record(
          pbRead(withField(pbWrite(top.map((f) => [f.field, f.wireType === 0 ? f.int! : f.bytes!])), 1, 1)),
          nested,
        ),
        /format 1 record has no archived/,
      ],
      ['a format-2 record without archived states', record(top, []), /format 2 record without archived/],
      [
        'a format-3 record',
        record(
          pbRead(withField(pbWrite(top.map((f) => [f.field, f.wireType === 0 ? f.int! : f.bytes!])), 1, 3)),
          nested,
        ),
        /format 3/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      const e = throwsOmemo(() => deserializeSession(bytes), 'malformed-record', what);
      assert.match(e.message, message, what);
    }
    // Counts inside a state: skipped keys and old chains beyond their bounds.
    const tooManySkipped = new Session(withSkipped(c.bob.session!.state, MAX_SKIPPED_KEYS_PER_SESSION + 1, 7));
    let e = throwsOmemo(() => deserializeSession(serializeSession(tooManySkipped)), 'malformed-record');
    assert.match(e.message, /skipped keys/);
    const inArchive = new Session(c.bob.session!.state, [
      withSkipped(c.bob.session!.archivedStates[0]!, MAX_SKIPPED_KEYS_PER_SESSION + 1, 7),
    ]);
    e = throwsOmemo(() => deserializeSession(serializeSession(inArchive)), 'malformed-record');
    assert.match(e.message, /archived state 0: .*skipped keys/);
    const oldChains = Array.from({ length: MAX_OLD_RECEIVING_CHAINS + 1 }, (_, i) => ({
      ratchetKey: new Uint8Array(32).fill(i),
      nextN: i,
    }));
    e = throwsOmemo(
      () => deserializeSession(serializeSession(new Session({ ...c.bob.session!.state, oldChains }))),
      'malformed-record',
    );
    assert.match(e.message, /old chains/);
    const atBounds = new Session({
      ...withSkipped(c.bob.session!.state, MAX_SKIPPED_KEYS_PER_SESSION, 7),
      oldChains: oldChains.slice(1),
    });
    roundTrip(atBounds, 'exactly at the bounds loads');
    // Truncation: a cut inside a field never loads; a cut between fields loads only with fewer archived states.
    const twoArchived = c.bob.session!.archivedStates[0]!;
    const small = serializeSession(new Session(c.bob.session!.state, [twoArchived, twoArchived]));
    const boundaries = new Set([...pbRead(small).map((f) => f.offset), small.length]);
    const firstArchived = pbRead(small).find((f) => f.field === 22)!.offset;
    for (let len = 0; len < small.length; len++) {
      const cut = small.slice(0, len);
      if (!boundaries.has(len) || len <= firstArchived) {
        throwsOmemo(() => deserializeSession(cut), 'malformed-record', `cut at ${len} of ${small.length}`);
      } else {
        assert.is(deserializeSession(cut).archivedStates.length, 1, `cut at ${len}: one archived state left`);
      }
    }
  });
}

test.run();
