// src/crypto/field25519.ts and wasm/src/field25519.c: the Ed25519 <-> Curve25519 maps of RFC 7748 §4.1 on the
// WebAssembly module and on BigInt, held byte for byte to libsodium, to each other and to BigInt field products.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toHex } from '../../src/crypto/bytes';
import {
  ed25519PointToCurve25519,
  ed25519PublicToCurve25519,
  ed25519VerifiedPublicToCurve25519,
} from '../../src/crypto/ed25519';
import { field25519Backends } from '../../src/crypto/field25519';
import { cryptoReady } from '../../src/crypto/ready';
import { sodium } from '../../src/crypto/sodium';
import { x25519SharedSecret } from '../../src/crypto/x25519';
import { eqBytes, h, pseudo, throwsCode } from './helpers';

const P = (1n << 255n) - 19n;

function toBig(b: Uint8Array, mask = true): bigint {
  let n = 0n;
  for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(i === 31 && mask ? b[i]! & 0x7f : b[i]!);
  return n;
}

function fromBig(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Inputs where limbs sit at their extremes: 0, 1, p - 1, p, p + 1, 2^255 - 1, top bit set, alternating bits. */
const EDGES: Uint8Array[] = [
  0n,
  1n,
  2n,
  P - 2n,
  P - 1n,
  P,
  P + 1n,
  P + 18n,
  (1n << 255n) - 1n,
  (1n << 26n) - 1n,
  1n << 26n,
  (1n << 51n) - 1n,
  1n << 230n,
].map(fromBig);
EDGES.push(new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0x55), new Uint8Array(32).fill(0xaa));

test.before(async () => {
  await cryptoReady();
});

test('both back ends are here on Node (the WebAssembly module compiles)', () => {
  assert.equal(
    field25519Backends().map((b) => b.name),
    ['bigint', 'wasm'],
  );
});

test('Edwards -> Montgomery: equal to libsodium crypto_sign_ed25519_pk_to_curve25519 on 1500 random keys', () => {
  const s = sodium();
  for (const backend of field25519Backends()) {
    const n = backend.name === 'wasm' ? 1500 : 150;
    for (let i = 0; i < n; i++) {
      const pk = s.crypto_sign_keypair().publicKey;
      const want = s.crypto_sign_ed25519_pk_to_curve25519(pk);
      eqBytes(backend.edToMont(pk)!, want, `${backend.name} key ${toHex(pk)}`);
      eqBytes(ed25519VerifiedPublicToCurve25519(pk), want, `verified map of ${toHex(pk)}`);
    }
  }
});

test('both maps: canonical results equal to BigInt arithmetic on random and edge inputs, both back ends', () => {
  const inputs = [...EDGES];
  for (let i = 0; i < 500; i++) inputs.push(pseudo(32, i + 1));
  for (const input of inputs) {
    const x = toBig(input) % P;
    const edDen = (1n - x + P) % P;
    const wantEd = edDen === 0n ? undefined : (((1n + x) % P) * modInverse(edDen)) % P;
    const montDen = (x + 1n) % P;
    const wantMont = montDen === 0n ? undefined : (((x - 1n + P) % P) * modInverse(montDen)) % P;
    for (const b of field25519Backends()) {
      const checked = b.edToMontChecked(input);
      const unchecked = b.edToMont(input);
      const wantChecked = onCurve(input) && unchecked !== undefined ? toHex(unchecked) : undefined;
      assert.is(checked && toHex(checked), wantChecked, `${b.name} checked ${toHex(input)}`);
      const ed = b.edToMont(input);
      const mont = b.montToEd(input);
      assert.is(
        ed && toHex(ed),
        wantEd === undefined ? undefined : toHex(fromBig(wantEd)),
        `${b.name} ed ${toHex(input)}`,
      );
      assert.is(
        mont && toHex(mont),
        wantMont === undefined ? undefined : toHex(fromBig(wantMont)),
        `${b.name} mont ${toHex(input)}`,
      );
    }
  }
});

test('the poles: y = 1 (also as p + 1 and with the sign bit) and u = -1 give undefined', () => {
  for (const b of field25519Backends()) {
    for (const y of [fromBig(1n), fromBig(P + 1n), fromBig(1n | (1n << 255n))])
      assert.is(b.edToMont(y), undefined, `${b.name} y = ${toHex(y)}`);
    for (const u of [fromBig(P - 1n), fromBig((P - 1n) | (1n << 255n)), fromBig((1n << 255n) - 20n)])
      assert.is(b.montToEd(u), undefined, `${b.name} u = ${toHex(u)}`);
  }
  throwsCode(() => ed25519VerifiedPublicToCurve25519(fromBig(1n)), 'invalid-key', 'y = 1');
});

test('the two maps are inverse on random keys (Montgomery -> Edwards -> Montgomery)', () => {
  const s = sodium();
  for (let i = 0; i < 300; i++) {
    const u = s.crypto_scalarmult_base(s.randombytes_buf(32));
    for (const b of field25519Backends()) eqBytes(b.edToMont(b.montToEd(u)!)!, u, b.name);
  }
});

test('test module: f25519_mul and f25519_sq equal BigInt products, edge limbs included (the field core of both maps)', () => {
  const bytes = readFileSync(new URL('./generated/field25519-test.wasm', import.meta.url));
  const x = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as {
    memory: WebAssembly.Memory;
    f25519_buffer(): number;
    f25519_mul(): void;
    f25519_sq(): void;
  };
  const io = new Uint8Array(x.memory.buffer, x.f25519_buffer(), 64);
  const inputs = [...EDGES];
  for (let i = 0; i < 300; i++) inputs.push(pseudo(32, 1000 + i));
  for (const a of inputs) {
    for (const b of EDGES.concat([pseudo(32, toHex(a).length + a[0]!)])) {
      io.set(a, 0);
      io.set(b, 32);
      x.f25519_mul();
      const want = ((toBig(a) % P) * (toBig(b) % P)) % P;
      assert.is(toHex(io.slice(0, 32)), toHex(fromBig(want)), `${toHex(a)} * ${toHex(b)}`);
    }
    io.set(a, 0);
    x.f25519_sq();
    assert.is(toHex(io.slice(0, 32)), toHex(fromBig((toBig(a) % P) ** 2n % P)), `${toHex(a)}^2`);
  }
});

test('a mixed-order key (A + T, T of order 8): the unchecked map gives another u, but the same X25519 secret', () => {
  // This is what ed25519VerifiedPublicToCurve25519's comment relies on; libsodium's checked map refuses it.
  const s = sodium();
  // A point of order 8 (libsodium's small-order list): y = 0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05.
  const t8 = h('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  for (let i = 0; i < 20; i++) {
    const a = s.crypto_sign_keypair().publicKey;
    const mixed = s.crypto_core_ed25519_add(a, t8);
    throwsCode(() => ed25519PublicToCurve25519(mixed), 'invalid-key', 'checked map of A + T');
    const u = ed25519VerifiedPublicToCurve25519(a);
    const uMixed = ed25519VerifiedPublicToCurve25519(mixed);
    assert.is.not(toHex(uMixed), toHex(u));
    const k = s.randombytes_buf(32);
    eqBytes(x25519SharedSecret(k, uMixed), x25519SharedSecret(k, u));
  }
});

const D = ((P - 121665n) * modInverse(121666n)) % P;

/** The test's own on-curve oracle: x^2 = (y^2 - 1) / (d y^2 + 1) has a solution (Euler's criterion). */
function onCurve(yBytes: Uint8Array): boolean {
  const y = toBig(yBytes) % P;
  const y2 = (y * y) % P;
  const q = (((y2 - 1n + P) % P) * modInverse((D * y2 + 1n) % P)) % P;
  return q === 0n || modPow(q, (P - 1n) / 2n) === 1n;
}

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b %= P; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

/** libsodium's map, or undefined where it refuses. */
function sodiumMap(y: Uint8Array): Uint8Array | undefined {
  try {
    return sodium().crypto_sign_ed25519_pk_to_curve25519(y);
  } catch {
    return undefined;
  }
}

function pointMap(y: Uint8Array): Uint8Array | undefined {
  try {
    return ed25519PointToCurve25519(y);
  } catch (e) {
    assert.is((e as { code?: string }).code, 'invalid-key');
    return undefined;
  }
}

test("ed25519PointToCurve25519: libsodium's acceptance without the subgroup check, on 3000 random encodings", () => {
  // Random y: about half are points, and 7 in 8 of those are mixed-order (libsodium refuses them, the map takes
  // them). Every key libsodium takes is taken with the same u; every key taken is a point by the test's oracle.
  let taken = 0;
  let mixed = 0;
  for (let i = 0; i < 3000; i++) {
    const y = pseudo(32, 5000 + i);
    const want = sodiumMap(y);
    const got = pointMap(y);
    if (want !== undefined) eqBytes(got!, want, toHex(y));
    assert.is(got !== undefined, onCurve(y), `taken iff a point: ${toHex(y)}`);
    if (got !== undefined) eqBytes(got, ed25519VerifiedPublicToCurve25519(y), toHex(y));
    if (got !== undefined) taken++;
    if (got !== undefined && want === undefined) mixed++;
  }
  assert.ok(taken > 1200 && mixed > 1000, `${taken} taken, ${mixed} of them mixed-order`);
  const s = sodium();
  for (let i = 0; i < 300; i++) {
    const pk = s.crypto_sign_keypair().publicKey;
    eqBytes(ed25519PointToCurve25519(pk), s.crypto_sign_ed25519_pk_to_curve25519(pk));
  }
});

test('ed25519PointToCurve25519: small-order points (either sign bit, non-canonical forms) and y = 2..18 + p', () => {
  const order8 = '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05';
  const smallOrder = [0n, 1n, P - 1n, P, P + 1n].map(fromBig);
  smallOrder.push(h(order8), fromBig((P - toBig(h(order8))) % P));
  for (const y of smallOrder) {
    for (const sign of [0, 0x80]) {
      const e = y.slice();
      e[31]! |= sign;
      assert.ok(onCurve(e), `the oracle sees a point: ${toHex(e)}`);
      throwsCode(() => ed25519PointToCurve25519(e), 'invalid-key', toHex(e));
      assert.is(sodiumMap(e), undefined, `libsodium refuses ${toHex(e)} too`);
    }
  }
  for (let k = 2n; k <= 18n; k++) {
    const e = fromBig(P + k);
    assert.is(pointMap(e) !== undefined, onCurve(fromBig(k)), `y = p + ${k} read as ${k}`);
    const want = sodiumMap(e);
    if (want !== undefined) eqBytes(pointMap(e)!, want);
  }
});

function modInverse(z: bigint): bigint {
  let r = 1n;
  let b = z % P;
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

test.run();
