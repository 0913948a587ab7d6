// RFC 7622 JIDs as far as OMEMO needs them: device lists, sessions and trust are per bare JID.
import { utf8Encode } from '../../crypto/bytes';

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

/** Characters RFC 7622 §3.3.1 forbids in a localpart (besides whitespace and controls). */
const LOCALPART_FORBIDDEN = /["&'/:<>@\s\p{Cc}]/u;
/** Characters no domainpart can hold (RFC 7622 §3.2: a host name, an IP literal, or an IDN). */
const DOMAINPART_FORBIDDEN = /[@/\s\p{Cc}"&'<>]/u;
/** `user@host.example` in ASCII with nothing RFC 7622 forbids (what nearly every recipient looks like). */
const PLAIN_BARE_JID = /^[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
/** Longest localpart or domainpart, in UTF-8 bytes (RFC 7622 §3.2, §3.3). */
export const MAX_JID_PART_BYTES = 1023;

/**
 * Why `jid` is not a JID an XMPP server can route to (RFC 7622 §3, without the PRECIS profiles), or undefined when
 * its form is fine: an empty or oversized part, a localpart with a forbidden character, a domain that is not a host.
 */
export function jidProblem(jid: string): string | undefined {
  // The common case in one test (a fan-out checks every recipient): ASCII user@host, within every length bound.
  if (jid.length <= MAX_JID_PART_BYTES && PLAIN_BARE_JID.test(jid)) return undefined;
  const slash = jid.indexOf('/');
  const bare = slash === -1 ? jid : jid.slice(0, slash);
  if (slash !== -1 && slash === jid.length - 1) return 'the resource after "/" is empty';
  const at = bare.lastIndexOf('@');
  const local = at === -1 ? undefined : bare.slice(0, at);
  const domain = at === -1 ? bare : bare.slice(at + 1);
  const bytes = (s: string) => utf8Encode(s).length;
  if (local !== undefined) {
    if (local.length === 0) return 'the part before "@" is empty';
    if (LOCALPART_FORBIDDEN.test(local)) return 'the part before "@" has a character JIDs forbid there';
    if (bytes(local) > MAX_JID_PART_BYTES) return `the part before "@" is over ${MAX_JID_PART_BYTES} bytes`;
  }
  const host = domain.endsWith('.') ? domain.slice(0, -1) : domain; // RFC 7622 §3.2: a final dot is dropped
  if (host.length === 0) return 'the domain is empty';
  if (DOMAINPART_FORBIDDEN.test(host)) return 'the domain has a character no host name has';
  if (host.startsWith('.') || host.includes('..')) return 'the domain has an empty label';
  if (bytes(host) > MAX_JID_PART_BYTES) return `the domain is over ${MAX_JID_PART_BYTES} bytes`;
  return undefined;
}
