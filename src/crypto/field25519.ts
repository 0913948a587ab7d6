// GF(2^255 - 19) for the birational maps of RFC 7748 §4.1 between Ed25519 y and Curve25519 u and for the group
// equation of Ed25519 verification (RFC 8032 §5.1.7), on our small WebAssembly module (wasm/src/field25519.c,
// wasm/README.md "field25519"); the maps fall back to BigInt, the equation to libsodium, where WebAssembly is
// missing or refuses to compile. Public keys and signatures only: no secret ever passes through here.
import { fromBase64 } from './bytes';
import { FIELD25519_WASM_BASE64 } from './generated/field25519-wasm';

interface FieldExports {
  memory: WebAssembly.Memory;
  f25519_buffer(): number;
  f25519_ed_to_mont(): number;
  f25519_mont_to_ed(): number;
  f25519_ed_to_mont_checked(): number;
  f25519_verify_buffer(): number;
  f25519_verify(withU: number): number;
}

/** The instantiated module and views of its two I/O buffers. */
interface FieldModule {
  x: FieldExports;
  io: Uint8Array;
  verifyIo: Uint8Array;
}

let module: FieldModule | undefined;
let unavailable = false;
let asyncLoad: Promise<void> | undefined;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const bytes = fromBase64(FIELD25519_WASM_BASE64);
  if (bytes === undefined) throw new Error('the embedded field25519 module is not valid base64');
  return bytes as Uint8Array<ArrayBuffer>;
}

function setUp(instance: WebAssembly.Instance): FieldModule {
  const x = instance.exports as unknown as FieldExports;
  // The memory has a fixed size (initial = maximum), so these views never detach.
  return {
    x,
    io: new Uint8Array(x.memory.buffer, x.f25519_buffer(), 64),
    verifyIo: new Uint8Array(x.memory.buffer, x.f25519_verify_buffer(), 160),
  };
}

/** The module, compiled synchronously on first use if `loadField25519()` has not provided it. */
function load(): FieldModule | undefined {
  if (module !== undefined || unavailable) return module;
  try {
    if (typeof WebAssembly !== 'object') throw new Error('no WebAssembly');
    module = setUp(new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {}));
  } catch {
    // Without WebAssembly, or where the engine refuses synchronous compilation (a browser's main thread before
    // cryptoReady() compiled it), BigInt does the work.
    unavailable = true;
  }
  return module;
}

/**
 * Compiles and instantiates the module asynchronously, as browsers require on the main thread (`cryptoReady()`
 * calls it). Memoised; never rejects: without WebAssembly the BigInt path stays in use.
 */
export function loadField25519(): Promise<void> {
  asyncLoad ??= (async () => {
    if (module !== undefined || typeof WebAssembly !== 'object') return;
    try {
      const { instance } = await WebAssembly.instantiate(moduleBytes(), {});
      module ??= setUp(instance);
      unavailable = false;
    } catch {
      // BigInt stays in use.
    }
  })();
  return asyncLoad;
}

const P = (1n << 255n) - 19n;

function toBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  return n % P;
}

function fromBig(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function invert(z: bigint): bigint {
  return power(z, P - 2n);
}

/** One implementation of the two maps; both are tested against libsodium and against each other. */
export interface Field25519Backend {
  readonly name: 'wasm' | 'bigint';
  /** u = (1 + y) / (1 - y); undefined for y = 1. */
  edToMont(y: Uint8Array): Uint8Array | undefined;
  /** y = (u - 1) / (u + 1); undefined for u = -1. */
  montToEd(u: Uint8Array): Uint8Array | undefined;
  /** edToMont, but undefined also when y (read mod p) is not the y of a point of edwards25519. */
  edToMontChecked(y: Uint8Array): Uint8Array | undefined;
}

/** d = -121665 / 121666 (RFC 8032 §5.1). */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;

function power(z: bigint, e: bigint): bigint {
  let result = 1n;
  let b = z;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

function bigEdToMont(yBytes: Uint8Array): Uint8Array | undefined {
  const y = toBig(yBytes);
  const den = (1n - y + P) % P;
  return den === 0n ? undefined : fromBig((((1n + y) % P) * invert(den)) % P);
}

const bigintBackend: Field25519Backend = {
  name: 'bigint',
  edToMont: bigEdToMont,
  edToMontChecked: (yBytes) => {
    // x^2 = (y^2 - 1) / (d y^2 + 1) must be a square (Euler's criterion on the product; 0 is a square).
    const y = toBig(yBytes);
    const y2 = (y * y) % P;
    const euler = power((((y2 - 1n + P) % P) * ((D * y2 + 1n) % P)) % P, (P - 1n) / 2n);
    return euler === P - 1n ? undefined : bigEdToMont(yBytes);
  },
  montToEd: (uBytes) => {
    const u = toBig(uBytes);
    const den = (u + 1n) % P;
    return den === 0n ? undefined : fromBig((((u - 1n + P) % P) * invert(den)) % P);
  },
};

function wasmCall(input: Uint8Array, run: (x: FieldExports) => number): Uint8Array | undefined {
  const m = load()!;
  m.io.set(input);
  return run(m.x) === 0 ? m.io.slice(32, 64) : undefined;
}

const wasmBackend: Field25519Backend = {
  name: 'wasm',
  edToMont: (y) => wasmCall(y, (x) => x.f25519_ed_to_mont()),
  montToEd: (u) => wasmCall(u, (x) => x.f25519_mont_to_ed()),
  edToMontChecked: (y) => wasmCall(y, (x) => x.f25519_ed_to_mont_checked()),
};

function backend(): Field25519Backend {
  return load() !== undefined ? wasmBackend : bigintBackend;
}

/** Every implementation available here (BigInt always, the module where WebAssembly compiles it). */
export function field25519Backends(): Field25519Backend[] {
  return load() !== undefined ? [bigintBackend, wasmBackend] : [bigintBackend];
}

/**
 * u = (1 + y) / (1 - y) of the Edwards y in `y` (32 bytes little-endian; bit 255, the x sign, ignored): the
 * canonical Montgomery u. No point check of any kind: the caller has validated the point. Undefined for y = 1.
 */
export function edwardsYToMontgomeryU(y: Uint8Array): Uint8Array | undefined {
  return backend().edToMont(y);
}

/**
 * edwardsYToMontgomeryU, but undefined also when `y` (read mod p, bit 255 ignored) is not the y of a point of
 * edwards25519 (RFC 8032 §5.1.3: no x with x^2 = (y^2 - 1) / (d y^2 + 1)). No small-order or subgroup check.
 */
export function edwardsYToMontgomeryUChecked(y: Uint8Array): Uint8Array | undefined {
  return backend().edToMontChecked(y);
}

/** y = (u - 1) / (u + 1) of the Montgomery u in `u` (bit 255 ignored), canonical. Undefined for u = -1. */
export function montgomeryUToEdwardsY(u: Uint8Array): Uint8Array | undefined {
  return backend().montToEd(u);
}

/**
 * The group equation of an Ed25519 verification (RFC 8032 §5.1.7) as libsodium's crypto_sign_verify_detached
 * computes it: whether [S]B + [h](-A) encodes to R, with -A decoded as ge25519_frombytes_negate_vartime decodes
 * it. Only the equation: the caller makes libsodium's checks on S, R and A first and computes h. ~15% faster than
 * libsodium's WebAssembly (a wider window for B, computed once). With `uOut` (32 bytes), a true answer also writes
 * A's Curve25519 u = (1 + y) / (1 - y) there, sharing the equation's field inversion (~6 µs saved); A = identity
 * (y = 1) then answers false. `undefined` where the module is not available (the caller then asks libsodium).
 */
export function ed25519VerifyEquation(
  a: Uint8Array,
  r: Uint8Array,
  s: Uint8Array,
  h: Uint8Array,
  uOut?: Uint8Array,
): boolean | undefined {
  const m = load();
  if (m === undefined) return undefined;
  const io = m.verifyIo;
  io.set(a, 0);
  io.set(r, 32);
  io.set(s, 64);
  io.set(h, 96);
  if (m.x.f25519_verify(uOut === undefined ? 0 : 1) !== 0) return false;
  uOut?.set(io.subarray(128, 160));
  return true;
}
