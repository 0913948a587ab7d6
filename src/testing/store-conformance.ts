// The behaviour every OmemoStore must have (omemo-wasm/testing), as test cases for any test runner: reads of an
// empty store, commit then read back, atomic commits, values copied in and out, batched session reads, exact JID
// matching, deletes, reads racing a commit, the optional group commit `stage`. Each case opens fresh stores from a factory and throws
// ConformanceError (assert.ts) when the store misbehaves.
import type { OmemoStore } from '../omemo/store/store';
import { COMMIT_CASES } from './store-cases-commits';
import { STAGE_CASES } from './store-cases-stage';
import { VALUE_CASES } from './store-cases-values';
import { CONFORMANCE_OWNER_JID } from './store-fixtures';

/** How the conformance cases get fresh, empty stores of the implementation under test. */
export interface StoreFactory {
  /**
   * Opens a new, empty store of the account `ownerJid` (always the same bare JID). Each call must return a store
   * that shares nothing with the stores opened before (e.g. a new file or database).
   */
  open(ownerJid: string): Promise<OmemoStore>;
  /** Releases a store a case is done with (e.g. closes its file); called for every store `open` returned. */
  dispose?(store: OmemoStore): void | Promise<void>;
}

/** One conformance case: register `run` with your test runner under `name`. */
export interface StoreConformanceCase {
  /** What the case checks, as a sentence (unique among the cases). */
  readonly name: string;
  /**
   * Runs the case on stores opened from the factory, and disposes of them.
   * @throws ConformanceError when the store does not behave as OmemoStore requires; whatever the factory or
   *   the store threw where a call had to succeed.
   */
  run(): Promise<void>;
}

type Open = () => Promise<OmemoStore>;

/** Conformance cases as name and body; the body opens its stores with `open`. */
export type ConformanceCases = readonly (readonly [string, (open: Open) => Promise<void>])[];

/** Every case, in a fixed order. */
const CASES: ConformanceCases = [...VALUE_CASES, ...COMMIT_CASES, ...STAGE_CASES];

/**
 * The conformance cases of OmemoStore, for any test runner: each case opens fresh stores with
 * `factory.open(ownerJid)`, disposes of them when it ends, and its `run` rejects with ConformanceError when the
 * store misbehaves. Run them on the store as it is and on `withLatency(store)` (reads and commits that take a
 * while, as over a network), e.g. with node:test:
 * `for (const c of storeConformanceCases(factory)) test(c.name, () => c.run());`
 * @param factory Opens (and optionally disposes of) stores of the implementation under test.
 * @returns The cases, in a fixed order; each can run alone, and more than once.
 * @throws TypeError when `factory.open` is not a function.
 */
export function storeConformanceCases(factory: StoreFactory): StoreConformanceCase[] {
  if (typeof factory?.open !== 'function') throw new TypeError('factory.open must be a function');
  return CASES.map(([name, body]) => ({
    name,
    run: async () => {
      const stores: OmemoStore[] = [];
      const open: Open = async () => {
        const store = await factory.open(CONFORMANCE_OWNER_JID);
        stores.push(store);
        return store;
      };
      let failed = false;
      let failure: unknown;
      try {
        await body(open);
      } catch (e) {
        failed = true;
        failure = e;
      }
      // Every store is disposed of; the first error (the case's own before any of dispose) is the one thrown.
      for (const store of stores) {
        try {
          await factory.dispose?.(store);
        } catch (e) {
          if (!failed) {
            failed = true;
            failure = e;
          }
        }
      }
      if (failed) throw failure;
    },
  }));
}
