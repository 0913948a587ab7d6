// Group commit for the SQLite store (OmemoStore.stage in store.ts), the rows of the hot records: the sessions and
// device records staged into an open group are kept here, checked and copied, and written once each just before the
// group's COMMIT. A burst that advances one session twenty times writes its row once, and a stage costs no SQL.
import type { SessionAddress, StoreChanges, StoredDevice } from './store';
import { sessionKey } from './store';
import {
  assertAddress,
  deviceOut,
  deviceRowIn,
  putDeviceRow,
  sessionRecordIn,
  type DeviceRow,
  type Statements,
} from './sqlite-rows';

/** A session row, or a deletion (`record` null). */
type SessionRow = { address: SessionAddress; record: Uint8Array | null };

/** The checked rows of one stage, applied to the pending rows only once the rest of its changes were written. */
export interface StagedRows {
  sessions: SessionRow[];
  devices: DeviceRow[];
}

/** Whether changes hold anything besides sessions and device records (which go through PendingRows). */
export function hasOtherChanges(c: StoreChanges): boolean {
  return (
    c.identity !== undefined ||
    c.putSignedPreKeys !== undefined ||
    c.deleteSignedPreKeys !== undefined ||
    c.putPreKeys !== undefined ||
    c.deletePreKeys !== undefined ||
    c.putDeviceLists !== undefined
  );
}

/**
 * Checks the sessions and device records of `c` and copies them into rows (a caller may change its objects after
 * staging them), in commit order: puts before deletes.
 * @throws TypeError/RangeError for a malformed value, with nothing kept.
 */
export function stagedRows(c: StoreChanges): StagedRows {
  const sessions: SessionRow[] = [];
  const devices: DeviceRow[] = [];
  for (const d of c.putDevices ?? []) devices.push(deviceRowIn(d));
  for (const s of c.putSessions ?? []) {
    sessionRecordIn(s);
    const { version, jid, deviceId } = s.address;
    sessions.push({ address: { version, jid, deviceId }, record: s.record.slice() });
  }
  for (const a of c.deleteSessions ?? []) {
    assertAddress(a, 'deleteSessions address');
    sessions.push({ address: { version: a.version, jid: a.jid, deviceId: a.deviceId }, record: null });
  }
  return { sessions, devices };
}

/** Whether a statement's run changed a row (better-sqlite3's run returns `{ changes }`; unknown: no). */
function changed(result: unknown): boolean {
  const changes = (result as { changes?: unknown } | undefined)?.changes;
  return typeof changes === 'number' && changes > 0;
}

/** The session and device rows of the open group transaction, the last staged value of each row (see the module). */
export class PendingRows {
  readonly #sessions = new Map<string, SessionRow>();
  /** By JID, then device id. */
  readonly #devices = new Map<string, Map<number, DeviceRow>>();

  get empty(): boolean {
    return this.#sessions.size === 0 && this.#devices.size === 0;
  }

  apply(rows: StagedRows): void {
    for (const s of rows.sessions) {
      this.#sessions.set(sessionKey(s.address), s);
    }
    for (const d of rows.devices) {
      let of = this.#devices.get(d.jid);
      if (of === undefined) this.#devices.set(d.jid, (of = new Map()));
      of.set(d.device_id, d);
    }
  }

  /** A pending session: its record (a copy), null when deleted, undefined when not pending. */
  session(a: SessionAddress): Uint8Array | null | undefined {
    const row = this.#sessions.get(sessionKey(a));
    if (row === undefined) return undefined;
    return row.record === null ? null : row.record.slice();
  }

  /** The device records of `jid`: the stored ones (`stored`, ordered by device id) with the pending ones over them. */
  devicesOf(jid: string, stored: unknown[]): StoredDevice[] {
    const pending = this.#devices.get(jid);
    if (pending === undefined) return stored.map(deviceOut);
    const out: StoredDevice[] = [];
    for (const row of stored) {
      const d = deviceOut(row);
      if (!pending.has(d.deviceId)) out.push(d);
    }
    // Copies: deviceOut keeps a BLOB's buffer when it owns it whole, as the pending row's key does.
    for (const row of pending.values())
      out.push(deviceOut({ ...row, identity_key: row.identity_key?.slice() ?? null }));
    return out.sort((a, b) => a.deviceId - b.deviceId);
  }

  /** Writes every pending row (inside the group transaction, before its COMMIT) and forgets them. */
  write(st: Statements): void {
    try {
      // An UPDATE of the row in place, an insert only where there is none (see Statements.updateDevice).
      for (const of of this.#devices.values())
        for (const d of of.values()) {
          const updated = st.updateDevice.run(
            d.active_in,
            d.label,
            d.identity_key,
            d.trust,
            d.sent_since_last_received,
            d.last_received_at,
            d.previous_identities,
            d.unanswered_since,
            d.jid,
            d.device_id,
          );
          if (!changed(updated)) putDeviceRow(st, d);
        }
      for (const { address: a, record } of this.#sessions.values()) {
        if (record === null) st.deleteSession.run(a.version, a.jid, a.deviceId);
        else if (!changed(st.updateSession.run(record, a.version, a.jid, a.deviceId)))
          st.putSession.run(a.version, a.jid, a.deviceId, record);
      }
    } finally {
      this.clear();
    }
  }

  /** Forgets every pending row (the group is lost, or written). */
  clear(): void {
    this.#sessions.clear();
    this.#devices.clear();
  }
}
