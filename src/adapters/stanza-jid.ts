// RFC 6120 §8.1.1 stanza `from`/`to` addresses as the adapter reads them: the bare JID (RFC 7622) or nothing.
import { bareJid } from '../omemo/stanzas/jid';

/**
 * The bare JID of a stanza address, or undefined when absent or invalid.
 * @throws nothing (an invalid address is undefined).
 */
export function bareOf(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  try {
    return bareJid(address);
  } catch {
    return undefined;
  }
}
