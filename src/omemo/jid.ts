// RFC 7622 JIDs: re-exported for sqlite-store.ts until it imports src/omemo/stanzas/jid.ts itself (it is being
// moved; delete this file then).
export { bareJid } from './stanzas/jid';
