// When a device we keep writing to without an answer is skipped (XEP-0384 0.9 §4.6 leaves it to the client;
// Gajim marks a device inactive after 300 unanswered messages, QXmpp also records dates). OMEMO 0.3 clients send
// no heartbeats, so silence alone says little: a device is stale only after many messages AND a long time.
import type { StoredDevice } from '../store/store';

/** Default: unanswered messages before a device may count as stale. */
export const STALE_DEVICE_AFTER_MESSAGES = 500;
/** Default: days of silence (since it last wrote, or since our first unanswered message) before it may be stale. */
export const STALE_DEVICE_AFTER_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

/** The stale-device rule: a device is skipped when both bounds are reached; `false` never skips for silence. */
export type StaleDevicePolicy = { afterMessages: number; afterDays: number } | false;

/** The default policy: 500 unanswered messages and 30 days. */
export const DEFAULT_STALE_DEVICE_POLICY: StaleDevicePolicy = {
  afterMessages: STALE_DEVICE_AFTER_MESSAGES,
  afterDays: STALE_DEVICE_AFTER_DAYS,
};

/**
 * Checks a policy given by a caller.
 * @throws TypeError/RangeError for anything but `false` or two non-negative finite numbers.
 */
export function checkStaleDevicePolicy(policy: unknown): StaleDevicePolicy {
  if (policy === false) return false;
  if (typeof policy !== 'object' || policy === null)
    throw new TypeError('staleDevice must be false or { afterMessages, afterDays }');
  const { afterMessages, afterDays } = policy as Record<string, unknown>;
  for (const [name, v] of [
    ['afterMessages', afterMessages],
    ['afterDays', afterDays],
  ] as const) {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))
      throw new RangeError(`staleDevice.${name} must be a finite number ≥ 0, got ${String(v)}`);
  }
  return { afterMessages: afterMessages as number, afterDays: afterDays as number };
}

/** Whether `device` is stale at `now` under `policy`. */
export function isStale(device: StoredDevice, policy: StaleDevicePolicy, now: number): boolean {
  if (policy === false || device.sentSinceLastReceived < policy.afterMessages) return false;
  const silentSince = device.lastReceivedAt > 0 ? device.lastReceivedAt : (device.unansweredSince ?? 0);
  // No date at all (a record from before dates were kept): count from now, never as silent forever.
  if (silentSince === 0) return policy.afterDays === 0;
  return now - silentSince >= policy.afterDays * DAY_MS;
}
