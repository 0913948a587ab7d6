// XEP-0384 on an @xmpp/client connection (the class of the package entry `omemo-wasm/xmpp-client`): the facade
// that wires the plugins on one connection — disco/caps (XEP-0030/0115), device-list events (XEP-0163), carbons (XEP-0280),
// catch-up (XEP-0313), group chats (XEP-0045), the inbound queue and decrypt-and-deliver — with the setup
// lifecycle, listeners and send.
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import { createLog, type Log } from '../omemo/manager/logger';
import { OMEMO_VERSIONS } from '../omemo/versions/backend';
import type { OmemoManager, EncryptResult } from '../omemo/manager/session-manager';
import { createAutoSubscribe } from './auto-subscribe';
import { createCarbons, type Carbons } from './carbons';
import { createCatchUp, type CatchUp, type CatchUpOptions, type CatchUpResult } from './catch-up';
import { createDelivery, directMessages, type MessageListener } from './deliver';
import { createDisco, type Disco } from './disco';
import { sendDirect } from './direct-send';
import type { ByteSource } from '../crypto/byte-source';
import type { FileDescriptor } from '../omemo/files/file-descriptor';
import {
  downloadFile,
  splitFileOptions,
  uploadFile,
  type DownloadFileOptions,
  type SendFileOptions,
  type UploadFileOptions,
} from './file-transfer';
import { createHttpUpload, type HttpUpload } from './http-upload';
import { callListeners, connectionError, type OmemoErrorContext, type ReportError } from './error-report';
import { createInbound, type Inbound } from './inbound';
import { createMuc, type JoinRoomOptions, type Muc } from './muc';
import { createRoomMessages, type RoomMessages } from './muc-messages';
import type { RoomInvitation } from './muc-stanzas';
import type { OmemoRoom, RoomAffiliation } from '../omemo/rooms/room';
import { DEFAULT_FALLBACK_BODY } from './omemo-message';
import { setUpOnline } from './online-omemo';
import { createOnlineSetup, type OnlineSetup } from './online-setup';
import { IQ_TIMEOUT_MS, createPepTransport, type PepTransport } from './pep-transport';
import { deviceListEvents, notifyFeatures, type DeviceListListener } from './pubsub-events';
import { bareOf } from './stanza-jid';
import { checkOptions, type SendOptions, type XmppClientOmemoOptions } from './xmpp-client-options';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** The events of `XmppClientOmemo.on`. */
type Listeners = {
  message: MessageListener;
  error: (error: Error, context: OmemoErrorContext) => void;
  'device-list': DeviceListListener;
  /** An invitation to a room (XEP-0045 mediated or XEP-0249 direct); join it with `joinRoom`. */
  invitation: (invitation: RoomInvitation) => void;
};

/**
 * OMEMO on an @xmpp/client connection. Create it before or after `client.start()`; it sets itself up on every
 * `online` (manager opened and published once, carbons, presence with caps) and handles stanzas from then on.
 */
export class XmppClientOmemo {
  readonly client: XmppClientLike;
  /** The PEP transport the manager uses. */
  readonly transport: PepTransport;
  private readonly options: XmppClientOmemoOptions;
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    message: new Set(),
    error: new Set(),
    'device-list': new Set(),
    invitation: new Set(),
  };
  private readonly setups: OnlineSetup<OmemoManager>;
  private readonly disco: Disco;
  private readonly carbons: Carbons;
  private readonly catchUpPlugin: CatchUp;
  private readonly inbound: Inbound;
  private readonly muc: Muc;
  private readonly roomMessages: RoomMessages;
  private readonly autoSubscribe: { stop(): void } | undefined;
  private readonly upload: HttpUpload;
  private opened: OmemoManager | undefined;
  private readonly log: Log;

  /** Use `createXmppClientOmemo`. */
  constructor(options: XmppClientOmemoOptions) {
    checkOptions(options);
    const { client } = options;
    this.client = client;
    this.options = options;
    const iqTimeoutMs = options.iqTimeoutMs ?? IQ_TIMEOUT_MS;
    this.transport = createPepTransport(client, { iqTimeoutMs });
    const versions = options.manager?.versions?.length ? [...new Set(options.manager.versions)] : [...OMEMO_VERSIONS];
    this.log = createLog(options.logger);
    const report: ReportError = (e, c) => this.report(e, c);
    const manager = () => this.setups.ready();
    const deliver = createDelivery({ versions, report, listeners: this.listeners.message });
    this.disco = createDisco({
      client,
      identity: options.caps?.identity,
      node: options.caps?.node,
      features: [...notifyFeatures(versions), ...(options.caps?.features ?? [])],
    });
    this.setups = createOnlineSetup(() => this.setup(), report);
    const domain = () => bareOf(this.client.jid?.toString())?.split('@').pop();
    const files = options.files ?? {};
    this.upload = createHttpUpload({ client, iqTimeoutMs, domain, ...files });
    if (options.onMessage) this.on('message', options.onMessage);
    if (options.onError) this.on('error', options.onError);

    // Deprecated (see the option), kept working for one release.
    this.autoSubscribe = options.acceptSubscriptions ? createAutoSubscribe({ client, report }) : undefined;
    this.carbons = createCarbons({ client, iqTimeoutMs, report, deliver });
    this.muc = createMuc({
      client,
      iqTimeoutMs,
      report,
      manager,
      transport: this.transport,
      versions,
      capsElement: () => this.disco.capsElement(),
      onInvitation: (invitation) => this.emitInvitation(invitation),
    });
    const fallbackBody = () => this.options.fallbackBody ?? DEFAULT_FALLBACK_BODY;
    this.roomMessages = createRoomMessages({ client, muc: this.muc, versions, report, deliver, fallbackBody });
    const deliverRoom = this.roomMessages.deliverArchived;
    const jid = () => this.jid;
    this.catchUpPlugin = createCatchUp({ client, iqTimeoutMs, report, manager, jid, deliver, deliverRoom });
    this.inbound = createInbound({
      client,
      report,
      manager,
      claims: [this.catchUpPlugin.claim],
      handlers: [
        deviceListEvents({ versions, report, listeners: this.listeners['device-list'] }),
        this.carbons,
        this.roomMessages.handler,
        directMessages(deliver),
      ],
    });
    client.on('online', this.onOnline);
    client.on('error', this.onClientError);
    if (client.status === 'online') this.onOnline();
  }

  /**
   * The manager once set up (opened, published, carbons enabled, presence sent).
   * @throws OmemoError (rejects) when the connection fails before it is online: `login-failed` (e.g. a wrong
   *   password), `connection-failed` (no server, refused, stream error); or when the first setup failed:
   *   `transport-error`, `store-error`, `store-owner-mismatch`. A later 'online' (a reconnect, which is the
   *   caller's choice: @xmpp/client reconnects by itself until `client.stop()`) tries again and replaces this
   *   promise.
   */
  ready(): Promise<OmemoManager> {
    return this.setups.ready();
  }

  /**
   * The manager.
   * @throws TypeError before the first successful setup (await `ready()`).
   */
  get manager(): OmemoManager {
    if (this.opened === undefined) throw new TypeError('OMEMO is not set up yet: await ready() first');
    return this.opened;
  }

  /** Our bare JID, once connected. */
  get jid(): string | undefined {
    return this.opened?.jid ?? bareOf(this.client.jid?.toString());
  }

  /**
   * Adds a listener; returns a function that removes it.
   * @throws TypeError for an unknown event or a listener that is not a function.
   */
  on<K extends keyof Listeners>(event: K, listener: Listeners[K]): () => void {
    const set = this.listeners[event] as Set<Listeners[K]>;
    if (set === undefined) throw new TypeError(`unknown event ${JSON.stringify(event)}`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves when every stanza received so far has been processed. */
  idle(): Promise<void> {
    return this.inbound.idle();
  }

  /** The XEP-0115 `<c/>` element for presences you send yourself. */
  capsElement(): Promise<XmlElement> {
    return this.disco.capsElement();
  }

  /**
   * Sends an available presence with our caps (and `children`, e.g. `<show/>`, `<status/>`).
   * @throws what `client.send` throws (connection errors).
   */
  async sendPresence(...children: XmlElement[]): Promise<void> {
    await this.client.send(xml('presence', {}, ...children, await this.capsElement()));
  }

  /**
   * Encrypts `text` to every device of the recipients and our own other devices and sends it: one `<message>`
   * per recipient (all carrying the same `<encrypted>` elements), with EME, fallback body and store hint.
   * @returns the manager's EncryptResult (per-device and per-recipient reports). With `partial`, recipients that
   *   cannot read the message are reported there and sent nothing.
   * @throws OmemoError (unless `partial`) for a recipient that cannot read the message: `invalid-jid`,
   *   `recipient-not-found`, `recipient-unreachable`, `device-list-forbidden`, `no-omemo`, `no-eligible-devices`
   *   (also when recipients fail for different reasons); `stanza-too-large`, `store-error`, `transport-error`;
   *   TypeError before setup.
   */
  async send(
    to: string | readonly string[],
    text: string | Uint8Array,
    options: SendOptions = {},
  ): Promise<EncryptResult> {
    const recipients = typeof to === 'string' ? [to] : [...to];
    if (recipients.length === 0) throw new TypeError('send needs at least one recipient');
    const fallback = this.options.fallbackBody ?? DEFAULT_FALLBACK_BODY;
    return sendDirect(this.client, this.manager, recipients, text, options, fallback);
  }

  /**
   * Joins a room (XEP-0045) for OMEMO: only a members-only, non-anonymous one (disco#info `muc_membersonly` and
   * `muc_nonanonymous`; a room we create gets the server's default configuration). Loads the affiliation lists
   * and fetches every member's device list, then follows occupant presences and affiliation changes.
   * @returns the room model (members, occupants).
   * @throws OmemoError `room-not-eligible` (the room is anonymous or open; we do not stay in it),
   *   `transport-error` (refused, e.g. not a member, or no answer); TypeError for a bad JID or nick, or before setup.
   */
  joinRoom(room: string, options: JoinRoomOptions): Promise<OmemoRoom> {
    return this.muc.join(room, options);
  }

  /**
   * Leaves a room (unavailable presence); its messages are no longer handled.
   * @throws what `client.send` throws.
   */
  leaveRoom(room: string): Promise<void> {
    return this.muc.leave(room);
  }

  /** The model of a joined room (members, occupants), or undefined. */
  room(room: string): OmemoRoom | undefined {
    return this.muc.get(room)?.room;
  }

  /**
   * Grants or revokes a room affiliation (XEP-0045 §9.3–9.4; needs admin or owner rights). A new member's device
   * list is fetched before the next `sendToRoom`; a removed one gets no key from then on.
   * @throws OmemoError `transport-error` when the room refuses; TypeError for a bad room JID.
   */
  setRoomAffiliation(room: string, jid: string, affiliation: RoomAffiliation): Promise<void> {
    return this.muc.setAffiliation(room, jid, affiliation);
  }

  /**
   * Encrypts `text` to every device of every member of a joined room and our own other devices, and sends it as
   * one `type='groupchat'` message (EME, fallback body, store hint, origin-id). Our copy, reflected by the room,
   * is delivered as ours (`reflected: true`).
   * @returns the EncryptResult (per-device reports; `recipients` per member: with `partial`, who cannot read it).
   * @throws OmemoError `no-eligible-devices` (a member has no usable device, unless `partial`; with `partial`,
   *   when no device at all can read it),
   *   `stanza-too-large` (the room has more devices than one stanza holds: the message says how many fit),
   *   `room-not-eligible` (the room's configuration changed: it is no longer members-only and non-anonymous),
   *   `transport-error`, `store-error`; TypeError when the room was not joined.
   */
  async sendToRoom(room: string, text: string | Uint8Array, options: SendOptions = {}): Promise<EncryptResult> {
    return this.roomMessages.send(this.manager, room, text, options);
  }

  /**
   * Encrypts a file (XEP-0454: AES-256-GCM, fresh key, 12-byte IV) and uploads it to the server's XEP-0363
   * service; resolves to its descriptor. Send `descriptor.aesgcmUrl()` as the text of an OMEMO message to share
   * it (what `sendFile` does; for a room, pass it to the room's send). Streams are read once, in constant memory.
   * @throws TypeError/RangeError for a bad file, a stream without `size` or a size mismatch; OmemoError
   *   `file-too-large` (over the service's max-file-size: nothing is uploaded), `upload-unavailable`,
   *   `file-transfer-failed`, `transport-error`.
   */
  async uploadFile(file: ByteSource, options: UploadFileOptions = {}): Promise<FileDescriptor> {
    const started = Date.now();
    const descriptor = await uploadFile(this.upload, file, options);
    // Size and time only: the link holds the key, and no link is ever logged.
    this.log('info', `file uploaded: ${descriptor.size} bytes`, {
      event: 'file-uploaded',
      count: descriptor.size,
      ms: Date.now() - started,
    });
    return descriptor;
  }

  /**
   * Uploads an encrypted file and sends its `aesgcm://` link as an OMEMO message (what Conversations, Dino, Gajim,
   * Monal, Converse and Profanity show as a file).
   * @returns the descriptor and the send's EncryptResult.
   * @throws what `uploadFile` and `send` throw; nothing is sent when the upload fails.
   */
  async sendFile(
    to: string | readonly string[],
    file: ByteSource,
    options: SendFileOptions = {},
  ): Promise<{ file: FileDescriptor; result: EncryptResult }> {
    const { upload, send } = splitFileOptions(options);
    const descriptor = await this.uploadFile(file, upload);
    return { file: descriptor, result: await this.send(to, descriptor.aesgcmUrl(), send) };
  }

  /**
   * Uploads an encrypted file and sends its `aesgcm://` link to a joined room as one OMEMO groupchat message (see
   * `sendToRoom`); members receive it as `message.file`.
   * @returns the descriptor and the send's EncryptResult.
   * @throws what `uploadFile` and `sendToRoom` throw; nothing is sent when the upload fails.
   */
  async sendFileToRoom(
    room: string,
    file: ByteSource,
    options: SendFileOptions = {},
  ): Promise<{ file: FileDescriptor; result: EncryptResult }> {
    if (this.muc.get(room) === undefined) throw new TypeError(`not in the room ${room}: joinRoom first`);
    const { upload, send } = splitFileOptions(options);
    const descriptor = await this.uploadFile(file, upload);
    return { file: descriptor, result: await this.sendToRoom(room, descriptor.aesgcmUrl(), send) };
  }

  /**
   * Downloads and decrypts a received file (`message.file`): a stream of plaintext that ends normally only
   * once the whole file arrived and its tag verified (see `downloadFile` of the file-transfer module). Uses the
   * adapter's `files` options unless given here.
   * @throws TypeError for a bad descriptor; OmemoError `file-transfer-failed`, `file-too-large` (rejects or
   *   errors the stream), `authentication-failed` (errors the stream).
   */
  downloadFile(descriptor: FileDescriptor, options: DownloadFileOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const files = this.options.files ?? {};
    return downloadFile(descriptor, { ...files, ...options });
  }

  /**
   * History catch-up (XEP-0313): queries our archive page by page, decrypts every OMEMO message and delivers
   * those with a payload to the message listeners (via 'archive'). Pre keys consumed meanwhile are kept until
   * the end (manager.startCatchUp/endCatchUp). Duplicates of messages already seen fail quietly.
   * @throws OmemoError `transport-error` when the archive query fails (pre keys are still released);
   *   TypeError while another catch-up runs; RangeError for a bad `maxMessages`.
   */
  async catchUp(options: CatchUpOptions = {}): Promise<CatchUpResult> {
    const started = Date.now();
    const result = await this.catchUpPlugin.run(options);
    this.log('info', `caught up: ${result.processed} archived messages, ${result.delivered} delivered`, {
      event: 'catch-up',
      count: result.processed,
      delivered: result.delivered,
      complete: result.complete,
      ms: Date.now() - started,
    });
    return result;
  }

  /** Stops handling stanzas (the manager and its store stay usable; the disco#info handler passes through). */
  detach(): void {
    this.inbound.stop();
    this.muc.stop();
    this.disco.stop();
    this.autoSubscribe?.stop();
    this.client.removeListener('online', this.onOnline);
    this.client.removeListener('error', this.onClientError);
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────────────────

  private report(error: Error, context: OmemoErrorContext): void {
    const code = error instanceof OmemoError ? error.code : error.name;
    this.log('warn', `${context.phase}${context.from ? ` (${context.from})` : ''}: ${error.message}`, {
      event: 'error-reported',
      phase: context.phase,
      code,
      jid: context.from,
    });
    // An error listener that fails has nobody left to tell.
    callListeners(
      this.listeners.error,
      (l) => l(error, context),
      () => undefined,
    );
  }

  private readonly onOnline = (): void => this.setups.online();

  private readonly onClientError = (e: Error): void => {
    const error = connectionError(e);
    if (this.opened === undefined) this.log('error', error.message, { event: 'connection-failed', code: error.code });
    this.setups.fail(error);
  };

  private emitInvitation(invitation: RoomInvitation): void {
    callListeners(
      this.listeners.invitation,
      (l) => l(invitation),
      (e) => this.report(e as Error, { phase: 'handler' }),
    );
  }

  private setup(): Promise<OmemoManager> {
    return setUpOnline({
      jid: () => this.client.jid?.toString(),
      options: this.options,
      transport: this.transport,
      opened: () => this.opened,
      keep: (manager) => {
        this.opened = manager;
      },
      resetUpload: () => this.upload.reset(),
      enableCarbons: () => this.carbons.enable(),
      sendPresence: () => this.sendPresence(),
      rejoinRooms: () => this.muc.rejoinAll(),
      log: this.log,
    });
  }
}
