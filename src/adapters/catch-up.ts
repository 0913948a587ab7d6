// XEP-0313 §4 history catch-up: our archive queried page by page (XEP-0059 paging), each archived OMEMO message
// decrypted and delivered, between the manager's start/end hooks that keep consumed pre keys until the end.
import { OmemoError } from '../crypto/errors';
import type { OmemoManager } from '../omemo/manager/session-manager';
import type { Deliver, DeliveryMeta } from './deliver';
import { bareOf } from './stanza-jid';
import { asOmemoError, type ReportError } from './error-report';
import { MAM_MAX_MESSAGES, MAM_PAGE_SIZE } from './message-archive';
import { buildArchiveQuery, readArchiveFin, readArchiveResult } from './message-archive';
import { stanzaId } from './omemo-message';
import { NS_MAM } from './xmpp-namespaces';
import type { XmlElement, XmppClientLike } from './xmpp-types';

/** Options of `catchUp`. */
export interface CatchUpOptions {
  /** Only the conversation with this JID. */
  with?: string;
  /** Messages from this time on. */
  start?: Date;
  /** Messages after this archive id (e.g. the `last` of the previous catch-up). */
  after?: string;
  /** Stop after this many messages (default and upper bound MAM_MAX_MESSAGES). */
  maxMessages?: number;
  /**
   * A joined room's archive instead of ours (XEP-0313 §5.1.3): its messages are decrypted with the real JIDs the
   * archive carries (non-anonymous rooms) and delivered with the room's fields.
   */
  room?: string;
}

/** Result of `catchUp`. */
export interface CatchUpResult {
  /** Archived messages processed (decrypted or not). */
  processed: number;
  /** Messages delivered to the message listeners. */
  delivered: number;
  /** Archive id of the last message seen: pass it as `after` next time. */
  last: string | undefined;
  /** False when `maxMessages` stopped the catch-up before the archive's end. */
  complete: boolean;
}

/** What the catch-up plugin needs. */
export interface CatchUpPluginOptions {
  client: XmppClientLike;
  /** Timeout of each archive query. */
  iqTimeoutMs: number;
  report: ReportError;
  /** The manager once set up. */
  manager: () => Promise<OmemoManager>;
  /** Our bare JID, once known: archive results from anyone else are refused. */
  jid: () => string | undefined;
  deliver: Deliver;
  /** Decrypts and delivers one message of a room's archive. */
  deliverRoom: (manager: OmemoManager, room: string, message: XmlElement, meta: DeliveryMeta) => Promise<boolean>;
}

/** The catch-up plugin. */
export interface CatchUp {
  /**
   * Runs one catch-up (see `XmppClientOmemo.catchUp`).
   * @throws OmemoError `transport-error` when an archive query fails (the end hook still runs);
   *   TypeError while another catch-up runs; RangeError for a bad `maxMessages`.
   */
  run(options: CatchUpOptions): Promise<CatchUpResult>;
  /** The inbound claim of archive results: collected for a running query, never queued. */
  claim(message: XmlElement): boolean;
}

/**
 * Creates the catch-up plugin (register `claim` with the inbound plugin).
 * @throws nothing.
 */
export function createCatchUp(options: CatchUpPluginOptions): CatchUp {
  const { client, report, deliver } = options;
  /** Results per running query id (at most one page each), and whose archive answers it. */
  const queries = new Map<string, XmlElement[]>();
  const archiveOf = new Map<string, string | undefined>();
  let running = false;

  const queryPage = async (catchUp: CatchUpOptions, max: number, after: string | undefined) => {
    const queryid = stanzaId();
    const results: XmlElement[] = [];
    queries.set(queryid, results);
    archiveOf.set(queryid, catchUp.room);
    try {
      const iq = buildArchiveQuery({
        queryid,
        max,
        ...(catchUp.room ? { to: catchUp.room } : {}),
        ...(catchUp.with ? { with: catchUp.with } : {}),
        ...(catchUp.start ? { start: catchUp.start } : {}),
        ...(after ? { after } : {}),
      });
      return { fin: readArchiveFin(await client.iqCaller.request(iq, options.iqTimeoutMs)), results };
    } catch (e) {
      throw asOmemoError(e, 'archive query failed');
    } finally {
      queries.delete(queryid);
      archiveOf.delete(queryid);
    }
  };

  const run = async (catchUp: CatchUpOptions): Promise<CatchUpResult> => {
    const limit = Math.min(catchUp.maxMessages ?? MAM_MAX_MESSAGES, MAM_MAX_MESSAGES);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`maxMessages must be a positive integer, got ${catchUp.maxMessages}`);
    }
    const room = catchUp.room === undefined ? undefined : bareOf(catchUp.room);
    if (catchUp.room !== undefined && (room === undefined || room !== catchUp.room))
      throw new TypeError(`room must be a bare JID, got ${JSON.stringify(catchUp.room)}`);
    const manager = await options.manager();
    if (running) throw new TypeError('a catch-up is already running');
    running = true;
    manager.startCatchUp();
    let processed = 0;
    let delivered = 0;
    let last = catchUp.after;
    let complete = false;
    try {
      while (processed < limit) {
        const pageStart = last;
        const { fin, results } = await queryPage(catchUp, Math.min(MAM_PAGE_SIZE, limit - processed), last);
        for (const r of results) {
          const archived = readArchiveResult(r);
          if (archived === undefined) {
            const error = new OmemoError('malformed-stanza', 'archive result without id or forwarded message');
            report(error, { phase: 'catch-up', stanza: r });
            continue;
          }
          processed++;
          last = archived.id;
          const meta = { stamp: archived.stamp, archiveId: archived.id };
          const ok =
            room === undefined
              ? await deliver(manager, archived.message, 'archive', meta)
              : await options.deliverRoom(manager, room, archived.message, meta);
          if (ok) delivered++;
        }
        if (fin.last !== undefined) last = fin.last;
        complete = fin.complete || results.length === 0;
        if (complete || last === pageStart) break; // done, or a server that does not advance (never loop)
      }
    } finally {
      running = false;
      try {
        await manager.endCatchUp();
      } catch (e) {
        report(asOmemoError(e, 'ending the catch-up failed'), { phase: 'catch-up' });
      }
    }
    return { processed, delivered, last, complete };
  };

  const claim = (stanza: XmlElement): boolean => {
    const result = stanza.getChild('result', NS_MAM);
    if (result === undefined) return false;
    const results = queries.get(result.attrs.queryid ?? '');
    if (results === undefined) return true;
    // Only the archive asked may answer (XEP-0313 §5.1.2): ours (from absent or our bare JID) or the room's.
    const from = stanza.attrs.from;
    const archive = archiveOf.get(result.attrs.queryid ?? '');
    const own = options.jid();
    const wrong = archive === undefined ? from !== undefined && (own === undefined || from !== own) : from !== archive;
    if (wrong) {
      const error = new OmemoError(
        'malformed-stanza',
        `archive result from ${from}, not from ${archive ?? 'our account'}`,
      );
      report(error, { phase: 'catch-up', stanza });
      return true;
    }
    if (results.length < MAM_PAGE_SIZE) results.push(result);
    return true;
  };

  return { run, claim };
}
