// XEP-0313 message archive management (urn:xmpp:mam:2) with XEP-0059 paging: the query iq, the forwarded
// results and the final <fin/>, for OMEMO history catch-up.
import { xml } from '@xmpp/client';
import { NS_DELAY, NS_FORWARD, NS_MAM, NS_RSM, NS_X_DATA } from './xmpp-namespaces';
import type { XmlElement } from './xmpp-types';

/** Results asked for per page (Prosody's default `max_archive_query_results` is 50). */
export const MAM_PAGE_SIZE = 50;
/** At most this many archived messages are processed by one catch-up (the rest waits for the next one). */
export const MAM_MAX_MESSAGES = 10_000;

/** One page request. */
export interface ArchiveQuery {
  queryid: string;
  /** Only messages with this JID. */
  with?: string;
  /** Only messages at or after this time. */
  start?: Date;
  /** Only messages after this archive id (XEP-0059 `<after>`). */
  after?: string;
  max: number;
  /** The archive to query: a room's (XEP-0313 §5.1.3, the room's bare JID) instead of our own. */
  to?: string;
}

/** One archived message. */
export interface ArchivedMessage {
  /** The archive id (use as `after` to continue from it later). */
  id: string;
  /** XEP-0203 timestamp of the archived message. */
  stamp: string | undefined;
  message: XmlElement;
}

/** The `<iq type='set'><query xmlns='urn:xmpp:mam:2'>` of one page. */
export function buildArchiveQuery(q: ArchiveQuery): XmlElement {
  const fields = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM))];
  if (q.with !== undefined) fields.push(xml('field', { var: 'with' }, xml('value', {}, q.with)));
  if (q.start !== undefined) fields.push(xml('field', { var: 'start' }, xml('value', {}, q.start.toISOString())));
  return xml(
    'iq',
    q.to === undefined ? { type: 'set' } : { type: 'set', to: q.to },
    xml(
      'query',
      { xmlns: NS_MAM, queryid: q.queryid },
      xml('x', { xmlns: NS_X_DATA, type: 'submit' }, ...fields),
      xml(
        'set',
        { xmlns: NS_RSM },
        xml('max', {}, String(q.max)),
        q.after === undefined ? undefined : xml('after', {}, q.after),
      ),
    ),
  );
}

/** The message inside a `<result xmlns='urn:xmpp:mam:2'>`, or undefined when the result is malformed. */
export function readArchiveResult(result: XmlElement): ArchivedMessage | undefined {
  const id = result.attrs.id;
  const forwarded = result.getChild('forwarded', NS_FORWARD);
  const message = forwarded?.getChild('message');
  if (id === undefined || message === undefined) return undefined;
  return { id, stamp: forwarded?.getChild('delay', NS_DELAY)?.attrs.stamp, message };
}

/** The paging state of a finished query (`<fin complete='true'>` and the RSM `<last>` id). */
export function readArchiveFin(iqResult: XmlElement): { complete: boolean; last: string | undefined } {
  const fin = iqResult.getChild('fin', NS_MAM);
  const last = fin?.getChild('set', NS_RSM)?.getChild('last')?.getText();
  return { complete: fin?.attrs.complete === 'true', last: last === '' ? undefined : last };
}
