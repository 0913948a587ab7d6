// XEP-0363 HTTP File Upload: finding the service (§3: disco#items of our server, disco#info with
// `urn:xmpp:http:upload:0` and the `max-file-size` of §4's data form), requesting a slot (§5), and the PUT
// with only the headers §5 allows through (Authorization, Cookie, Expires).
import { xml } from '@xmpp/client';
import { OmemoError } from '../crypto/errors';
import { errorCondition } from './pep-transport';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_HTTP_UPLOAD, NS_X_DATA } from './xmpp-namespaces';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** Items of our server asked for disco#info when looking for the upload service (bounds the iqs we send). */
export const MAX_UPLOAD_SERVICE_CANDIDATES = 32;
/** Slot headers passed on to the PUT (XEP-0363 §5: a client must drop every other one). */
export const UPLOAD_SLOT_HEADERS: readonly string[] = Object.freeze(['authorization', 'cookie', 'expires']);
/** Longest slot header value passed on. */
const MAX_SLOT_HEADER_CHARS = 8192;

/** A `fetch` function (the global one by default; inject one for proxies or tests). */
export type FetchLike = (input: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>;

/** The server's upload service. */
export interface UploadService {
  /** Its JID. */
  jid: string;
  /** Largest file it takes, in bytes (what the slot request says: for encrypted files the ciphertext). */
  maxFileSize: number | undefined;
}

/** An upload slot (XEP-0363 §5). */
export interface UploadSlot {
  putUrl: string;
  getUrl: string;
  /** The allowed headers for the PUT. */
  headers: Record<string, string>;
}

/** What the upload plugin needs. */
export interface HttpUploadOptions {
  client: XmppClientLike;
  iqTimeoutMs: number;
  /** Our server's domain, once connected. */
  domain: () => string | undefined;
  fetch?: FetchLike;
  /** Accept plain-http slots (loopback test servers). Default false: https only. */
  allowHttp?: boolean;
}

/** The HTTP upload plugin. */
export interface HttpUpload {
  /**
   * The upload service, discovered once per connection (a failed discovery is tried again next time).
   * @throws OmemoError `upload-unavailable` when the server offers none; `transport-error` when disco fails.
   */
  service(): Promise<UploadService>;
  /**
   * Requests a slot.
   * @throws OmemoError `file-too-large` when the service refuses the size; `file-transfer-failed` otherwise.
   */
  requestSlot(service: UploadService, filename: string, size: number, contentType: string): Promise<UploadSlot>;
  /**
   * PUTs `size` bytes to the slot.
   * @throws OmemoError `file-transfer-failed` for an HTTP error or a network failure.
   */
  put(
    slot: UploadSlot,
    body: Uint8Array | ReadableStream<Uint8Array>,
    size: number,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Forget the discovered service (a reconnect may land on another server). */
  reset(): void;
}

/** The value of `var` in the XEP-0004 form of `FORM_TYPE` `formType`, among a disco#info result's forms. */
function formValue(query: XmlElement, formType: string, field: string): string | undefined {
  for (const form of query.getChildren('x', NS_X_DATA)) {
    const fields = form.getChildren('field');
    const type = fields
      .find((f) => f.attrs.var === 'FORM_TYPE')
      ?.getChild('value')
      ?.getText();
    if (type !== formType) continue;
    return fields
      .find((f) => f.attrs.var === field)
      ?.getChild('value')
      ?.getText();
  }
  return undefined;
}

/** An http(s) URL, https only unless allowed. */
function checkUrl(text: string | undefined, what: string, allowHttp: boolean): string {
  let url: URL | undefined;
  try {
    url = text === undefined ? undefined : new URL(text);
  } catch {
    url = undefined;
  }
  const ok = url !== undefined && (url.protocol === 'https:' || (allowHttp && url.protocol === 'http:'));
  if (!ok || url === undefined)
    throw new OmemoError('file-transfer-failed', `upload slot ${what} URL is not ${allowHttp ? 'http(s)' : 'https'}`);
  return url.href;
}

function failed(what: string, cause?: unknown): OmemoError {
  return new OmemoError('file-transfer-failed', what, cause === undefined ? undefined : { cause });
}

/**
 * The XEP-0363 plugin on an @xmpp/client connection.
 * @throws nothing.
 */
export function createHttpUpload(options: HttpUploadOptions): HttpUpload {
  const { client, iqTimeoutMs } = options;
  const allowHttp = options.allowHttp === true;
  let found: Promise<UploadService> | undefined;

  const request = (to: string, child: XmlElement) =>
    client.iqCaller.request(xml('iq', { type: 'get', to }, child), iqTimeoutMs);

  /** The service at `jid`, if its disco#info lists the upload feature. */
  const probe = async (jid: string): Promise<UploadService | undefined> => {
    let info: XmlElement;
    try {
      info = await request(jid, xml('query', { xmlns: NS_DISCO_INFO }));
    } catch {
      return undefined; // an item that does not answer is just not the service
    }
    const query = info.is('query', NS_DISCO_INFO) ? info : info.getChild('query', NS_DISCO_INFO);
    if (query === undefined) return undefined;
    if (!query.getChildren('feature').some((f) => f.attrs.var === NS_HTTP_UPLOAD)) return undefined;
    const max = formValue(query, NS_HTTP_UPLOAD, 'max-file-size');
    const n = max !== undefined && /^[0-9]{1,16}$/.test(max.trim()) ? Number(max.trim()) : undefined;
    return { jid, maxFileSize: n };
  };

  const discover = async (): Promise<UploadService> => {
    const domain = options.domain();
    if (domain === undefined) throw new TypeError('not connected: no server domain to discover an upload service on');
    let items: XmlElement;
    try {
      items = await request(domain, xml('query', { xmlns: NS_DISCO_ITEMS }));
    } catch (e) {
      throw new OmemoError('transport-error', `disco#items of ${domain} failed: ${String(e)}`, { cause: e });
    }
    const query = items.is('query', NS_DISCO_ITEMS) ? items : items.getChild('query', NS_DISCO_ITEMS);
    const jids = (query?.getChildren('item') ?? [])
      .map((i) => i.attrs.jid)
      .filter((j): j is string => typeof j === 'string' && j !== '' && plausibleJid(j))
      .slice(0, MAX_UPLOAD_SERVICE_CANDIDATES);
    // The server itself may offer it too (some ejabberd set-ups): asked alongside, the items win.
    const results = await Promise.all([...jids, domain].map(probe));
    const service = results.find((r) => r !== undefined);
    if (service === undefined) throw new OmemoError('upload-unavailable', `${domain} offers no HTTP upload service`);
    return service;
  };

  return {
    service() {
      found ??= discover().catch((e: unknown) => {
        found = undefined;
        throw e;
      });
      return found;
    },

    async requestSlot(service, filename, size, contentType) {
      let result: XmlElement;
      try {
        result = await request(
          service.jid,
          xml('request', { xmlns: NS_HTTP_UPLOAD, filename, size: String(size), 'content-type': contentType }),
        );
      } catch (e) {
        const el = (e as { element?: XmlElement } | null)?.element;
        const tooLarge = el?.getChild?.('file-too-large', NS_HTTP_UPLOAD);
        if (tooLarge !== undefined) {
          const max = tooLarge.getChild('max-file-size')?.getText();
          throw new OmemoError('file-too-large', `the upload service refused ${size} bytes (max ${max ?? '?'})`);
        }
        throw failed(`upload slot refused: ${errorCondition(e) ?? String(e)}`, e);
      }
      const slot = result.is('slot', NS_HTTP_UPLOAD) ? result : result.getChild('slot', NS_HTTP_UPLOAD);
      const put = slot?.getChild('put');
      const putUrl = checkUrl(put?.attrs.url, 'PUT', allowHttp);
      const getUrl = checkUrl(slot?.getChild('get')?.attrs.url, 'GET', allowHttp);
      const headers: Record<string, string> = {};
      for (const h of put?.getChildren('header') ?? []) {
        const name = (h.attrs.name ?? '').toLowerCase();
        const value = h
          .getText()
          .replace(/[\r\n]+/g, ' ')
          .trim();
        if (UPLOAD_SLOT_HEADERS.includes(name) && value.length <= MAX_SLOT_HEADER_CHARS) headers[name] = value;
      }
      return { putUrl, getUrl, headers };
    },

    async put(slot, body, size, contentType, signal) {
      const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
      let response: Response;
      try {
        response = await doFetch(slot.putUrl, {
          method: 'PUT',
          body: body as BodyInit,
          // Node's fetch streams a ReadableStream body only in half-duplex mode.
          ...(body instanceof Uint8Array ? {} : { duplex: 'half' as const }),
          headers: { ...slot.headers, 'content-type': contentType, 'content-length': String(size) },
          redirect: 'error',
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        // A RangeError/TypeError of our own stream (a file shorter than its size) is the caller's to see.
        const cause = (e as { cause?: unknown })?.cause;
        if (e instanceof RangeError || e instanceof OmemoError) throw e;
        if (cause instanceof RangeError || cause instanceof OmemoError) throw cause;
        throw failed(`upload PUT failed: ${String((e as Error)?.message ?? e)}`, e);
      }
      await response.body?.cancel().catch(() => undefined);
      if (response.status !== 200 && response.status !== 201)
        throw failed(`upload PUT answered HTTP ${response.status} ${response.statusText}`);
    },

    reset() {
      found = undefined;
    },
  };
}

/** JIDs from disco#items are only sent back as `to`: refuse white space, markup characters and absurd lengths. */
function plausibleJid(jid: string): boolean {
  return jid.length <= 3071 && !/[\s<>"']/.test(jid); // XML already excludes control characters
}
