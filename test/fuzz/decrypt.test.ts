// Fuzzing in CI: the decrypt properties of test/fuzz/properties.ts (OmemoManager end to end, both versions),
// fixed seed, bounded number of runs; then a check that the mutations reached every layer of decrypt.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectionCodes } from './decrypt-properties';
import { CI_SEED, PROPERTIES, seedFor } from './properties';

for (const p of PROPERTIES.filter((x) => x.kind === 'decrypt')) {
  test(`${p.name} (${p.ciRuns} runs): ${p.description}`, async () => {
    const r = await p.run(seedFor(CI_SEED, p.name, 0), p.ciRuns);
    const replay = `npm run fuzz -- --seed ${CI_SEED} --only ${p.name} --batch 0`;
    assert.ok(!r.failed, `${p.name} failed (replay: ${replay})\n${r.report}`);
    assert.is(r.runs, p.ciRuns);
  });
}

test('the mutated messages were refused by every layer: XML, wire, ratchet MAC, payload, replay check', () => {
  // A fuzzer whose variants all die in the XML parser would prove little about the rest of decrypt.
  const seen = [...rejectionCodes.keys()].sort();
  const layers = ['malformed-stanza', 'malformed-message', 'bad-mac', 'authentication-failed', 'duplicate-message'];
  for (const code of layers) {
    assert.ok((rejectionCodes.get(code) ?? 0) > 0, `no variant was refused with ${code}; seen: ${seen.join(', ')}`);
  }
});

test.run();
