// RFC 6120 §7 resource binding (@xmpp/client's 'online') as the trigger of the OMEMO setup (XEP-0384 §5.3
// publishing, caps presence): one setup at a time, and the `ready()` promise that a failed setup hands on.
import { asOmemoError, type ReportError } from './error-report';

/** The setup runner of one connection. */
export interface OnlineSetup<T> {
  /**
   * The result of the first setup, or, while no setup has succeeded, of the newest one.
   * @throws what the setup threw (rejects), as OmemoError `transport-error` unless OmemoError/TypeError/RangeError.
   */
  ready(): Promise<T>;
  /** Starts a setup after the running one (call on every 'online'); failures are reported (phase 'setup'). */
  online(): void;
  /**
   * The connection failed (the client's 'error' event): while no setup has succeeded, `ready()` rejects with
   * `error` (a later 'online' starts a setup that replaces it). Ignored once a setup succeeded.
   */
  fail(error: Error): void;
}

/**
 * Serializes `setup` runs, one per `online()`: a quick reconnect must not run a second setup on the same store
 * while the first one is still opening it.
 * @throws nothing (failures reject `ready()` and are reported).
 */
export function createOnlineSetup<T>(setup: () => Promise<T>, report: ReportError): OnlineSetup<T> {
  let resolveFirst!: (value: T) => void;
  let rejectFirst!: (e: unknown) => void;
  let attempt = new Promise<T>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  attempt.catch(() => undefined); // reported; awaiting `ready()` still sees it
  let first = true;
  let succeeded = false;
  let setups: Promise<void> = Promise.resolve();

  const online = (): void => {
    const run = setups.then(setup).catch((e: unknown) => {
      throw asOmemoError(e, 'setup failed');
    });
    setups = run.then(
      () => {
        if (!succeeded) attempt = run; // in case a connection failure replaced it meanwhile
        succeeded = true;
      },
      (e: Error) => report(e, { phase: 'setup' }),
    );
    if (first) {
      first = false;
      run.then(resolveFirst, rejectFirst);
    } else if (!succeeded) {
      run.catch(() => undefined); // reported above
      attempt = run; // an earlier setup failed: this one replaces it
    }
  };
  const fail = (error: Error): void => {
    if (succeeded) return;
    if (first) {
      first = false;
      rejectFirst(error);
    } else {
      const failed = Promise.reject(error);
      failed.catch(() => undefined); // awaiting `ready()` still sees it
      attempt = failed;
    }
  };
  return { ready: () => attempt, online, fail };
}
