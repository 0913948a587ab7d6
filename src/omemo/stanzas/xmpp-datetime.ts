// XEP-0082 1.1 §3.3 DateTime (CCYY-MM-DDThh:mm:ss[.sss]TZD), as the SCE `<time stamp>` affix (XEP-0420 0.4 §4)
// carries it: the forms read, and the instants a four-digit year can name.

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants a CCYY stamp in UTC can name. */
const MIN_STAMP_MS = -62167219200000;
const MAX_STAMP_MS = 253402300799999;

/** Whether the instant `ms` (epoch milliseconds) can be written as a stamp (years 0000..9999 UTC). */
export function inStampRange(ms: number): boolean {
  return ms >= MIN_STAMP_MS && ms <= MAX_STAMP_MS;
}

/**
 * The instant of a stamp, or undefined when `stamp` is missing, not of the DateTime form, or outside the years
 * 0000..9999 UTC (an offset can move `0000-01-01T00:00:00+01:00` out of them).
 */
export function parseStamp(stamp: string | undefined): Date | undefined {
  if (stamp === undefined || !DATETIME.test(stamp)) return undefined;
  const ms = Date.parse(stamp);
  return Number.isNaN(ms) || !inStampRange(ms) ? undefined : new Date(ms);
}
