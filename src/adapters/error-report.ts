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

/**
 * The error `ready()` rejects with when the connection fails before it is online: `login-failed` for a SASL
 * failure (RFC 6120 §6.5, e.g. a wrong password), `connection-failed` for anything else (no server, refused, a
 * stream error), with the client's error as `cause` and one line of text (never the element tree).
 * @throws nothing (returns the error).
 */
export function connectionError(e: unknown): OmemoError {
  const err = e as { name?: unknown; condition?: unknown; code?: unknown; message?: unknown } | null;
  const condition = typeof err?.condition === 'string' ? err.condition : undefined;
  if (err?.name === 'SASLError')
    return new OmemoError('login-failed', `login failed: ${condition ?? 'the server refused the credentials'}`, {
      cause: e,
    });
  const line = String(err?.message ?? e)
    .split('\n', 1)[0]!
    .slice(0, 200);
  const why = condition ?? (typeof err?.code === 'string' ? err.code : undefined);
  return new OmemoError(
    'connection-failed',
    `connecting failed: ${why && !line.includes(why) ? `${why}: ` : ''}${line}`,
    {
      cause: e,
    },
  );
}

/**
 * Calls every listener through `call`; what one throws, or its promise rejects with, goes to `failed`, and the
 * others are still called.
 * @throws nothing (unless `failed` throws).
 */
export function callListeners<L>(
  listeners: Iterable<L>,
  call: (listener: L) => unknown,
  failed: (error: unknown) => void,
): void {
  for (const l of listeners) {
    try {
      const r = call(l);
      if (r instanceof Promise) r.catch(failed);
    } catch (e) {
      failed(e);
    }
  }
}
