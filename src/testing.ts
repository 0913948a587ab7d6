// omemo-wasm/testing: the OmemoStore conformance suite, for proving a store of your own with any test runner
// (storeConformanceCases), and the latency wrapper to run it as over a network (withLatency). No test framework.
export {
  storeConformanceCases,
  type StoreConformanceCase,
  type StoreFactory,
} from './testing/store-conformance';
export { CONFORMANCE_OWNER_JID } from './testing/store-fixtures';
export { ConformanceError } from './testing/assert';
export { withLatency, latencyStats, type LatencyOptions, type LatencyStats } from './testing/latency-store';
