// WHATWG Streams §4 (ReadableStream readers) and ECMAScript async iteration: the byte inputs the file cipher
// (aes-gcm-stream.ts, XEP-0454 files) accepts, read as one sequence of plain Uint8Array chunks.

/**
 * A file's bytes: all at once, a WHATWG `ReadableStream` (browsers, `fetch` bodies), or any async iterable of
 * byte chunks (a Node `Readable`, which yields Buffers, an async generator).
 */
export type ByteSource = Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Whole byte arrays are handed on in slices of this size, so that a large array streams like any other input. */
export const BYTE_SOURCE_SLICE_BYTES = 1 << 20;

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return typeof (x as ReadableStream | null)?.getReader === 'function';
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * Checks that `source` is a ByteSource (synchronously, so that a wrong argument fails at the call).
 * @throws TypeError for anything else (a string, a sync iterable, null).
 */
export function assertByteSource(source: unknown, name: string): asserts source is ByteSource {
  if (source instanceof Uint8Array || isReadableStream(source) || isAsyncIterable(source)) return;
  throw new TypeError(`${name} must be a Uint8Array, a ReadableStream or an AsyncIterable of Uint8Array`);
}

/** A plain Uint8Array view of a chunk (a Node Buffer becomes a view of the same memory, no copy). */
function plain(chunk: unknown, name: string): Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    const got = typeof chunk === 'string' ? 'a string (set no encoding on the stream)' : typeof chunk;
    throw new TypeError(`${name} yielded ${got}, not a Uint8Array`);
  }
  return Object.getPrototypeOf(chunk) === Uint8Array.prototype
    ? chunk
    : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

async function* fromReadableStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  // A reader rather than `for await`: Safari's ReadableStream is not async iterable.
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // Stopped early (an error downstream): cancel the source so that its producer stops too.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The chunks of `source` as plain Uint8Arrays, in order; empty chunks are skipped. Consumes the source once.
 * @throws TypeError (when iterated) for a chunk that is not a Uint8Array; whatever the source throws.
 */
export async function* readChunks(source: ByteSource, name = 'source'): AsyncGenerator<Uint8Array> {
  assertByteSource(source, name);
  if (source instanceof Uint8Array) {
    for (let at = 0; at < source.length; at += BYTE_SOURCE_SLICE_BYTES) {
      yield source.subarray(at, Math.min(source.length, at + BYTE_SOURCE_SLICE_BYTES));
    }
    return;
  }
  const chunks = isReadableStream(source) ? fromReadableStream(source) : source;
  for await (const chunk of chunks) {
    const bytes = plain(chunk, name);
    if (bytes.length > 0) yield bytes;
  }
}
