// Per-recipient outcome of a send (XEP-0384 0.9 §4.4: a message is encrypted for every device of every recipient):
// why a recipient cannot read it, told apart from what the server answered (RFC 6120 §8.3.3 stanza errors).
import { OmemoError, type OmemoErrorCode } from '../../crypto/errors';
import type { ManagerCore } from './manager-core';
import type { DeviceReport, RecipientReport } from './manager-types';

/** What can make a recipient fail before its devices are considered. */
type FailureCode = Extract<
  OmemoErrorCode,
  | 'invalid-jid'
  | 'recipient-unreachable'
  | 'recipient-not-found'
  | 'device-list-forbidden'
  | 'no-omemo'
  | 'peer-timeout'
  | 'transport-error'
>;

/** A recipient that failed before any device was considered: its code and a sentence for humans. */
export interface RecipientFailure {
  code: FailureCode;
  message: string;
}

/**
 * RFC 6120 §8.3.3 conditions of a failed device-list fetch, by what they tell about the recipient. Anything else
 * is a `transport-error`.
 */
const CONDITION_CODES: Readonly<Record<string, FailureCode>> = {
  'jid-malformed': 'invalid-jid',
  'remote-server-not-found': 'recipient-unreachable',
  'remote-server-timeout': 'recipient-unreachable',
  // Servers without federation (Prosody: "Communication with remote domains is not enabled").
  'not-allowed': 'recipient-unreachable',
  // RFC 6120 §10.5.3.1: an IQ to a bare JID of an account that does not exist.
  'service-unavailable': 'recipient-not-found',
  gone: 'recipient-not-found',
  // Prosody answers so for accounts that do not exist, as for device lists shown to contacts only.
  forbidden: 'device-list-forbidden',
  'not-authorized': 'device-list-forbidden',
  'registration-required': 'device-list-forbidden',
  'subscription-required': 'device-list-forbidden',
};

/** What each recipient code means to the user, appended to the server's words. */
const EXPLANATIONS: Readonly<Record<FailureCode | 'no-eligible-devices', string>> = {
  'invalid-jid': 'not a valid JID',
  'recipient-unreachable': "the recipient's server cannot be reached",
  'recipient-not-found': 'no such account',
  'device-list-forbidden':
    'the device list is not shown to us: the account may not exist, or shows it to contacts only (subscribe)',
  'no-omemo': 'no OMEMO device list published (the contact does not use OMEMO)',
  'no-eligible-devices': 'not one of its devices can be encrypted to',
  'peer-timeout': 'its server did not answer in time',
  'transport-error': 'fetching the device list failed',
};

/** The stanza error condition of a transport failure (@xmpp/client's StanzaError has `condition`), if any. */
function conditionOf(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 4; depth++) {
    const condition = (c as { condition?: unknown }).condition;
    if (typeof condition === 'string') return condition;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The recipient failure behind a failed device-list fetch of `jid`. */
export function fetchFailure(jid: string, e: unknown): RecipientFailure {
  if (e instanceof OmemoError && e.code === 'peer-timeout') {
    return { code: 'peer-timeout', message: `${jid}: ${EXPLANATIONS['peer-timeout']} (${e.message})` };
  }
  const condition = conditionOf(e);
  const code = (condition !== undefined ? CONDITION_CODES[condition] : undefined) ?? 'transport-error';
  const said = condition ?? String((e as Error)?.message ?? e);
  return { code, message: `${jid}: ${EXPLANATIONS[code]} (${said})` };
}

/** The failure of a recipient with no device list in any version. */
export function noOmemo(jid: string): RecipientFailure {
  return { code: 'no-omemo', message: `${jid}: ${EXPLANATIONS['no-omemo']}` };
}

/** The failure of a recipient whose address is not a JID. */
export function invalidJid(jid: string, problem: string): RecipientFailure {
  return {
    code: 'invalid-jid',
    message: `${JSON.stringify(jid.slice(0, 64))}: ${EXPLANATIONS['invalid-jid']}, ${problem}`,
  };
}

/**
 * One report per recipient, in the order given: reached when at least one of its devices got a key; otherwise
 * its failure from before the devices (invalid JID, device list), or the code all its devices were skipped for
 * (e.g. `untrusted-device`), else `no-eligible-devices`, with each device's reason.
 */
export function recipientReports(
  recipients: readonly string[],
  failures: ReadonlyMap<string, RecipientFailure>,
  devices: readonly DeviceReport[],
): RecipientReport[] {
  const byJid = new Map<string, DeviceReport[]>();
  for (const d of devices) {
    const list = byJid.get(d.jid);
    if (list === undefined) byJid.set(d.jid, [d]);
    else list.push(d);
  }
  return recipients.map((jid) => {
    const own = byJid.get(jid) ?? [];
    const reached = own.filter((d) => d.ok).length;
    if (reached > 0) return { jid, ok: true, devices: reached };
    const failure = failures.get(jid);
    if (failure !== undefined) return { jid, ok: false, devices: 0, error: failure.code, message: failure.message };
    if (own.length === 0) return { jid, ok: false, devices: 0, error: 'no-omemo', message: noOmemo(jid).message };
    const why = own.map((d) => `${d.deviceId}: ${d.error}`).join(', ');
    const codes = new Set(own.map((d) => d.error));
    const error = codes.size === 1 ? (own[0]!.error ?? 'no-eligible-devices') : 'no-eligible-devices';
    const message = `${jid}: ${EXPLANATIONS['no-eligible-devices']} (${why})`;
    return { jid, ok: false, devices: 0, error, message };
  });
}

/**
 * The error of a send that leaves recipients out: their common code when they share one, else
 * `no-eligible-devices`; the message names each recipient and why.
 */
export function unreachedError(unreached: readonly RecipientReport[]): OmemoError {
  const codes = new Set(unreached.map((r) => r.error));
  const code: OmemoErrorCode = codes.size === 1 ? [...codes][0]! : 'no-eligible-devices';
  return new OmemoError(code, `cannot encrypt to ${unreached.map((r) => r.message).join('; ')}`);
}

/** Tells the logger which recipients cannot read a send, and (debug) which devices it skipped and why. */
export function logSend(
  core: ManagerCore,
  devices: readonly DeviceReport[],
  recipients: readonly RecipientReport[],
): void {
  for (const r of recipients)
    if (!r.ok) core.log('info', r.message ?? r.jid, { event: 'recipient-failed', jid: r.jid, code: r.error });
  if (!core.logsDebug) return;
  let ok = 0;
  for (const d of devices) {
    if (d.ok) ok += 1;
    else
      core.log('debug', `skipped ${d.jid}/${d.deviceId}: ${d.message ?? d.error}`, {
        event: 'device-skipped',
        jid: d.jid,
        deviceId: d.deviceId,
        version: d.version,
        code: d.error,
      });
  }
  core.log('debug', `encrypted for ${ok} devices`, {
    event: 'encrypted',
    count: ok,
    skipped: devices.length - ok,
    recipients: recipients.length,
  });
}
