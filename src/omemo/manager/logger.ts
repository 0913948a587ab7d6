// What the session manager and the adapter tell an operator (XEP-0384 §5 publishing, §4 sessions and sends, as
// events): an optional logger with levels and structured fields. Fields are JIDs, device ids, versions, counts,
// error codes and durations, never key material or message text.

/** Levels, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The structured fields of a log event. `event` names what happened (stable, kebab-case, e.g. `session-built`);
 * the others depend on it: `jid`, `deviceId`, `version`, `code` (an OmemoErrorCode), `count`, `ms`, … Never key
 * material, fingerprints excepted when an identity changes.
 */
export interface LogFields {
  event: string;
  [field: string]: string | number | boolean | undefined;
}

/**
 * An optional logger: any object with some of the level methods (`console` is one; pino/winston take a small
 * wrapper, their argument order differs). A missing method means that level is off; a method that throws is
 * ignored.
 */
export interface OmemoLogger {
  debug?(message: string, fields: LogFields): void;
  info?(message: string, fields: LogFields): void;
  warn?(message: string, fields: LogFields): void;
  error?(message: string, fields: LogFields): void;
}

/** Sends an event to a logger; does nothing without one, never throws. */
export type Log = (level: LogLevel, message: string, fields: LogFields) => void;

/**
 * The log function over `logger` (which may be undefined: then nothing is logged).
 * @throws TypeError when `logger` is not an object or one of its level properties is not a function.
 */
export function createLog(logger: OmemoLogger | undefined): Log {
  if (logger === undefined) return () => undefined;
  if (typeof logger !== 'object' && typeof logger !== 'function') throw new TypeError('logger must be an object');
  for (const level of LOG_LEVELS) {
    const method = (logger as Record<string, unknown>)[level];
    if (method !== undefined && typeof method !== 'function') throw new TypeError(`logger.${level} must be a function`);
  }
  return (level, message, fields) => {
    try {
      logger[level]?.(message, fields);
    } catch {
      // A logger that fails must not fail the operation it reports on.
    }
  };
}

/** True when `logger` has the level's method (lets hot paths skip building fields nobody reads). */
export function logs(logger: OmemoLogger | undefined, level: LogLevel): boolean {
  return typeof logger?.[level] === 'function';
}
