// XEP-0060 §7.1.5 publish options: re-exported for transport.ts until it imports
// src/omemo/stanzas/publish-options.ts itself (it is being moved; delete this file then).
export type { PublishOptions } from './stanzas/publish-options';
