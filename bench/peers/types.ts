// The common interface of the bench:peers adapters: one adapter per implementation (our public API, our raw
// protocol layer, libsignal, @privacyresearch/libsignal-protocol-typescript, @signalapp/libsignal-client),
// each with in-memory stores, driven identically by bench/peers/child.ts.

/** The cases of `npm run bench:peers`, in output order. */
export const CASES = [
  'session-build',
  'fanout-first-1000',
  'fanout-steady-100',
  'fanout-steady-1000',
  'decrypt-steady',
  'decrypt-ratchet',
  'receive-burst-sqlite',
  'first-message-burst',
  'fanout-burst-sqlite',
  'cold-start',
] as const;
export type CaseName = (typeof CASES)[number];

/** Devices of the fan-out world (fanout-first-1000 and fanout-steady-1000 encrypt to all of them). */
export const FANOUT_DEVICES = 1000;
/** fanout-steady-100 encrypts to the first this many devices of the same world. */
export const FANOUT_SMALL = 100;
/** receive-burst-sqlite: this many contacts each send RECEIVE_BURST_MESSAGES messages, all decrypted at once. */
export const RECEIVE_BURST_SENDERS = 100;
export const RECEIVE_BURST_MESSAGES = 20;
/** first-message-burst: this many new contacts' first messages (key exchanges), decrypted at once. */
export const FIRST_MESSAGE_BURST = 100;
/** fanout-burst-sqlite: this many sends at once, each to one established one-device contact. */
export const FANOUT_BURST_SENDS = 100;
/** The burst cases (types.ts BurstBench). */
export const BURST_CASES = ['receive-burst-sqlite', 'first-message-burst', 'fanout-burst-sqlite'] as const;
export type BurstCase = (typeof BURST_CASES)[number];
/** The payload every case encrypts. */
export const PAYLOAD_BYTES = 32;

/** The implementations the issue asks for (their `impl` values must all appear in the JSON). */
export const REQUIRED_IMPLS = ['omemo-wasm', 'libsignal', 'privacyresearch', 'libsignal-client'] as const;
/** Every implementation row, in output order: the required four plus our extra rows. */
export const ALL_IMPLS = [
  'omemo-wasm',
  'omemo-wasm-0.3',
  'omemo-wasm-raw',
  'libsignal',
  'privacyresearch',
  'libsignal-client',
] as const;
export type ImplName = (typeof ALL_IMPLS)[number];

/** What one fan-out returned: enough to check each device's part afterwards (outside the timing). */
export interface FanoutOutput {
  /** Devices encrypted to. */
  count: number;
  /** Whether device i's part is a key-exchange (PreKey) message. */
  isKeyExchange(i: number): boolean;
}

/**
 * A sender with in-memory stores and `devices` recipient devices (each with its own stores and a published
 * pre key bundle), all in this process.
 */
export interface FanoutWorld {
  readonly devices: number;
  /** Builds a session with every device from its bundle (no message sent yet). */
  buildAll(): Promise<void>;
  /** Untimed hook before each fan-out sample (e.g. lets devices answer before they would go stale). */
  beforeFanout?(count: number): Promise<void>;
  /** Encrypts one payload to the first `count` devices: the timed work. */
  fanout(payload: Uint8Array, count: number): Promise<FanoutOutput>;
  /**
   * Makes every session answered: the sender encrypts to each device, the device decrypts (creating its
   * session) and replies, the sender decrypts the reply. Afterwards fan-outs produce plain ratchet messages.
   */
  answerAll(payload: Uint8Array): Promise<void>;
  /** For tests: device i decrypts its part of `out` (which must be the newest message to it). */
  open(out: FanoutOutput, i: number): Promise<Uint8Array>;
  /** Frees what the world holds (sessions, stores). */
  dispose?(): void;
}

/** Building sessions from pre key bundles, each sample to a fresh address. */
export interface SessionBuilderBench {
  /** Untimed: picks the next fresh address and its bundle. */
  prepare(): void;
  /** Timed: builds a session from the prepared bundle, including the signed pre key signature check. */
  build(): Promise<void>;
  /** For tests: whether the sender holds a usable session with the address of the last build. */
  lastBuildUsable(): Promise<boolean>;
  /** Frees what the builder holds. */
  dispose?(): void;
}

/** One established session between a sender and a recipient, for the decrypt cases. */
export interface DecryptPair {
  /** Untimed: the sender encrypts the payload on its current sending chain (the recipient saw that chain). */
  prepareSteady(payload: Uint8Array): Promise<void>;
  /** Untimed: the recipient answers, the sender decrypts that and encrypts the payload with a new ratchet key. */
  prepareRatchet(payload: Uint8Array): Promise<void>;
  /** Timed: the recipient decrypts the prepared message. Returns the plaintext. */
  decrypt(): Promise<Uint8Array>;
  /** Bytes of the sender's stored session record for the recipient (as its store would hold it). */
  recordBytes(): Promise<number>;
  /** How `recordBytes` counts (e.g. "JSON of record.serialize()"). */
  readonly recordFormat: string;
}

/** Many messages arriving at once for one account (the burst cases): `run` decrypts them all concurrently. */
export interface BurstBench {
  /** Untimed: the senders encrypt the next burst (fresh messages; new contacts for first-message-burst). */
  prepare(): Promise<void>;
  /** Timed: the recipient decrypts the whole burst concurrently; returns how many messages decrypted correctly. */
  run(): Promise<number>;
  /** Messages per burst (the figure is µs per message). */
  readonly messages: number;
  /** What one of `messages` is, for the row's note (default 'messages'). */
  readonly unit?: string;
  /** What the figure includes, for the row's note (e.g. transactions per burst). */
  note?(): string;
  dispose?(): void;
}

/** Options of `createBuilder`. */
export interface BuilderOptions {
  /** Distinct bundles to cycle through. */
  pool?: number;
  /** Check the signed pre key signature (default true; only libsignal can skip it, see its adapter). */
  verify?: boolean;
}

/** One implementation under test (cold start is described in cold-start.ts: it must not load the library here). */
export interface PeerAdapter {
  readonly impl: ImplName;
  /** One line: which library and API. */
  readonly title: string;
  /** How each case is done with this implementation (stores, fan-out mode, what is included). */
  readonly notes: string[];
  /** A fan-out world; `options.templates` (privacyresearch) limits the distinct recipients, see its adapter. */
  createWorld(devices: number, options?: { templates?: number }): Promise<FanoutWorld>;
  createBuilder(options?: BuilderOptions): Promise<SessionBuilderBench>;
  createPair(): Promise<DecryptPair>;
  /** session-build measured again with these options, reported as a note on the session-build row. */
  readonly buildVariants?: { label: string; options: BuilderOptions }[];
  /**
   * receive-burst-sqlite: RECEIVE_BURST_SENDERS established contacts × RECEIVE_BURST_MESSAGES messages decrypted
   * concurrently on a persistent (SQLite) store; absent when the library has none.
   */
  createReceiveBurst?(): Promise<BurstBench>;
  /** first-message-burst: FIRST_MESSAGE_BURST new contacts' key-exchange messages decrypted concurrently. */
  createFirstMessageBurst?(): Promise<BurstBench>;
  /** fanout-burst-sqlite: FANOUT_BURST_SENDS sends at once, each to one one-device contact, on a SQLite store. */
  createFanoutBurst?(): Promise<BurstBench>;
  /** Why an absent burst case has no equivalent here (shown as the skip reason). */
  readonly burstSkips?: Partial<Record<BurstCase, string>>;
  /** Sessions to build for the heap measurement (10 000, fewer for slow libraries: then extrapolated). */
  readonly memorySessions: number;
}

/** One row of the output (JSON `cases` entries). */
export interface CaseRow {
  case: CaseName;
  impl: ImplName;
  /** Median µs per device (fan-out) or per operation; null when the case could not run. */
  usPerDevice: number | null;
  samples: number;
  /** Why the case did not run. */
  skipped?: string;
  /** Anything the reader must know about this number. */
  note?: string;
}

/** Memory per implementation (JSON `memory` entries). */
export interface MemoryRow {
  impl: ImplName;
  /** Bytes of one stored established session record; null when not measurable. */
  bytesPerSession: number | null;
  recordFormat: string;
  /** Sessions actually built for the heap measurement. */
  sessionsBuilt: number;
  /** JS heap growth for 10 000 sessions (after gc), extrapolated linearly when fewer were built. */
  heapBytesPer10k: number | null;
  /** Resident set growth for 10 000 sessions (includes native memory, e.g. libsignal-client's Rust records). */
  rssBytesPer10k: number | null;
  skipped?: string;
  note?: string;
}

/** Messages a child process sends to bench/peers/run.ts over IPC. */
export type ChildMessage =
  | { type: 'case'; row: CaseRow }
  | { type: 'memory'; row: MemoryRow }
  | { type: 'info'; impl: ImplName; title: string; notes: string[] }
  /** Sent from a timer: when these stop, the child's main thread is blocked (see run.ts's watchdog). */
  | { type: 'alive' };

/** A child sends `alive` this often. */
export const HEARTBEAT_MS = 1000;
/** run.ts kills a child whose heartbeats stopped this long ago (no case blocks the event loop for seconds). */
export const STALL_MS = 30_000;

/** A fresh copy of the payload (32 bytes, fixed content so runs are comparable). */
export function makePayload(): Uint8Array {
  return new Uint8Array(PAYLOAD_BYTES).map((_, i) => (i * 37 + 11) & 0xff);
}

/** Byte equality for the self-checks. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws when a self-check fails: a bench that measures broken work must not print a number. */
export function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`self-check failed: ${what}`);
}

/**
 * Lets timers run (the child's heartbeat among them). A loop of `await`s on promises that settle synchronously
 * never gives the event loop a turn, so long set-up loops (1000 devices answering) call this now and then.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
