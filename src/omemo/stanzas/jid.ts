// RFC 7622 JIDs as far as OMEMO needs them: device lists, sessions and trust are per bare JID.

/** Longest JID accepted (RFC 7622 §3.1: each part at most 1023 bytes). */
export const MAX_JID_CHARS = 3071;

/** The bare JID (resource stripped); throws TypeError for a non-string or an empty/oversized JID. */
export function bareJid(jid: string): string {
  if (typeof jid !== 'string') throw new TypeError(`jid must be a string, got ${typeof jid}`);
  const slash = jid.indexOf('/');
  const bare = slash === -1 ? jid : jid.slice(0, slash);
  if (bare.length === 0 || bare.length > MAX_JID_CHARS)
    throw new TypeError(`invalid JID ${JSON.stringify(jid.slice(0, 64))}`);
  return bare;
}
