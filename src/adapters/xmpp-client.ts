// XEP-0384 on an @xmpp/client connection: the package entry `omemo-wasm/xmpp-client` (the facade class is in
// xmpp-client-omemo.ts; this module names what the entry exports and creates the facade).
import { XmppClientOmemo } from './xmpp-client-omemo';
import type { XmppClientOmemoOptions } from './xmpp-client-options';

export { XmppClientOmemo } from './xmpp-client-omemo';
export type { XmlElement, XmppClientLike, IqCalleeContext } from './xmpp-types';
export type { DiscoIdentity } from './entity-capabilities';
export { capsVerification, CAPS_HASH } from './entity-capabilities';
export { createPepTransport, IQ_TIMEOUT_MS, type PepTransport, type PepTransportOptions } from './pep-transport';
export { DEFAULT_FALLBACK_BODY, buildOmemoMessage, type OmemoMessageInput } from './omemo-message';
export { MAM_PAGE_SIZE, MAM_MAX_MESSAGES, type ArchivedMessage } from './message-archive';
export { DEFAULT_CAPS_NODE, DEFAULT_IDENTITY } from './disco';
export { MAX_PENDING_STANZAS } from './inbound';
export type { OmemoErrorContext, OmemoErrorPhase } from './error-report';
export type { OmemoChatMessage, OmemoMessageVia } from './deliver';
export type { DeviceListEvent } from './pubsub-events';
export type { CatchUpOptions, CatchUpResult } from './catch-up';
export type { SendOptions, XmppClientOmemoOptions } from './xmpp-client-options';
export { REQUIRED_ROOM_FEATURES, type JoinRoomOptions } from './muc';
export type { RoomInvitation } from './muc-stanzas';
export {
  DEFAULT_MAX_DOWNLOAD_BYTES,
  type DownloadFileOptions,
  type SendFileOptions,
  type UploadFileOptions,
} from './file-transfer';
export { MAX_UPLOAD_SERVICE_CANDIDATES, UPLOAD_SLOT_HEADERS, type FetchLike, type UploadService } from './http-upload';
export { FileDescriptor, fileOfText, type FileMeta, type FileDescriptorJson } from '../omemo/files/file-descriptor';
export type { ByteSource } from '../crypto/byte-source';

/**
 * Attaches OMEMO to an @xmpp/client client. Typical bot:
 *
 * ```ts
 * const xmpp = client({ service, username, password });
 * const omemo = createXmppClientOmemo({ client: xmpp, store, onMessage: (m) => omemo.send(m.from, m.text!) });
 * await xmpp.start();
 * await omemo.ready();
 * ```
 * @throws TypeError for missing or invalid options.
 */
export function createXmppClientOmemo(options: XmppClientOmemoOptions): XmppClientOmemo {
  return new XmppClientOmemo(options);
}
