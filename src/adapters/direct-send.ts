// XEP-0384 0.9 §4.4 / 0.3 §4.5 sending a 1:1 message: encrypted to every device of the recipients and our other
// devices, then one `<message>` per recipient that can read it (EME, fallback body, store hint: omemo-message.ts).
import type { EncryptResult, OmemoManager } from '../omemo/manager/session-manager';
import { asOmemoError } from './error-report';
import { buildOmemoMessage } from './omemo-message';
import type { SendOptions } from './xmpp-client-options';
import type { XmppClientLike } from './xmpp-types';

/**
 * Encrypts `text` to `recipients` and sends one message to each recipient that can read it (with `partial`, the
 * others are reported in the result and get nothing). `fallback` is the body for clients without OMEMO ('' none).
 * @throws what OmemoManager.encrypt throws; OmemoError `transport-error` when a send fails.
 */
export async function sendDirect(
  client: XmppClientLike,
  manager: OmemoManager,
  recipients: readonly string[],
  text: string | Uint8Array,
  options: SendOptions,
  fallback: string,
): Promise<EncryptResult> {
  const { type, body, ...encryptOptions } = options;
  const result = await manager.encrypt(recipients, text, encryptOptions);
  const bodyText = body ?? fallback;
  const readers = result.recipients.filter((r) => r.ok).map((r) => r.jid);
  for (const recipient of result.elements.length > 0 ? readers : []) {
    const message = buildOmemoMessage({
      to: recipient,
      type: type ?? 'chat',
      elements: result.elements,
      ...(bodyText === '' ? {} : { body: bodyText }),
    });
    try {
      await client.send(message);
    } catch (e) {
      throw asOmemoError(e, `sending to ${recipient} failed`);
    }
  }
  return result;
}
