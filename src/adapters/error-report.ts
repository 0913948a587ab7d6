// How the @xmpp/client adapter's plugins (XEP-0384 over XEP-0030/0163/0280/0313) report errors: the phase and
// context of a report, the report function every plugin gets injected, and the mapping of foreign errors.
import { OmemoError } from '../crypto/errors';
import type { XmlElement } from './xmpp-types';

/** Where an error was reported from. */
export type OmemoErrorPhase = 'setup' | 'decrypt' | 'device-list' | 'catch-up' | 'stanza' | 'handler';

/** Context of a reported error. */
export interface OmemoErrorContext {
  phase: OmemoErrorPhase;
  /** The stanza being processed, if any. */
  stanza?: XmlElement;
  /** Bare JID of the remote party, when known. */
  from?: string;
}

/** Hands an error to the error listeners; never throws. */
export type ReportError = (error: Error, context: OmemoErrorContext) => void;

/**
 * The error to report or throw for `e`: OmemoError, TypeError and RangeError as they are, anything else (network,
 * store, stanza errors of @xmpp/client) as OmemoError `transport-error` with `what` and the original as cause.
 * @throws nothing (returns the error).
 */
export function asOmemoError(e: unknown, what: string): Error {
  if (e instanceof OmemoError || e instanceof TypeError || e instanceof RangeError) return e;
  return new OmemoError('transport-error', `${what}: ${String((e as Error)?.message ?? e)}`, { cause: e });
}
