// XEP-0384 0.3.0 / 0.9: the OMEMO versions, re-exported for store.ts, memory-store.ts and sqlite-store.ts until
// they import src/omemo/versions/backend.ts themselves (they are being moved; delete this file then).
export { OMEMO_VERSIONS, type OmemoVersion } from './versions/backend';
