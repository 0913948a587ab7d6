// Fuzzing in CI: every parser property of test/fuzz/properties.ts, fixed seed, bounded number of runs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CI_SEED, PROPERTIES, seedFor } from './properties';

for (const p of PROPERTIES.filter((x) => x.kind === 'parser')) {
  test(`${p.name} (${p.ciRuns} runs): ${p.description}`, async () => {
    const r = await p.run(seedFor(CI_SEED, p.name, 0), p.ciRuns);
    const replay = `npm run fuzz -- --seed ${CI_SEED} --only ${p.name} --batch 0`;
    assert.ok(!r.failed, `${p.name} failed (replay: ${replay})\n${r.report}`);
    assert.is(r.runs, p.ciRuns);
  });
}

test.run();
