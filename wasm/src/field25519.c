// GF(2^255 - 19) arithmetic (RFC 7748 §4.1, §5) for the birational maps between Ed25519 and Curve25519 public
// keys: u = (1 + y) / (1 - y) and y = (u - 1) / (u + 1). Written from the RFC; one field inversion each, which
// costs ~90 µs in libsodium's WASM (crypto_sign_ed25519_pk_to_curve25519 adds a subgroup check: a full
// scalar multiplication) and ~115 µs with JS BigInt, and ~6 µs here. Also the group equation of an Ed25519
// verification (RFC 8032 §5.1.7), ~15% faster than libsodium's WASM: the signed pre key check of every session
// we build.
//
// Elements are ten signed limbs in radix 2^25.5 (limb i holds 26 bits when i is even, 25 when odd), so that a
// product of two limbs fits an int64 with room for the sums; 2^255 = 19 (mod p) folds the high half down.
// Only public keys go through this module, so nothing here needs to be constant time (it is anyway: no
// branch and no memory index depends on the values).
//
// Exports (wasm/README.md "field25519"):
//   f25519_buffer()       address of the 64-byte I/O buffer: input at +0, output at +32
//   f25519_ed_to_mont()   u of the Edwards y at +0 (bit 255 ignored); 0, or -1 when 1 - y = 0
//   f25519_mont_to_ed()   y of the Montgomery u at +0 (bit 255 ignored); 0, or -1 when u + 1 = 0
//   f25519_ed_to_mont_checked()  as f25519_ed_to_mont, but -2 when y is not the y of a point of edwards25519
//   f25519_verify_buffer() address of the 160-byte verification buffer: A, R, S, h (32 bytes each) in, u out
//   f25519_verify(with_u) 0 when [S]B - [h]A encodes to R (A decoded as libsodium decodes it), -1 when it does not
//                         or A is not a point (ed25519.ts makes libsodium's other checks and computes h); with
//                         with_u, also the Curve25519 u = (1 + y) / (1 - y) of A at +128 (one inversion for both)
//   f25519_mul()          (test build only) the canonical product of the elements at +0 and +32, written at +0
//   f25519_sq()           (test build only) the canonical square of the element at +0, written at +0

#include <stdint.h>

typedef int64_t fe[10];

static uint8_t io[64];

#define EXPORT(name) __attribute__((export_name(#name), visibility("default")))
// Full unrolling lets clang keep the limbs and columns in locals (about twice as fast as the loops).
#define UNROLL _Pragma("clang loop unroll(full)")

static inline int limb_bits(int i) { return (i & 1) ? 25 : 26; }

// Bit offsets of the limbs: 0, 26, 51, 77, 102, 128, 153, 179, 204, 230.
static const int OFFSET[10] = {0, 26, 51, 77, 102, 128, 153, 179, 204, 230};

/** `length` bits of the little-endian 256-bit number `s` starting at bit `offset` (length <= 26). */
static int64_t get_bits(const uint8_t *s, int offset, int length) {
  uint64_t w = 0;
  int first = offset >> 3;
  for (int k = 0; k < 5 && first + k < 32; k++) w |= (uint64_t)s[first + k] << (8 * k);
  return (int64_t)((w >> (offset & 7)) & ((1ULL << length) - 1));
}

/** The element of the 255 low bits of `s` (bit 255 is ignored, as RFC 7748 §5 says for u). */
static void fe_frombytes(fe h, const uint8_t *s) {
  for (int i = 0; i < 10; i++) h[i] = get_bits(s, OFFSET[i], i == 9 ? 25 : limb_bits(i));
}

/**
 * One carry pass: limbs 1..9 end in [0, 2^bits) and limb 0 takes 19 times the carry out of limb 9, then passes its
 * own excess on to limb 1, so that limb 0 is in range and limb 1 exceeds 2^25 by at most 2^15: small enough for
 * fe_mul's bounds.
 */
static void fe_carry(fe h) {
  UNROLL
  for (int i = 0; i < 10; i++) {
    int b = limb_bits(i);
    int64_t c = h[i] >> b;  // arithmetic shift: floor division, also for negative limbs
    h[i] -= c * ((int64_t)1 << b);
    if (i == 9) h[0] += 19 * c;
    else h[i + 1] += c;
  }
  int64_t c = h[0] >> 26;
  h[0] -= c * ((int64_t)1 << 26);
  h[1] += c;
}

static void fe_copy(fe h, const fe f) {
  for (int i = 0; i < 10; i++) h[i] = f[i];
}

static void fe_one(fe h) {
  h[0] = 1;
  for (int i = 1; i < 10; i++) h[i] = 0;
}

static void fe_add(fe h, const fe f, const fe g) {
  UNROLL
  for (int i = 0; i < 10; i++) h[i] = f[i] + g[i];
  fe_carry(h);
}

static void fe_sub(fe h, const fe f, const fe g) {
  UNROLL
  for (int i = 0; i < 10; i++) h[i] = f[i] - g[i];
  fe_carry(h);
}

/**
 * h = f + g and h = f - g without the carry pass, for point formulas whose bounds allow it. fe_mul and fe_sq
 * end in |h_i| <= 300 |f|max |g|max (15 terms of a column, odd-odd ones doubled, plus 19 times a column of the
 * upper half), which must stay below 2^63: |f|max |g|max < 2^54.77. Carried limbs are below 2^26, so a sum or
 * difference of two carried elements (< 2^27) may be multiplied by another such sum (2^54), and an element below
 * 1.5 * 2^27 by a carried one (2^53.6). Every use below names the bound it relies on.
 */
static void fe_add_nc(fe h, const fe f, const fe g) {
  UNROLL
  for (int i = 0; i < 10; i++) h[i] = f[i] + g[i];
}

static void fe_sub_nc(fe h, const fe f, const fe g) {
  UNROLL
  for (int i = 0; i < 10; i++) h[i] = f[i] - g[i];
}

/**
 * h = f * g. Inputs are carried (limbs below 2^26 plus a little), so each product is below 2^53 (2^54 with the
 * factor 2 of two odd limbs), a column of ten below 2^58, and 19 times a high column plus a low one below 2^63.
 */
static void fe_mul(fe h, const fe f, const fe g) {
  int64_t t[19];
  UNROLL
  for (int k = 0; k < 19; k++) t[k] = 0;
  UNROLL
  for (int i = 0; i < 10; i++) {
    UNROLL
    for (int j = 0; j < 10; j++) {
      // Limb i sits at 2^ceil(25.5 i); for two odd limbs the product sits one bit above limb i + j.
      int64_t p = f[i] * g[j];
      t[i + j] += ((i & 1) && (j & 1)) ? 2 * p : p;
    }
  }
  // 2^255 = 19: limb 10 + k has the weight of limb k times 2^255 (the radix pattern repeats every 10 limbs).
  UNROLL
  for (int k = 18; k >= 10; k--) t[k - 10] += 19 * t[k];
  UNROLL
  for (int k = 0; k < 10; k++) h[k] = t[k];
  fe_carry(h);
}

/** h = f^2: fe_mul with each cross product f[i] f[j] (i < j) computed once and doubled (55 products, not 100). */
static void fe_sq(fe h, const fe f) {
  int64_t t[19];
  UNROLL
  for (int k = 0; k < 19; k++) t[k] = 0;
  UNROLL
  for (int i = 0; i < 10; i++) {
    int64_t d = f[i];
    t[2 * i] += (i & 1) ? 2 * d * d : d * d;
    UNROLL
    for (int j = i + 1; j < 10; j++) {
      int64_t p = 2 * d * f[j];
      t[i + j] += ((i & 1) && (j & 1)) ? 2 * p : p;
    }
  }
  UNROLL
  for (int k = 18; k >= 10; k--) t[k - 10] += 19 * t[k];
  UNROLL
  for (int k = 0; k < 10; k++) h[k] = t[k];
  fe_carry(h);
}

static void fe_sq_times(fe h, const fe f, int n) {
  fe_sq(h, f);
  for (int i = 1; i < n; i++) fe_sq(h, h);
}

/** t = z^(2^250 - 1) and z11 = z^11: the common part of the two exponentiations below. */
static void fe_pow_2_250_1(fe t, fe z11, const fe z) {
  fe z2, z9, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0;
  fe_sq(z2, z);                   // 2
  fe_sq_times(t, z2, 2);          // 8
  fe_mul(z9, t, z);               // 9
  fe_mul(z11, z9, z2);            // 11
  fe_sq(t, z11);                  // 22
  fe_mul(z2_5_0, t, z9);          // 2^5 - 1
  fe_sq_times(t, z2_5_0, 5);      // 2^10 - 2^5
  fe_mul(z2_10_0, t, z2_5_0);     // 2^10 - 1
  fe_sq_times(t, z2_10_0, 10);    // 2^20 - 2^10
  fe_mul(z2_20_0, t, z2_10_0);    // 2^20 - 1
  fe_sq_times(t, z2_20_0, 20);    // 2^40 - 2^20
  fe_mul(t, t, z2_20_0);          // 2^40 - 1
  fe_sq_times(t, t, 10);          // 2^50 - 2^10
  fe_mul(z2_50_0, t, z2_10_0);    // 2^50 - 1
  fe_sq_times(t, z2_50_0, 50);    // 2^100 - 2^50
  fe_mul(z2_100_0, t, z2_50_0);   // 2^100 - 1
  fe_sq_times(t, z2_100_0, 100);  // 2^200 - 2^100
  fe_mul(t, t, z2_100_0);         // 2^200 - 1
  fe_sq_times(t, t, 50);          // 2^250 - 2^50
  fe_mul(t, t, z2_50_0);          // 2^250 - 1
}

/** out = z^(p - 2) = 1/z (0 for z = 0): 254 squarings and 11 multiplications. */
static void fe_invert(fe out, const fe z) {
  fe t, z11;
  fe_pow_2_250_1(t, z11, z);
  fe_sq_times(t, t, 5);           // 2^255 - 2^5
  fe_mul(out, t, z11);            // 2^255 - 21 = p - 2
}

/** out = z^((p - 1) / 2), Euler's criterion: 1 for a non-zero square, p - 1 for a non-square, 0 for 0. */
static void fe_legendre(fe out, const fe z) {
  fe t, z11, z2, z6;
  fe_pow_2_250_1(t, z11, z);
  fe_sq_times(t, t, 4);           // 2^254 - 2^4
  fe_sq(z2, z);
  fe_sq(z6, z2);                  // 4
  fe_mul(z6, z6, z2);             // 6
  fe_mul(out, t, z6);             // 2^254 - 10 = (p - 1) / 2
}

/** The canonical 32-byte encoding (value in [0, p)) of h. */
static void fe_tobytes(uint8_t *s, const fe f) {
  fe h;
  fe_copy(h, f);
  fe_carry(h);
  fe_carry(h);  // every limb is non-negative now (limb 1 may still exceed 25 bits by a carry; that is fine below)
  // q = floor((h + 19) / 2^255), by exact carry propagation: h - q p is in [0, p).
  int64_t q = (h[0] + 19) >> 26;
  for (int i = 1; i < 10; i++) q = (h[i] + q) >> limb_bits(i);
  h[0] += 19 * q;
  for (int i = 0; i < 9; i++) {
    int b = limb_bits(i);
    int64_t c = h[i] >> b;
    h[i] -= c * ((int64_t)1 << b);
    h[i + 1] += c;
  }
  h[9] &= ((int64_t)1 << 25) - 1;  // drops 2^255 (the subtraction of p = 2^255 - 19 is complete)
  for (int k = 0; k < 32; k++) s[k] = 0;
  for (int i = 0; i < 10; i++) {
    uint64_t v = (uint64_t)h[i];
    int off = OFFSET[i];
    for (int k = off >> 3; k < 32 && (k << 3) < off + 26; k++) {
      int shift = (k << 3) - off;
      s[k] |= (uint8_t)(shift >= 0 ? v >> shift : v << -shift);
    }
  }
}

static int fe_iszero(const fe f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t acc = 0;
  for (int k = 0; k < 32; k++) acc |= s[k];
  return acc == 0;
}

/** out = (a + sa) / (b + sb) for a = b = the input element, sa/sb in {1, -1}; -1 when the denominator is 0. */
static int ratio(int sa, int sb) {
  fe x, one, num, den;
  fe_frombytes(x, io);
  fe_one(one);
  if (sa > 0) fe_add(num, one, x);
  else fe_sub(num, x, one);
  if (sb > 0) fe_add(den, x, one);
  else fe_sub(den, one, x);
  if (fe_iszero(den)) return -1;
  fe_invert(den, den);
  fe_mul(num, num, den);
  fe_tobytes(io + 32, num);
  return 0;
}

/** d = -121665 / 121666 of edwards25519 (RFC 7748 §4.1; RFC 8032 §5.1), little-endian. */
static const uint8_t D_BYTES[32] = {0xa3, 0x78, 0x59, 0x13, 0xca, 0x4d, 0xeb, 0x75, 0xab, 0xd8, 0x41,
                                    0x41, 0x4d, 0x0a, 0x70, 0x00, 0x98, 0xe8, 0x79, 0x77, 0x79, 0x40,
                                    0xc7, 0x8c, 0x73, 0xfe, 0x6f, 0x2b, 0xee, 0x6c, 0x03, 0x52};

/**
 * Whether some x satisfies -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1.3 decoding): x^2 = (y^2 - 1) / (d y^2 + 1),
 * a square exactly when (y^2 - 1)(d y^2 + 1) is (d y^2 + 1 is never 0: -1/d is not a square).
 */
static int on_curve(const fe y) {
  fe d, y2, u, v, t;
  fe_frombytes(d, D_BYTES);
  fe_sq(y2, y);
  fe_one(t);
  fe_sub(u, y2, t);
  fe_mul(v, d, y2);
  fe_add(v, v, t);
  fe_mul(t, u, v);
  fe_legendre(t, t);
  uint8_t s[32];
  fe_tobytes(s, t);  // 0, 1 or p - 1
  return s[31] == 0;  // p - 1 ends in 0x7f; 0 and 1 in 0x00
}

// ---- Ed25519 signature verification (RFC 8032 §5.1.7, with libsodium's checks) ----
// The group equation of crypto_sign_verify_detached: decode -A (ge25519_frombytes_negate_vartime), compute
// [h](-A) + [S]B with signed sliding windows and compare the encoding with R byte for byte. Twisted Edwards
// extended coordinates (Hisil, Wong, Carter, Dawson 2008, "Twisted Edwards curves revisited", a = -1), in the
// four representations ref10 made common: P2 (X:Y:Z), P3 (X:Y:Z:T, T = XY/Z), P1P1 (the completed form
// ((X:Z), (Y:T)) an addition or a doubling leaves) and CACHED (Y+X, Y-X, Z, 2dT) for the added points.
// Everything here is public (keys and signatures), so variable time is fine.

typedef struct { fe X, Y, Z; } ge_p2;
typedef struct { fe X, Y, Z, T; } ge_p3;
typedef struct { fe X, Y, Z, T; } ge_p1p1;
typedef struct { fe YplusX, YminusX, Z, T2d; } ge_cached;

/** sqrt(-1) = 2^((p - 1) / 4) mod p, little-endian. */
static const uint8_t SQRTM1_BYTES[32] = {0xb0, 0xa0, 0x0e, 0x4a, 0x27, 0x1b, 0xee, 0xc4, 0x78, 0xe4, 0x2f,
                                         0xad, 0x06, 0x18, 0x43, 0x2f, 0xa7, 0xd7, 0xfb, 0x3d, 0x99, 0x00,
                                         0x4d, 0x2b, 0x0b, 0xdf, 0xc1, 0x4f, 0x80, 0x24, 0x83, 0x2b};

/** The base point B of RFC 8032 §5.1: y = 4/5, x even. */
static const uint8_t B_BYTES[32] = {0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

/** Window widths of the signed digits: the per-signature A gets 8 odd multiples, B 32 computed once. */
#define A_WINDOW_BITS 5
#define B_WINDOW_BITS 7
#define A_TABLE_POINTS (1 << (A_WINDOW_BITS - 2))
#define B_TABLE_POINTS (1 << (B_WINDOW_BITS - 2))

static fe fe_d, fe_d2, fe_sqrtm1;
static ge_cached b_table[B_TABLE_POINTS];  // B, 3B, 5B, ..., 63B
static int b_table_ready;

static uint8_t verify_io[160];

static void fe_zero(fe h) {
  for (int i = 0; i < 10; i++) h[i] = 0;
}

static void fe_neg(fe h, const fe f) {
  fe z;
  fe_zero(z);
  fe_sub(h, z, f);
}

/** Bit 0 of the canonical encoding: the "sign" of RFC 8032 §5.1.2. */
static int fe_isnegative(const fe f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

/** out = z^((p - 5) / 8) = z^(2^252 - 3), for the square root of RFC 8032 §5.1.3 step 3. */
static void fe_pow22523(fe out, const fe z) {
  fe t, z11;
  fe_pow_2_250_1(t, z11, z);
  fe_sq_times(t, t, 2);  // 2^252 - 4
  fe_mul(out, t, z);     // 2^252 - 3
}

/**
 * Decodes s (RFC 8032 §5.1.3, y read mod p with bit 255 as the x sign) into h, negated when `negate` is set, as
 * ge25519_frombytes_negate_vartime does (x = 0 with the sign bit set is taken as x = 0). 0, or -1 when y has no x.
 */
static int ge_frombytes(ge_p3 *h, const uint8_t *s, int negate) {
  fe u, v, v3, vxx, check;
  fe_frombytes(h->Y, s);
  fe_one(h->Z);
  fe_sq(u, h->Y);
  fe_mul(v, u, fe_d);
  fe_sub(u, u, h->Z);  // y^2 - 1
  fe_add(v, v, h->Z);  // d y^2 + 1
  fe_sq(v3, v);
  fe_mul(v3, v3, v);   // v^3
  fe_sq(h->X, v3);
  fe_mul(h->X, h->X, v);
  fe_mul(h->X, h->X, u);  // u v^7
  fe_pow22523(h->X, h->X);
  fe_mul(h->X, h->X, v3);
  fe_mul(h->X, h->X, u);  // u v^3 (u v^7)^((p - 5) / 8)
  fe_sq(vxx, h->X);
  fe_mul(vxx, vxx, v);
  fe_sub(check, vxx, u);
  if (!fe_iszero(check)) {
    fe_add(check, vxx, u);
    if (!fe_iszero(check)) return -1;
    fe_mul(h->X, h->X, fe_sqrtm1);
  }
  int sign = s[31] >> 7;
  if (fe_isnegative(h->X) == (negate ? sign : !sign)) fe_neg(h->X, h->X);
  fe_mul(h->T, h->X, h->Y);
  return 0;
}

static void ge_p3_to_cached(ge_cached *r, const ge_p3 *p) {
  // Carried P3 in: both < 2^27, multiplied in ge_add by (Y + X) or (Y - X) of another carried P3 (< 2^27).
  fe_add_nc(r->YplusX, p->Y, p->X);
  fe_sub_nc(r->YminusX, p->Y, p->X);
  fe_copy(r->Z, p->Z);
  fe_mul(r->T2d, p->T, fe_d2);
}

static void ge_p1p1_to_p2(ge_p2 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
}

static void ge_p1p1_to_p3(ge_p3 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
  fe_mul(r->T, p->X, p->Y);
}

/** r = 2p ("dbl-2008-hwcd" without T on input: four squarings). */
static void ge_p2_dbl(ge_p1p1 *r, const ge_p2 *p) {
  // Carried P2 in. Out: X, Y, Z below 2^26 (differences of carried; Y carried), T below 1.5 * 2^27; the
  // conversions multiply X T, Y Z, Z T and X Y: at most 2^53.6.
  fe t0;
  fe_sq(r->X, p->X);
  fe_sq(r->Z, p->Y);
  fe_sq(r->T, p->Z);
  fe_add_nc(r->T, r->T, r->T);  // 2 Z^2 < 2^27
  fe_add_nc(r->Y, p->X, p->Y);   // < 2^27, squared: 2^54
  fe_sq(t0, r->Y);
  fe_add(r->Y, r->Z, r->X);  // carried, so that X below is a difference of carried elements
  fe_sub_nc(r->Z, r->Z, r->X);
  fe_sub_nc(r->X, t0, r->Y);
  fe_sub_nc(r->T, r->T, r->Z);
}

/** r = p + q (sign = 1) or p - q (sign = -1) ("add-2008-hwcd-3" with 2d folded into q). */
static void ge_add(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q, int sign) {
  // Carried P3 and a cached point from ge_p3_to_cached in. Out: every coordinate a sum or difference of two
  // carried elements (< 2^27); the conversions multiply two of them: 2^54.
  fe t0;
  fe_add_nc(r->X, p->Y, p->X);
  fe_sub_nc(r->Y, p->Y, p->X);
  // -q swaps Y+X with Y-X and negates T.
  fe_mul(r->Z, r->X, sign > 0 ? q->YplusX : q->YminusX);
  fe_mul(r->Y, r->Y, sign > 0 ? q->YminusX : q->YplusX);
  fe_mul(r->T, q->T2d, p->T);
  fe_mul(r->X, p->Z, q->Z);
  fe_add(t0, r->X, r->X);  // carried: Z and T below are t0 +- a carried element
  fe_sub_nc(r->X, r->Z, r->Y);
  fe_add_nc(r->Y, r->Z, r->Y);
  if (sign > 0) {
    fe_add_nc(r->Z, t0, r->T);
    fe_sub_nc(r->T, t0, r->T);
  } else {
    fe_sub_nc(r->Z, t0, r->T);
    fe_add_nc(r->T, t0, r->T);
  }
}

/** table[i] = (2i + 1) p for i < n. */
static void odd_multiples(ge_cached *table, int n, const ge_p3 *p) {
  ge_p1p1 t;
  ge_p3 p2, u;
  ge_p2 q;
  ge_p3_to_cached(&table[0], p);
  fe_copy(q.X, p->X);
  fe_copy(q.Y, p->Y);
  fe_copy(q.Z, p->Z);
  ge_p2_dbl(&t, &q);
  ge_p1p1_to_p3(&p2, &t);
  for (int i = 1; i < n; i++) {
    ge_add(&t, &p2, &table[i - 1], 1);
    ge_p1p1_to_p3(&u, &t);
    ge_p3_to_cached(&table[i], &u);
  }
}

/**
 * The width-w non-adjacent form of the little-endian 256-bit scalar s: naf[i] is 0 or odd in (-2^(w-1), 2^(w-1)),
 * s = sum naf[i] 2^i, and any w consecutive digits hold at most one non-zero. A negative digit carries into the
 * next window, so a 256-bit s can need digit 256: NAF_DIGITS.
 */
#define NAF_DIGITS 257
static void wnaf(int8_t naf[NAF_DIGITS], const uint8_t *s, int w) {
  uint32_t k[9];
  for (int i = 0; i < 8; i++)
    k[i] = (uint32_t)s[4 * i] | (uint32_t)s[4 * i + 1] << 8 | (uint32_t)s[4 * i + 2] << 16 |
           (uint32_t)s[4 * i + 3] << 24;
  k[8] = 0;
  for (int i = 0; i < NAF_DIGITS; i++) naf[i] = 0;
  int window = 1 << w;
  for (int i = 0; i < NAF_DIGITS;) {
    if (((k[i >> 5] >> (i & 31)) & 1) == 0) {
      i++;
      continue;
    }
    // The w bits at i (they may straddle two words; k[8] is the top word's neighbour).
    uint64_t pair = (uint64_t)k[i >> 5] | (uint64_t)k[(i >> 5) + 1] << 32;
    int d = (int)((pair >> (i & 31)) & (uint64_t)(window - 1));
    if (d >= window / 2) d -= window;
    naf[i] = (int8_t)d;
    // k -= d 2^i: clear the window's bits, and for a negative digit add 2^(i + w).
    for (int b = i; b < i + w && b < 288; b++) k[b >> 5] &= ~(1u << (b & 31));
    if (d < 0) {
      for (int b = i + w; b < 288; b++) {
        uint32_t bit = 1u << (b & 31);
        k[b >> 5] ^= bit;
        if (k[b >> 5] & bit) break;  // set a 0 bit: the carry stops
      }
    }
    i += w;
  }
}

static void verify_setup(void) {
  fe_frombytes(fe_d, D_BYTES);
  fe_add(fe_d2, fe_d, fe_d);
  fe_frombytes(fe_sqrtm1, SQRTM1_BYTES);
  ge_p3 b;
  ge_frombytes(&b, B_BYTES, 0);
  odd_multiples(b_table, B_TABLE_POINTS, &b);
  b_table_ready = 1;
}

EXPORT(f25519_verify_buffer) uint8_t *f25519_verify_buffer(void) { return verify_io; }

EXPORT(f25519_verify) int f25519_verify(int with_u) {
  if (!b_table_ready) verify_setup();
  const uint8_t *a_bytes = verify_io, *r_bytes = verify_io + 32, *s_bytes = verify_io + 64, *h_bytes = verify_io + 96;
  ge_p3 neg_a;
  if (ge_frombytes(&neg_a, a_bytes, 1) != 0) return -1;
  ge_cached a_table[A_TABLE_POINTS];
  odd_multiples(a_table, A_TABLE_POINTS, &neg_a);
  int8_t h_naf[NAF_DIGITS], s_naf[NAF_DIGITS];
  wnaf(h_naf, h_bytes, A_WINDOW_BITS);
  wnaf(s_naf, s_bytes, B_WINDOW_BITS);
  int i = NAF_DIGITS - 1;
  while (i >= 0 && h_naf[i] == 0 && s_naf[i] == 0) i--;
  ge_p2 r;
  fe_zero(r.X);
  fe_one(r.Y);
  fe_one(r.Z);
  ge_p1p1 t;
  ge_p3 u;
  for (; i >= 0; i--) {
    ge_p2_dbl(&t, &r);
    int dh = h_naf[i], ds = s_naf[i];
    if (dh != 0) {
      ge_p1p1_to_p3(&u, &t);
      ge_add(&t, &u, &a_table[(dh < 0 ? -dh : dh) >> 1], dh > 0 ? 1 : -1);
    }
    if (ds != 0) {
      ge_p1p1_to_p3(&u, &t);
      ge_add(&t, &u, &b_table[(ds < 0 ? -ds : ds) >> 1], ds > 0 ? 1 : -1);
    }
    ge_p1p1_to_p2(&r, &t);
  }
  // The encoding of r (RFC 8032 §5.1.2) against R, byte for byte. With u, one inversion of Z (1 - y_A) gives
  // both 1/Z and 1/(1 - y_A) (Montgomery's trick); 1 - y_A = 0 (A = identity, of small order) is refused.
  fe recip, x, y, one_minus_y, one_plus_y, both;
  if (with_u) {
    fe one;
    fe_one(one);
    fe_sub(one_minus_y, one, neg_a.Y);
    fe_add(one_plus_y, one, neg_a.Y);
    if (fe_iszero(one_minus_y)) return -1;
    fe_mul(both, r.Z, one_minus_y);
    fe_invert(both, both);
    fe_mul(recip, both, one_minus_y);
    fe_mul(one_minus_y, both, r.Z);  // now 1 / (1 - y_A)
    fe_mul(one_plus_y, one_plus_y, one_minus_y);
  } else {
    fe_invert(recip, r.Z);
  }
  fe_mul(x, r.X, recip);
  fe_mul(y, r.Y, recip);
  uint8_t check[32];
  fe_tobytes(check, y);
  check[31] ^= (uint8_t)(fe_isnegative(x) << 7);
  uint8_t diff = 0;
  for (int k = 0; k < 32; k++) diff |= check[k] ^ r_bytes[k];
  if (diff != 0) return -1;
  if (with_u) fe_tobytes(verify_io + 128, one_plus_y);
  return 0;
}

EXPORT(f25519_buffer) uint8_t *f25519_buffer(void) { return io; }

// The y at +0 must encode a point (RFC 8032 §5.1.3 step 2-3, y read mod p as libsodium reads it): -2 when it does
// not, else as f25519_ed_to_mont.
EXPORT(f25519_ed_to_mont_checked) int f25519_ed_to_mont_checked(void) {
  fe y;
  fe_frombytes(y, io);
  if (!on_curve(y)) return -2;
  return ratio(1, -1);
}

// RFC 7748 §4.1: (u, v) = ((1 + y) / (1 - y), ...).
EXPORT(f25519_ed_to_mont) int f25519_ed_to_mont(void) { return ratio(1, -1); }

// RFC 7748 §4.1: (x, y) = (..., (u - 1) / (u + 1)).
EXPORT(f25519_mont_to_ed) int f25519_mont_to_ed(void) { return ratio(-1, 1); }

#ifdef F25519_TEST_EXPORTS
EXPORT(f25519_mul) void f25519_mul(void) {
  fe a, b;
  fe_frombytes(a, io);
  fe_frombytes(b, io + 32);
  fe_mul(a, a, b);
  fe_tobytes(io, a);
}

EXPORT(f25519_sq) void f25519_sq(void) {
  fe a;
  fe_frombytes(a, io);
  fe_sq(a, a);
  fe_tobytes(io, a);
}
#endif
