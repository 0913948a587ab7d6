// cloneState (src/protocol/session-state.ts): every field of a state copied, its containers its own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cryptoReady } from '../../src/crypto/ready';
import { deserializeSession, serializeSession } from '../../src/protocol/session-record';
import { cloneState, type SessionState } from '../../src/protocol/session-state';
import { makePair, plaintext, recv } from './helpers';

test.before(async () => {
  await cryptoReady();
});

/** States as their producers make them: X3DH (both sides), decrypts (with skipped keys), the record reader. */
function states(): SessionState[] {
  const pair = makePair('twomemo', 'clone-state');
  const pending = makePair('oldmemo', 'clone-state-pending', { answered: false });
  // Skipped keys and an old chain on Bob's side: Alice sends three, Bob reads the third, then a new chain starts.
  const sent = [1, 2, 3].map((i) => pair.alice.encrypt(plaintext('twomemo', i)).data);
  recv(pair.bob, 'twomemo', sent[2]!, pair.rng);
  recv(pair.alice, 'twomemo', pair.bob.encrypt(plaintext('twomemo', 'r')).data, pair.rng);
  recv(pair.bob, 'twomemo', pair.alice.encrypt(plaintext('twomemo', 4)).data, pair.rng);
  assert.ok(pair.bob.state.skipped.size === 2 && pair.bob.state.oldChains.length > 0, 'skipped keys and old chains');
  const read = deserializeSession(serializeSession(pair.bob)).state;
  return [pair.alice.state, pair.bob.state, pending.alice.state, pending.bob.state, read];
}

test('cloneState copies every field (a field added to SessionState and not to cloneState fails here)', () => {
  for (const s of states()) {
    const c = cloneState(s);
    assert.equal(Object.keys(c).sort(), Object.keys(s).sort());
    for (const k of Object.keys(s) as (keyof SessionState)[]) {
      if (k === 'skipped' || k === 'oldChains') assert.equal(c[k], s[k], k);
      else assert.is(c[k], s[k], `${k}: the same value (immutable byte arrays are shared)`);
    }
  }
});

test('cloneState: the skipped keys and old chains of the copy are containers of its own', () => {
  for (const s of states()) {
    const c = cloneState(s);
    assert.is.not(c.skipped, s.skipped);
    assert.is.not(c.oldChains, s.oldChains);
    const [skippedBefore, chainsBefore] = [s.skipped.size, s.oldChains.length];
    c.skipped.clear();
    c.skipped.set('x', { ratchetKey: new Uint8Array(32), n: 1, seed: new Uint8Array(32) });
    c.oldChains.push({ ratchetKey: new Uint8Array(32), nextN: 0 });
    assert.is(s.skipped.size, skippedBefore);
    assert.is(s.oldChains.length, chainsBefore);
  }
});

test.run();
