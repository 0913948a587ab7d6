// The OmemoStore conformance suite (src/testing/store-conformance.ts, the package entry omemo-wasm/testing) as one
// uvu suite per implementation: memory-store.test.ts and sqlite-store.test.ts run it, with and without latency.
// Also re-exports the suite's data and assertions for the tests of what only one store has.

import { suite } from 'uvu';
import { type StoreFactory, storeConformanceCases } from '../../src/testing/store-conformance';

export type { StoreFactory };
export { rejects } from '../../src/testing/assert';
export {
  A1,
  A2,
  A3,
  ADDRS,
  CONFORMANCE_OWNER_JID as OWNER_JID,
  JIDS,
  assertSecondApplied,
  bytes,
  device,
  fullChanges,
  hexes,
  identity,
  pk,
  secondChanges,
  spk,
} from '../../src/testing/store-fixtures';

/** Registers and runs the conformance suite for one implementation. */
export function runStoreConformance(name: string, factory: StoreFactory): void {
  const test = suite(`${name} conformance`);
  for (const c of storeConformanceCases(factory)) test(c.name, () => c.run());
  test.run();
}
