// Batched symmetric Double Ratchet sending step (Signal Double Ratchet §5.2 KDF_CK, OMEMO message keys and MAC)
// for WebAssembly SIMD128, written from the specs: SHA-256 (FIPS 180-4 §6.2), HMAC (RFC 2104), HKDF (RFC 5869),
// AES-256 (FIPS-197) and CBC with PKCS#7 padding (NIST SP 800-38A §6.2, RFC 5652 §6.3).
//
// Per lane (session), with `info`, `plaintext` shared by every lane of a call:
//   seed = HMAC(ck, 0x01); next = HMAC(ck, 0x02)
//   enc ‖ auth ‖ iv = HKDF(ikm = seed, salt = 32 zero bytes, info, 80)
//   ct = AES-256-CBC(enc, iv, PKCS#7(plaintext)); mac = HMAC(auth, ad ‖ header ‖ ct)
//
// SHA-256 runs four lanes at once: one v128 holds the same 32-bit word of four independent hashes. Every
// HMAC/HKDF message of the step except the final MAC has a fixed shape, so values stay in word form from the
// chain key to the message keys. AES is constant-time: no memory access or branch depends on secret data; the
// S-box is evaluated in a tower field with i8x16.swizzle of 16-byte rows (4-bit lookups, a data-independent shuffle).
//
// No libc, no imports. All buffers are static; the JS side learns their addresses from rk_init(). Key material
// in linear memory is wiped before every export returns, except the outputs the caller must read (next chain
// keys in the lane key slots, AES results in the AES buffer), which the caller wipes after copying them out.
//
// message-open.c, included below, adds the single-message calls rk_open/rk_seal (scalar SHA-256, same AES).
//
// Built twice by wasm/build.sh from this one file: the release module, and with -DRK_TEST_EXPORTS a test module
// that also exports single-message SHA-256, HMAC, HKDF and one AES block (rk_test_*) for known-answer tests.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#include "tables.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define NOINLINE __attribute__((noinline))

// ---------------------------------------------------------------------------------------------- limits/layout

#define LAYOUT_VERSION 2u
#define MAX_LANES 256u            // lanes per rk_send_batch call
#define MAX_AD_BYTES 128u         // associated data (MAC prefix) per lane
#define MAX_HEADER_BYTES 128u     // header per lane
#define MAX_PLAINTEXT_BYTES 1024u // shared plaintext
#define MAX_INFO_BYTES 128u       // shared HKDF info
#define MAX_CT_BYTES (MAX_PLAINTEXT_BYTES + 16u)
#define SHA_PAD_MAX_BYTES 72u     // 0x80, up to 63 zero bytes, 64-bit length
#define MAX_STRIDE_BYTES 1376u    // >= MAX_AD + MAX_HEADER + MAX_CT + SHA_PAD_MAX (1368), multiple of 16
#define AES_CHUNK_BYTES 16384u    // AES-CBC bytes per rk_aes256_cbc_* call (+16 for the padding block)
#ifdef RK_TEST_EXPORTS
#define TEST_IO_BYTES 4096u
#endif

_Static_assert(MAX_STRIDE_BYTES >= MAX_AD_BYTES + MAX_HEADER_BYTES + MAX_CT_BYTES + SHA_PAD_MAX_BYTES, "stride");
_Static_assert(MAX_STRIDE_BYTES % 16 == 0, "stride alignment");

// Lane buffers, written by JS before rk_send_batch and read back after it.
static uint8_t lane_keys[MAX_LANES * 32] __attribute__((aligned(16)));   // in: chain key; out: next chain key
static uint32_t lane_lengths[MAX_LANES * 2];                              // AD length, header length
static uint8_t lane_macs[MAX_LANES * 32] __attribute__((aligned(16)));   // out: full 32-byte HMAC
static uint8_t lane_data[MAX_LANES * MAX_STRIDE_BYTES] __attribute__((aligned(16))); // AD ‖ header ‖ (out) ct
static uint8_t shared_info[MAX_INFO_BYTES];
static uint8_t shared_plaintext[MAX_PLAINTEXT_BYTES];

// AES buffer: key, IV (updated to the last ciphertext block, for chaining across calls), data in place.
static struct {
  uint8_t key[32];
  uint8_t iv[16];
  uint8_t data[AES_CHUNK_BYTES + 16];
} aes_io __attribute__((aligned(16)));

#ifdef RK_TEST_EXPORTS
static uint8_t test_in[TEST_IO_BYTES];
static uint8_t test_out[256];
#endif

static uint32_t layout[18];

// ------------------------------------------------------------------------------------------- wiping

// memory.fill (bulk memory) followed by a compiler barrier that pretends to read the memory, so the stores
// are not removed as dead.
static void wipe(void *p, size_t n) {
  __builtin_memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

// ------------------------------------------------------------------------------------------- SHA-256 ×4

typedef v128_t u32x4;

#define ROTR(x, n) wasm_v128_or(wasm_u32x4_shr((x), (n)), wasm_i32x4_shl((x), 32 - (n)))
#define SPLAT(c) wasm_i32x4_splat((int32_t)(c))

// SHA256_K[t] in all four lanes; filled by rk_init().
static u32x4 SHA256_K4[64];
// Message schedule scratch of sha4_schedule (which only sees public blocks shared by all lanes).
static u32x4 sha_w[64];

// Message schedule (FIPS 180-4 §6.2.2 step 1) of four lanes plus the round constants: wk[t] = W_t + K_t.
// block[t] holds message word t of each lane. Used for the blocks every lane shares (constants and info), which
// are scheduled once per call and then run through sha4_rounds for each group of lanes.
static NOINLINE void sha4_schedule(const u32x4 block[16], u32x4 wk[64]) {
  // Round constants from memory: a v128.load is cheaper in V8 than materialising a v128.const. The empty asm
  // hides the table from the optimiser, which would otherwise fold the loads back into constants.
  const u32x4 *k4 = SHA256_K4;
  __asm__("" : "+r"(k4));
  u32x4 *w = sha_w;
  for (int t = 0; t < 16; t++) {
    w[t] = block[t];
    wk[t] = wasm_i32x4_add(block[t], k4[t]);
  }
  for (int t = 16; t < 64; t++) {
    u32x4 w2 = w[t - 2], w15 = w[t - 15];
    u32x4 s1 = wasm_v128_xor(wasm_v128_xor(ROTR(w2, 17), ROTR(w2, 19)), wasm_u32x4_shr(w2, 10));
    u32x4 s0 = wasm_v128_xor(wasm_v128_xor(ROTR(w15, 7), ROTR(w15, 18)), wasm_u32x4_shr(w15, 3));
    u32x4 wt = wasm_i32x4_add(wasm_i32x4_add(s1, w[t - 7]), wasm_i32x4_add(s0, w[t - 16]));
    w[t] = wt;
    wk[t] = wasm_i32x4_add(wt, k4[t]);
  }
}

// One round (FIPS 180-4 §6.2.2 step 3) on the working variables a..h of four lanes, `kw` = K[t] + W[t].
// Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)); this round's a ^ b is the next round's b ^ c (kept in `bc`).
#define SHA4_ROUND(kw)                                                                        \
  do {                                                                                        \
    u32x4 S1 = wasm_v128_xor(wasm_v128_xor(ROTR(e, 6), ROTR(e, 11)), ROTR(e, 25));          \
    u32x4 ch = wasm_v128_bitselect(f, g, e);                                                  \
    u32x4 t1 = wasm_i32x4_add(wasm_i32x4_add(h, S1), wasm_i32x4_add(ch, (kw)));               \
    u32x4 S0 = wasm_v128_xor(wasm_v128_xor(ROTR(a, 2), ROTR(a, 13)), ROTR(a, 22));          \
    u32x4 ab = wasm_v128_xor(a, b);                                                           \
    u32x4 maj = wasm_v128_xor(b, wasm_v128_and(ab, bc));                                      \
    bc = ab;                                                                                  \
    u32x4 t2 = wasm_i32x4_add(S0, maj);                                                       \
    h = g;                                                                                    \
    g = f;                                                                                    \
    f = e;                                                                                    \
    e = wasm_i32x4_add(d, t1);                                                                \
    d = c;                                                                                    \
    c = b;                                                                                    \
    b = a;                                                                                    \
    a = wasm_i32x4_add(t1, t2);                                                               \
  } while (0)

// Step 4: the new hash value is the old one plus the working variables.
#define SHA4_FEED_FORWARD()                                                                   \
  do {                                                                                        \
    out[0] = wasm_i32x4_add(in[0], a);                                                        \
    out[1] = wasm_i32x4_add(in[1], b);                                                        \
    out[2] = wasm_i32x4_add(in[2], c);                                                        \
    out[3] = wasm_i32x4_add(in[3], d);                                                        \
    out[4] = wasm_i32x4_add(in[4], e);                                                        \
    out[5] = wasm_i32x4_add(in[5], f);                                                        \
    out[6] = wasm_i32x4_add(in[6], g);                                                        \
    out[7] = wasm_i32x4_add(in[7], h);                                                        \
  } while (0)

// The 64 rounds (FIPS 180-4 §6.2.2 steps 2-4) of four lanes: out = in + rounds(in, wk). `out` may equal `in`.
static NOINLINE void sha4_rounds(const u32x4 in[8], const u32x4 wk[64], u32x4 out[8]) {
  u32x4 a = in[0], b = in[1], c = in[2], d = in[3], e = in[4], f = in[5], g = in[6], h = in[7];
  u32x4 bc = wasm_v128_xor(b, c);
#pragma clang loop unroll_count(8)
  for (int t = 0; t < 64; t++) {
    SHA4_ROUND(wk[t]);
  }
  SHA4_FEED_FORWARD();
}

// One SHA-256 compression (FIPS 180-4 §6.2.2) of four independent lanes: out = in + rounds(in, block), with
// the message schedule computed on the fly (16 words in flight). `out` may equal `in`.
static NOINLINE void sha4_compress(const u32x4 in[8], const u32x4 block[16], u32x4 out[8]) {
  const u32x4 *k4 = SHA256_K4;
  __asm__("" : "+r"(k4));
  u32x4 w[16];
  for (int t = 0; t < 16; t++) w[t] = block[t];
  u32x4 a = in[0], b = in[1], c = in[2], d = in[3], e = in[4], f = in[5], g = in[6], h = in[7];
  u32x4 bc = wasm_v128_xor(b, c);
#pragma clang loop unroll(full)
  for (int t = 0; t < 64; t++) {
    u32x4 wt;
    if (t < 16) {
      wt = w[t];
    } else {
      u32x4 w2 = w[(t - 2) & 15], w15 = w[(t - 15) & 15];
      u32x4 s1 = wasm_v128_xor(wasm_v128_xor(ROTR(w2, 17), ROTR(w2, 19)), wasm_u32x4_shr(w2, 10));
      u32x4 s0 = wasm_v128_xor(wasm_v128_xor(ROTR(w15, 7), ROTR(w15, 18)), wasm_u32x4_shr(w15, 3));
      wt = wasm_i32x4_add(wasm_i32x4_add(s1, w[(t - 7) & 15]), wasm_i32x4_add(s0, w[t & 15]));
      w[t & 15] = wt;
    }
    SHA4_ROUND(wasm_i32x4_add(k4[t], wt));
  }
  SHA4_FEED_FORWARD();
}

static void sha4_init(u32x4 st[8]) {
  for (int i = 0; i < 8; i++) st[i] = SPLAT(SHA256_H0[i]);
}

// 16 bytes at p[j] + off for lanes j = 0..3 -> words[0..3] (big-endian words, word k of lane j in lane j of words[k]).
static inline void load_words4(const uint8_t *const p[4], size_t off, u32x4 words[4]) {
  v128_t a = wasm_v128_load(p[0] + off), b = wasm_v128_load(p[1] + off);
  v128_t c = wasm_v128_load(p[2] + off), d = wasm_v128_load(p[3] + off);
  // Interleave the words of two lanes and byte-swap them in the same shuffle.
  v128_t ab0 = wasm_i8x16_shuffle(a, b, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
  v128_t ab1 = wasm_i8x16_shuffle(a, b, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
  v128_t cd0 = wasm_i8x16_shuffle(c, d, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
  v128_t cd1 = wasm_i8x16_shuffle(c, d, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
  words[0] = wasm_i64x2_shuffle(ab0, cd0, 0, 2);
  words[1] = wasm_i64x2_shuffle(ab0, cd0, 1, 3);
  words[2] = wasm_i64x2_shuffle(ab1, cd1, 0, 2);
  words[3] = wasm_i64x2_shuffle(ab1, cd1, 1, 3);
}

// Inverse of load_words4: words[0..3] -> 16 big-endian bytes at p[j] + off for the lanes j < n.
static inline void store_words4(uint8_t *const p[4], unsigned n, size_t off, const u32x4 words[4]) {
  v128_t ab0 = wasm_i32x4_shuffle(words[0], words[1], 0, 4, 1, 5); // a0 a1 b0 b1
  v128_t ab1 = wasm_i32x4_shuffle(words[2], words[3], 0, 4, 1, 5); // a2 a3 b2 b3
  v128_t cd0 = wasm_i32x4_shuffle(words[0], words[1], 2, 6, 3, 7); // c0 c1 d0 d1
  v128_t cd1 = wasm_i32x4_shuffle(words[2], words[3], 2, 6, 3, 7); // c2 c3 d2 d3
  v128_t a = wasm_i8x16_shuffle(ab0, ab1, 3, 2, 1, 0, 7, 6, 5, 4, 19, 18, 17, 16, 23, 22, 21, 20);
  v128_t b = wasm_i8x16_shuffle(ab0, ab1, 11, 10, 9, 8, 15, 14, 13, 12, 27, 26, 25, 24, 31, 30, 29, 28);
  v128_t c = wasm_i8x16_shuffle(cd0, cd1, 3, 2, 1, 0, 7, 6, 5, 4, 19, 18, 17, 16, 23, 22, 21, 20);
  v128_t d = wasm_i8x16_shuffle(cd0, cd1, 11, 10, 9, 8, 15, 14, 13, 12, 27, 26, 25, 24, 31, 30, 29, 28);
  wasm_v128_store(p[0] + off, a);
  if (n > 1) wasm_v128_store(p[1] + off, b);
  if (n > 2) wasm_v128_store(p[2] + off, c);
  if (n > 3) wasm_v128_store(p[3] + off, d);
}

// Big-endian words of `bytes` (a multiple of 4 long), each splat to all four lanes.
static void splat_words(const uint8_t *bytes, size_t nwords, u32x4 *out) {
  for (size_t i = 0; i < nwords; i++) {
    const uint8_t *q = bytes + 4 * i;
    out[i] = SPLAT(((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3]);
  }
}

// --------------------------------------------------------------------------- HMAC-SHA256 ×4 on word form

// Working state of one group of four lanes; static so that wiping it is easy (locals of the SIMD code live in
// wasm locals, which are not addressable linear memory).
static struct {
  u32x4 ck[8], ikey[8], okey[8], seed[8], prk[8], t1[8], t2[8], t3[8], st[8], tmp[8], block[16];
  u32x4 zero_i[8], zero_o[8];          // HMAC states of the all-zero 32-byte HKDF salt
  u32x4 wk_ck[2][64];                  // schedules of the KDF_CK inner blocks 0x01 / 0x02 (constant)
  u32x4 wk_t1[3][64];                  // schedules of padded info ‖ 0x01, the T(1) inner message (shared)
  u32x4 tn_first[2][8];                // words 8..15 of the first block of T(n-1) ‖ info ‖ n, n = 2, 3
  u32x4 wk_tn[2][2][64];               // schedules of its further blocks (shared)
  uint32_t t1_nblocks, tn_nblocks;
  v128_t rk[4 * 15];                   // AES round keys of up to four lanes
  v128_t iv[4];                        // AES-CBC IVs of up to four lanes
  uint8_t aes_keys[4][48];             // per lane: encryption key ‖ IV
  uint8_t padded_plaintext[MAX_CT_BYTES];
  uint8_t msg[3 * 64];
} W __attribute__((aligned(16)));

// The ipad/opad states of HMAC with a 32-byte key given as words (RFC 2104: K ‖ 0^32, XOR 0x36.. / 0x5c..).
static void hmac4_key32(const u32x4 key[8], u32x4 istate[8], u32x4 ostate[8]) {
  u32x4 *blk = W.block;
  u32x4 ip = SPLAT(0x36363636u), op = SPLAT(0x5c5c5c5cu);
  for (int i = 0; i < 8; i++) blk[i] = wasm_v128_xor(key[i], ip);
  for (int i = 8; i < 16; i++) blk[i] = ip;
  sha4_init(istate);
  sha4_compress(istate, blk, istate);
  for (int i = 0; i < 8; i++) blk[i] = wasm_v128_xor(key[i], op);
  for (int i = 8; i < 16; i++) blk[i] = op;
  sha4_init(ostate);
  sha4_compress(ostate, blk, ostate);
}

// out = compress(state, words ‖ padding) for a 32-byte message after one 64-byte block: the last block of
// an HMAC over a 32-byte message, and of every outer HMAC hash.
static void hash4_tail32(const u32x4 state[8], const u32x4 words[8], u32x4 out[8]) {
  u32x4 *blk = W.block;
  for (int i = 0; i < 8; i++) blk[i] = words[i];
  blk[8] = SPLAT(0x80000000u);
  for (int i = 9; i < 15; i++) blk[i] = SPLAT(0);
  blk[15] = SPLAT((64 + 32) * 8);
  sha4_compress(state, blk, out);
}

// Writes `msg` (already in `buf`, `len` bytes after `prefix` bytes hashed earlier) with SHA-256 padding into
// buf; returns the number of 64-byte blocks. buf must have room for len + 72 bytes.
static uint32_t sha_pad(uint8_t *buf, uint32_t len, uint32_t prefix) {
  uint32_t nblocks = (len + 9 + 63) / 64;
  uint32_t end = nblocks * 64;
  buf[len] = 0x80;
  for (uint32_t i = len + 1; i < end - 8; i++) buf[i] = 0;
  uint64_t bits = (uint64_t)(len + prefix) * 8;
  for (int i = 0; i < 8; i++) buf[end - 1 - i] = (uint8_t)(bits >> (8 * i));
  return nblocks;
}

// Precomputes what every lane of a call shares: the zero-salt HMAC states and the padded HKDF-Expand messages.
static void prepare_shared(uint32_t info_len) {
  // HKDF-Extract salt: 32 zero bytes (RFC 5869 §2.2 "if not provided ... HashLen zeros").
  u32x4 zero[8];
  for (int i = 0; i < 8; i++) zero[i] = SPLAT(0);
  hmac4_key32(zero, W.zero_i, W.zero_o);
  // KDF_CK inner messages after the key block: c ‖ 0x80 ‖ 0.. ‖ length (64 + 1) * 8, c = 0x01, 0x02.
  u32x4 *blk = W.block;
  for (int c = 0; c < 2; c++) {
    blk[0] = SPLAT(((uint32_t)(c + 1) << 24) | 0x00800000u);
    for (int i = 1; i < 15; i++) blk[i] = SPLAT(0);
    blk[15] = SPLAT((64 + 1) * 8);
    sha4_schedule(blk, W.wk_ck[c]);
  }
  // T(1) = HMAC(PRK, info ‖ 0x01): the whole inner message is shared.
  uint8_t *m = W.msg;
  for (uint32_t i = 0; i < info_len; i++) m[i] = shared_info[i];
  m[info_len] = 0x01;
  W.t1_nblocks = sha_pad(m, info_len + 1, 64);
  for (uint32_t b = 0; b < W.t1_nblocks; b++) {
    splat_words(m + 64 * b, 16, blk);
    sha4_schedule(blk, W.wk_t1[b]);
  }
  // T(n) = HMAC(PRK, T(n-1) ‖ info ‖ n): everything after the 32 per-lane bytes is shared.
  for (uint32_t n = 0; n < 2; n++) {
    for (uint32_t i = 0; i < 32; i++) m[i] = 0;
    for (uint32_t i = 0; i < info_len; i++) m[32 + i] = shared_info[i];
    m[32 + info_len] = (uint8_t)(n + 2);
    W.tn_nblocks = sha_pad(m, 32 + info_len + 1, 64);
    splat_words(m + 32, 8, W.tn_first[n]);
    for (uint32_t b = 1; b < W.tn_nblocks; b++) {
      splat_words(m + 64 * b, 16, blk);
      sha4_schedule(blk, W.wk_tn[n][b - 1]);
    }
  }
}

// T(n) for n = 2, 3 from T(n-1) (word form) under the PRK states.
static void hkdf4_expand_next(const u32x4 prev[8], uint32_t which, u32x4 out[8]) {
  u32x4 *blk = W.block;
  for (int i = 0; i < 8; i++) blk[i] = prev[i];
  for (int i = 8; i < 16; i++) blk[i] = W.tn_first[which][i - 8];
  sha4_compress(W.ikey, blk, W.st);
  for (uint32_t b = 1; b < W.tn_nblocks; b++) sha4_rounds(W.st, W.wk_tn[which][b - 1], W.st);
  hash4_tail32(W.okey, W.st, out);
}

// ------------------------------------------------------------------------------------------- AES-256

// Hides a value from the optimiser. Used for AES constants: LLVM would otherwise fold the S-box row loads into
// v128.const and rewrite x + x / x < 0 as shifts, all of which V8 turns into several instructions each.
#define OPAQUE(v) __asm__("" : "+r"(v))

typedef struct {
  v128_t row[9]; // the 9 rows of AES_SUB_TABLES or AES_INV_SUB_TABLES (tables.h)
  v128_t nibble, zero, poly;
} aes_consts;

static inline aes_consts aes_consts_for(const uint8_t *tables) {
  aes_consts k;
  const v128_t *box = (const v128_t *)tables;
  OPAQUE(box);
  for (int i = 0; i < 9; i++) k.row[i] = wasm_v128_load(box + i);
  k.nibble = wasm_i8x16_splat(0x0f);
  k.zero = wasm_i8x16_splat(0);
  k.poly = wasm_i8x16_splat(0x1b);
  OPAQUE(k.nibble);
  OPAQUE(k.zero);
  OPAQUE(k.poly);
  return k;
}

// SubBytes (or its inverse) of all 16 bytes in the tower field GF((2^4)^2), with 4-bit lookups only
// (i8x16.swizzle of a 16-byte row; gen-tables.py tower_tables derives the rows and checks them for every byte):
// the input's nibbles give the coordinates I, K (J = I ^ K); then io = J ^ 1/(1/I ^ a/K), jo = I ^ 1/(1/J ^ a/K),
// and the output is F[io] ^ G[jo] ^ constant. 1/0 is 0x80, an index >= 16, for which swizzle yields 0. Ten
// swizzles, no branch, every address fixed: nothing depends on the data but the lanes' values.
static inline v128_t sub_bytes(v128_t x, const aes_consts *k) {
  const v128_t *t = k->row;
  v128_t lo = wasm_v128_and(x, k->nibble);
  v128_t hi = wasm_u8x16_shr(x, 4);
  v128_t i = wasm_v128_xor(wasm_i8x16_swizzle(t[0], lo), wasm_i8x16_swizzle(t[1], hi));
  v128_t kk = wasm_v128_xor(wasm_i8x16_swizzle(t[2], lo), wasm_i8x16_swizzle(t[3], hi));
  v128_t j = wasm_v128_xor(i, kk);
  v128_t inv = t[4];
  v128_t ak = wasm_i8x16_swizzle(t[5], kk);
  v128_t io = wasm_v128_xor(j, wasm_i8x16_swizzle(inv, wasm_v128_xor(wasm_i8x16_swizzle(inv, i), ak)));
  v128_t jo = wasm_v128_xor(i, wasm_i8x16_swizzle(inv, wasm_v128_xor(wasm_i8x16_swizzle(inv, j), ak)));
  v128_t out = wasm_v128_xor(wasm_i8x16_swizzle(t[6], io), wasm_i8x16_swizzle(t[7], jo));
  return wasm_v128_xor(out, t[8]);
}

// State bytes in FIPS-197 input order: byte r + 4c is row r of column c.
static inline v128_t shift_rows(v128_t x) {
  return wasm_i8x16_shuffle(x, x, 0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11);
}

static inline v128_t inv_shift_rows(v128_t x) {
  return wasm_i8x16_shuffle(x, x, 0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3);
}

// Multiplication by x (02) in GF(2^8) of every byte (FIPS-197 §4.2.1): shift left, reduce by 0x1b if bit 7 was set.
static inline v128_t xtime(v128_t x, const aes_consts *k) {
  v128_t carry = wasm_i8x16_lt(x, k->zero); // 0xff where bit 7 is set
  v128_t y = x;
  OPAQUE(y);
  return wasm_v128_xor(wasm_i8x16_add(x, y), wasm_v128_and(carry, k->poly));
}

// Row rotations within each column: rot1(x)[r + 4c] = x[(r + 1) % 4 + 4c], rot2 likewise by 2.
static inline v128_t rot1(v128_t x) {
  return wasm_i8x16_shuffle(x, x, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12);
}

static inline v128_t rot2(v128_t x) {
  return wasm_i8x16_shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

// MixColumns (FIPS-197 §5.1.3): b_r = 2a_r ^ 3a_{r+1} ^ a_{r+2} ^ a_{r+3} = 2(a_r ^ a_{r+1}) ^ a_{r+1} ^ (a_{r+2} ^ a_{r+3}).
static inline v128_t mix_columns(v128_t a, const aes_consts *k) {
  v128_t a1 = rot1(a);
  v128_t t = wasm_v128_xor(a, a1);
  return wasm_v128_xor(wasm_v128_xor(xtime(t, k), a1), rot2(t));
}

// InvMixColumns (FIPS-197 §5.3.3): its polynomial {0b}x³+{0d}x²+{09}x+{0e} equals ({03}x³+{01}x²+{01}x+{02}) ·
// ({04}x²+{05}) mod x⁴+1, so multiply each column by {04}x²+{05} (a_r ^= 4(a_r ^ a_{r+2})) and then MixColumns.
static inline v128_t inv_mix_columns(v128_t a, const aes_consts *k) {
  v128_t t = wasm_v128_xor(a, rot2(a));
  return mix_columns(wasm_v128_xor(a, xtime(xtime(t, k), k)), k);
}

// Prefix XOR of the four 32-bit words: word i becomes w0 ^ .. ^ wi.
static inline v128_t prefix_xor_words(v128_t x) {
  v128_t z = wasm_i32x4_splat(0);
  x = wasm_v128_xor(x, wasm_i32x4_shuffle(z, x, 0, 4, 5, 6));
  return wasm_v128_xor(x, wasm_i32x4_shuffle(z, x, 0, 0, 4, 5));
}

// Key expansion (FIPS-197 §5.2, Nk = 8, Nr = 14) of n = 1..4 keys at once (independent chains interleaved):
// rk[15 * j + i] is round key i of key j.
static NOINLINE void aes256_expand(const uint8_t *const key[4], unsigned n, v128_t *rk) {
  aes_consts k = aes_consts_for(AES_SUB_TABLES);
  for (unsigned j = 0; j < 4; j++) {
    if (j >= n) break;
    rk[15 * j] = wasm_v128_load(key[j]);
    rk[15 * j + 1] = wasm_v128_load(key[j] + 16);
  }
  uint32_t rcon = 1;
  for (int i = 2; i < 15; i++) {
    for (unsigned j = 0; j < 4; j++) {
      if (j >= n) break;
      v128_t *r = rk + 15 * j;
      v128_t s = sub_bytes(r[i - 1], &k);
      v128_t t;
      if ((i & 1) == 0) {
        // SubWord(RotWord(w[j-1])) ^ Rcon[j/8]: bytes 13, 14, 15, 12 of the previous round key, in every word.
        t = wasm_v128_xor(wasm_i8x16_shuffle(s, s, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12),
                          wasm_i32x4_splat((int32_t)rcon));
      } else {
        t = wasm_i32x4_shuffle(s, s, 3, 3, 3, 3); // SubWord(w[j-1])
      }
      r[i] = wasm_v128_xor(prefix_xor_words(r[i - 2]), t);
    }
    if ((i & 1) == 0) rcon <<= 1; // at most 0x40 for AES-256: no reduction needed
  }
}

#ifdef RK_TEST_EXPORTS
// One block on its own, for rk_test_aes256_block (cbc_encrypt interleaves the same rounds over four lanes).
static inline v128_t aes256_encrypt_block(const v128_t rk[15], v128_t x, const aes_consts *k) {
  x = wasm_v128_xor(x, rk[0]);
  for (int r = 1; r < 14; r++) x = wasm_v128_xor(mix_columns(sub_bytes(shift_rows(x), k), k), rk[r]);
  return wasm_v128_xor(sub_bytes(shift_rows(x), k), rk[14]);
}
#endif

static inline v128_t aes256_decrypt_block(const v128_t rk[15], v128_t x, const aes_consts *k) {
  x = wasm_v128_xor(x, rk[14]);
  for (int r = 13; r > 0; r--) x = inv_mix_columns(wasm_v128_xor(sub_bytes(inv_shift_rows(x), k), rk[r]), k);
  return wasm_v128_xor(sub_bytes(inv_shift_rows(x), k), rk[0]);
}

// CBC encryption (NIST SP 800-38A §6.2) of nblocks whole blocks for n = 1..4 lanes at once (interleaved, for
// instruction-level parallelism): lane j uses round keys rk + 15j, IV iv[j], input in[j], output out[j].
// Returns the last ciphertext block of lane 0.
static NOINLINE v128_t cbc_encrypt(const v128_t *rk, const v128_t iv[4], const uint8_t *const in[4], uint8_t *const out[4],
                                   unsigned n, uint32_t nblocks) {
  aes_consts k = aes_consts_for(AES_SUB_TABLES);
  v128_t x[4] = {iv[0], iv[1], iv[2], iv[3]};
  for (uint32_t b = 0; b < nblocks; b++) {
    for (unsigned j = 0; j < 4; j++) {
      if (j >= n) break;
      x[j] = wasm_v128_xor(wasm_v128_xor(x[j], wasm_v128_load(in[j] + 16 * b)), rk[15 * j]);
    }
    for (int r = 1; r < 14; r++) {
      for (unsigned j = 0; j < 4; j++) {
        if (j >= n) break;
        x[j] = wasm_v128_xor(mix_columns(sub_bytes(shift_rows(x[j]), &k), &k), rk[15 * j + r]);
      }
    }
    for (unsigned j = 0; j < 4; j++) {
      if (j >= n) break;
      x[j] = wasm_v128_xor(sub_bytes(shift_rows(x[j]), &k), rk[15 * j + 14]);
      wasm_v128_store(out[j] + 16 * b, x[j]);
    }
  }
  return x[0];
}

// PKCS#7: pads `len` bytes at buf to the next multiple of 16 (always at least one byte); returns the new length.
static uint32_t pkcs7_pad(uint8_t *buf, uint32_t len) {
  uint32_t total = (len & ~15u) + 16;
  uint8_t p = (uint8_t)(total - len);
  for (uint32_t i = len; i < total; i++) buf[i] = p;
  return total;
}

// PKCS#7 check of the last block of buf[0, len) (len a positive multiple of 16) in constant time: returns the
// padding length p (1..16), or -1. Valid: the last byte p is in 1..16 and the last p bytes all equal p, i.e. byte
// i of the last block must equal p iff i + p >= 16 (saturating add). Only the final outcome decides a branch.
static int32_t pkcs7_check(const uint8_t *buf, uint32_t len) {
  v128_t last = wasm_v128_load(buf + len - 16);
  uint32_t p = buf[len - 1];
  v128_t pv = wasm_i8x16_splat((int8_t)p);
  v128_t iota = wasm_u8x16_make(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  v128_t need = wasm_u8x16_ge(wasm_u8x16_add_sat(iota, pv), wasm_u8x16_splat(16));
  v128_t bad = wasm_v128_andnot(need, wasm_i8x16_eq(last, pv));
  uint32_t ok = (uint32_t)!wasm_v128_any_true(bad) & (uint32_t)(p - 1 < 16);
  return ok ? (int32_t)p : -1;
}

// CBC decryption (NIST SP 800-38A §6.2) of nblocks blocks at p in place under the round keys rk: blocks are
// independent here, so four at a time are interleaved (instruction-level parallelism). Returns the last
// ciphertext block (the IV for chaining across calls). The IV is passed by value, so it never goes to the stack.
static NOINLINE v128_t cbc_decrypt_blocks(const v128_t rk[15], v128_t iv, uint8_t *p, uint32_t nblocks) {
  aes_consts k = aes_consts_for(AES_INV_SUB_TABLES);
  v128_t prev = iv;
  uint32_t b = 0;
  for (; b + 4 <= nblocks; b += 4) {
    v128_t c[4], x[4];
    for (int j = 0; j < 4; j++) {
      c[j] = wasm_v128_load(p + 16 * (b + j));
      x[j] = wasm_v128_xor(c[j], rk[14]);
    }
    for (int r = 13; r > 0; r--) {
      for (int j = 0; j < 4; j++) x[j] = inv_mix_columns(wasm_v128_xor(sub_bytes(inv_shift_rows(x[j]), &k), rk[r]), &k);
    }
    for (int j = 0; j < 4; j++) {
      x[j] = wasm_v128_xor(sub_bytes(inv_shift_rows(x[j]), &k), rk[0]);
      wasm_v128_store(p + 16 * (b + j), wasm_v128_xor(x[j], j == 0 ? prev : c[j - 1]));
    }
    prev = c[3];
  }
  for (; b < nblocks; b++) {
    v128_t c = wasm_v128_load(p + 16 * b);
    wasm_v128_store(p + 16 * b, wasm_v128_xor(aes256_decrypt_block(rk, c, &k), prev));
    prev = c;
  }
  return prev;
}

// ------------------------------------------------------------------------- one message (scalar SHA-256)

#include "message-open.c"

// ---------------------------------------------------------------------------------------- the batch step

// Processes lanes [first, first + n), n = 1..4 (missing lanes repeat the first one; their outputs are dropped).
static void send_group(uint32_t first, uint32_t n, uint32_t stride, uint32_t ct_len) {
  uint8_t *kp[4], *dp[4], *mp[4], *ap[4];
  for (uint32_t j = 0; j < 4; j++) {
    uint32_t lane = first + (j < n ? j : 0);
    kp[j] = lane_keys + 32 * lane;
    dp[j] = lane_data + (size_t)stride * lane;
    mp[j] = lane_macs + 32 * lane;
    ap[j] = W.aes_keys[j];
  }

  // KDF_CK: seed = HMAC(ck, 0x01), next = HMAC(ck, 0x02) with one pair of key states.
  load_words4((const uint8_t *const *)kp, 0, W.ck);
  load_words4((const uint8_t *const *)kp, 16, W.ck + 4);
  hmac4_key32(W.ck, W.ikey, W.okey);
  sha4_rounds(W.ikey, W.wk_ck[0], W.st);
  hash4_tail32(W.okey, W.st, W.seed);
  sha4_rounds(W.ikey, W.wk_ck[1], W.st);
  hash4_tail32(W.okey, W.st, W.tmp);
  store_words4(kp, n, 0, W.tmp);
  store_words4(kp, n, 16, W.tmp + 4);

  // HKDF-Extract with the zero salt, then Expand to 80 bytes: T(1) = enc key, T(2) = auth key, T(3)[0:16] = IV.
  hash4_tail32(W.zero_i, W.seed, W.st);
  hash4_tail32(W.zero_o, W.st, W.prk);
  hmac4_key32(W.prk, W.ikey, W.okey);
  sha4_rounds(W.ikey, W.wk_t1[0], W.st);
  for (uint32_t b = 1; b < W.t1_nblocks; b++) sha4_rounds(W.st, W.wk_t1[b], W.st);
  hash4_tail32(W.okey, W.st, W.t1);
  hkdf4_expand_next(W.t1, 0, W.t2);
  hkdf4_expand_next(W.t2, 1, W.t3);

  // AES-256-CBC of the shared padded plaintext, written after AD ‖ header.
  store_words4(ap, 4, 0, W.t1);
  store_words4(ap, 4, 16, W.t1 + 4);
  store_words4(ap, 4, 32, W.t3);
  uint32_t msg_len[4];
  const uint8_t *in[4];
  uint8_t *ct[4];
  for (uint32_t j = 0; j < 4; j++) {
    uint32_t lane = first + (j < n ? j : 0);
    msg_len[j] = lane_lengths[2 * lane] + lane_lengths[2 * lane + 1] + ct_len;
    W.iv[j] = wasm_v128_load(ap[j] + 32);
    in[j] = W.padded_plaintext;
    ct[j] = dp[j] + msg_len[j] - ct_len;
  }
  aes256_expand((const uint8_t *const *)ap, n, W.rk);
  cbc_encrypt(W.rk, W.iv, in, ct, n, ct_len / 16);

  // MAC = HMAC(auth, AD ‖ header ‖ ct): lanes may need different block counts; a lane whose message has
  // ended keeps its state (bitselect with a per-lane mask).
  uint32_t nb[4], max_nb = 0;
  for (uint32_t j = 0; j < 4; j++) {
    nb[j] = (j < n || j == 0) ? sha_pad(dp[j], msg_len[j], 64) : nb[0];
    if (nb[j] > max_nb) max_nb = nb[j];
  }
  hmac4_key32(W.t2, W.ikey, W.okey);
  for (int i = 0; i < 8; i++) W.st[i] = W.ikey[i];
  u32x4 counts = wasm_u32x4_make(nb[0], nb[1], nb[2], nb[3]);
  for (uint32_t b = 0; b < max_nb; b++) {
    const uint8_t *bp[4];
    for (uint32_t j = 0; j < 4; j++) bp[j] = dp[j] + 64 * (b < nb[j] ? b : 0);
    for (int q = 0; q < 4; q++) load_words4(bp, 16 * q, W.block + 4 * q);
    sha4_compress(W.st, W.block, W.tmp);
    u32x4 live = wasm_u32x4_lt(SPLAT(b), counts);
    for (int i = 0; i < 8; i++) W.st[i] = wasm_v128_bitselect(W.tmp[i], W.st[i], live);
  }
  hash4_tail32(W.okey, W.st, W.tmp);
  store_words4(mp, n, 0, W.tmp);
  store_words4(mp, n, 16, W.tmp + 4);
}

// Runs the step for lanes 0..count-1 of the lane buffers. Lane i's data starts at lane_data + i * stride:
// AD (lane_lengths[2i] bytes) ‖ header (lane_lengths[2i+1] bytes); the ciphertext (ct_len =
// (pt_len / 16 + 1) * 16 bytes) is written right after the header, followed by scratch padding bytes.
// Outputs: next chain key over the chain key in lane_keys, the full HMAC in lane_macs.
// Returns 0, or -1 (nothing done) when an argument or a lane length is out of range.
EXPORT("rk_send_batch") int32_t rk_send_batch(uint32_t count, uint32_t stride, uint32_t info_len, uint32_t pt_len) {
  if (count > MAX_LANES || stride > MAX_STRIDE_BYTES || info_len > MAX_INFO_BYTES || pt_len > MAX_PLAINTEXT_BYTES) return -1;
  uint32_t ct_len = (pt_len & ~15u) + 16;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t ad = lane_lengths[2 * i], hdr = lane_lengths[2 * i + 1];
    if (ad > MAX_AD_BYTES || hdr > MAX_HEADER_BYTES || ad + hdr + ct_len + SHA_PAD_MAX_BYTES > stride) return -1;
  }
  if (count > 1) prepare_shared(info_len); // only groups of two or more lanes use it
  for (uint32_t i = 0; i < pt_len; i++) W.padded_plaintext[i] = shared_plaintext[i];
  pkcs7_pad(W.padded_plaintext, pt_len);
  for (uint32_t first = 0; first < count; first += 4) {
    uint32_t n = count - first < 4 ? count - first : 4;
    // A group of one would leave three of the four SIMD lanes idle: the scalar step is about twice as fast.
    if (n == 1) send_one(first, stride, ct_len, info_len);
    else send_group(first, n, stride, ct_len);
  }
  wipe(&W, sizeof W);
  return 0;
}

// ----------------------------------------------------------------------------------- AES-CBC for JS

// Encrypts aes_io.data[0, len) in place under aes_io.key and aes_io.iv. With `final`, applies PKCS#7 first
// (output (len / 16 + 1) * 16 bytes); otherwise len must be a multiple of 16. aes_io.iv becomes the last
// ciphertext block so that a long input can be processed in several calls. Returns the output length or -1.
EXPORT("rk_aes256_cbc_encrypt") int32_t rk_aes256_cbc_encrypt(uint32_t len, uint32_t final) {
  if (len > AES_CHUNK_BYTES || (!final && (len & 15) != 0)) return -1;
  uint32_t total = final ? pkcs7_pad(aes_io.data, len) : len;
  const uint8_t *key[4] = {aes_io.key, aes_io.key, aes_io.key, aes_io.key};
  aes256_expand(key, 1, W.rk);
  W.iv[0] = wasm_v128_load(aes_io.iv);
  const uint8_t *in[4] = {aes_io.data, aes_io.data, aes_io.data, aes_io.data};
  uint8_t *out[4] = {aes_io.data, aes_io.data, aes_io.data, aes_io.data};
  v128_t last = cbc_encrypt(W.rk, W.iv, in, out, 1, total / 16);
  wasm_v128_store(aes_io.iv, last);
  wipe(W.rk, sizeof W.rk);
  wipe(W.iv, sizeof W.iv);
  return (int32_t)total;
}

// Decrypts aes_io.data[0, len) (a multiple of 16) in place; aes_io.iv becomes the last ciphertext block.
// With `final`, removes PKCS#7 padding checked in constant time: returns the plaintext length, or -2 (and
// wipes the data) when the padding is invalid. -1 for bad arguments.
EXPORT("rk_aes256_cbc_decrypt") int32_t rk_aes256_cbc_decrypt(uint32_t len, uint32_t final) {
  if (len > AES_CHUNK_BYTES || (len & 15) != 0 || (final && len == 0)) return -1;
  const uint8_t *key[4] = {aes_io.key, aes_io.key, aes_io.key, aes_io.key};
  aes256_expand(key, 1, W.rk);
  wasm_v128_store(aes_io.iv, cbc_decrypt_blocks(W.rk, wasm_v128_load(aes_io.iv), aes_io.data, len / 16));
  wipe(W.rk, sizeof W.rk);
  if (!final) return (int32_t)len;
  int32_t p = pkcs7_check(aes_io.data, len);
  if (p < 0) {
    wipe(aes_io.data, len);
    return -2;
  }
  return (int32_t)len - p;
}

#ifdef RK_TEST_EXPORTS
// ------------------------------------------------------------ single-lane SHA-256/HMAC/HKDF (tests only)

// Generic one-message versions on the same compression function (all four lanes carry the same message),
// exported for the known-answer tests of the primitives.
static struct {
  u32x4 h[8];
  uint8_t buf[64];
  uint32_t used;
  uint64_t total;
} sha1l;

static void sha1l_block(const uint8_t *p) {
  u32x4 blk[16];
  splat_words(p, 16, blk);
  sha4_compress(sha1l.h, blk, sha1l.h);
}

static void sha1l_init(void) {
  sha4_init(sha1l.h);
  sha1l.used = 0;
  sha1l.total = 0;
}

static void sha1l_update(const uint8_t *p, uint32_t n) {
  sha1l.total += n;
  while (n > 0) {
    uint32_t take = 64 - sha1l.used < n ? 64 - sha1l.used : n;
    for (uint32_t i = 0; i < take; i++) sha1l.buf[sha1l.used + i] = p[i];
    sha1l.used += take;
    p += take;
    n -= take;
    if (sha1l.used == 64) {
      sha1l_block(sha1l.buf);
      sha1l.used = 0;
    }
  }
}

static void sha1l_final(uint8_t out[32]) {
  uint64_t bits = sha1l.total * 8;
  uint8_t pad[72];
  uint32_t npad = (sha1l.used < 56 ? 56 : 120) - sha1l.used;
  pad[0] = 0x80;
  for (uint32_t i = 1; i < npad; i++) pad[i] = 0;
  for (int i = 0; i < 8; i++) pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha1l_update(pad, npad + 8);
  for (int i = 0; i < 8; i++) {
    uint32_t wv = (uint32_t)wasm_i32x4_extract_lane(sha1l.h[i], 0);
    out[4 * i] = (uint8_t)(wv >> 24);
    out[4 * i + 1] = (uint8_t)(wv >> 16);
    out[4 * i + 2] = (uint8_t)(wv >> 8);
    out[4 * i + 3] = (uint8_t)wv;
  }
}

static void hmac1l(const uint8_t *key, uint32_t key_len, const uint8_t *data, uint32_t data_len, uint8_t out[32]) {
  uint8_t k[64], pad[64], inner[32];
  for (int i = 0; i < 64; i++) k[i] = 0;
  if (key_len > 64) {
    sha1l_init();
    sha1l_update(key, key_len);
    sha1l_final(k);
  } else {
    for (uint32_t i = 0; i < key_len; i++) k[i] = key[i];
  }
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
  sha1l_init();
  sha1l_update(pad, 64);
  sha1l_update(data, data_len);
  sha1l_final(inner);
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
  sha1l_init();
  sha1l_update(pad, 64);
  sha1l_update(inner, 32);
  sha1l_final(out);
}

EXPORT("rk_test_sha256_init") void rk_test_sha256_init(void) { sha1l_init(); }

// Hashes test_in[0, len) into the running test hash.
EXPORT("rk_test_sha256_update") int32_t rk_test_sha256_update(uint32_t len) {
  if (len > TEST_IO_BYTES) return -1;
  sha1l_update(test_in, len);
  return 0;
}

// Digest into test_out[0, 32).
EXPORT("rk_test_sha256_final") void rk_test_sha256_final(void) { sha1l_final(test_out); }

// HMAC-SHA256(key = test_in[0, key_len), data = test_in[key_len, key_len + data_len)) into test_out[0, 32).
EXPORT("rk_test_hmac_sha256") int32_t rk_test_hmac_sha256(uint32_t key_len, uint32_t data_len) {
  if (key_len > TEST_IO_BYTES || data_len > TEST_IO_BYTES - key_len) return -1;
  hmac1l(test_in, key_len, test_in + key_len, data_len, test_out);
  return 0;
}

// HKDF-SHA256 (RFC 5869 §2.2/§2.3) of test_in = ikm ‖ salt ‖ info into test_out[0, out_len); an empty salt
// means 32 zero bytes. out_len <= 255 (the size of test_out).
EXPORT("rk_test_hkdf_sha256") int32_t rk_test_hkdf_sha256(uint32_t ikm_len, uint32_t salt_len, uint32_t info_len, uint32_t out_len) {
  if (ikm_len > TEST_IO_BYTES || salt_len > TEST_IO_BYTES || info_len > 192 || ikm_len + salt_len + info_len > TEST_IO_BYTES ||
      out_len == 0 || out_len > 255)
    return -1;
  const uint8_t *ikm = test_in, *salt = test_in + ikm_len, *info = salt + salt_len;
  uint8_t zero[32], prk[32], t[32], msg[32 + 192 + 1];
  for (int i = 0; i < 32; i++) zero[i] = 0;
  hmac1l(salt_len ? salt : zero, salt_len ? salt_len : 32, ikm, ikm_len, prk);
  uint32_t done = 0, tlen = 0;
  for (uint8_t n = 1; done < out_len; n++) {
    for (uint32_t i = 0; i < tlen; i++) msg[i] = t[i];
    for (uint32_t i = 0; i < info_len; i++) msg[tlen + i] = info[i];
    msg[tlen + info_len] = n;
    hmac1l(prk, 32, msg, tlen + info_len + 1, t);
    tlen = 32;
    for (uint32_t i = 0; i < 32 && done < out_len; i++) test_out[done++] = t[i];
  }
  return 0;
}

// One AES-256 block: key = test_in[0, 32), block = test_in[32, 48) -> test_out[0, 16).
EXPORT("rk_test_aes256_block") void rk_test_aes256_block(uint32_t decrypt) {
  const uint8_t *key[4] = {test_in, test_in, test_in, test_in};
  aes256_expand(key, 1, W.rk);
  v128_t x = wasm_v128_load(test_in + 32);
  aes_consts ke = aes_consts_for(AES_SUB_TABLES), kd = aes_consts_for(AES_INV_SUB_TABLES);
  wasm_v128_store(test_out, decrypt ? aes256_decrypt_block(W.rk, x, &kd) : aes256_encrypt_block(W.rk, x, &ke));
  wipe(W.rk, sizeof W.rk);
}

#endif // RK_TEST_EXPORTS

// ---------------------------------------------------------------------------------------------- layout

// Returns the address of a table of u32 values that tells JS where everything is:
// [0] layout version, [1] max lanes, [2] lane_keys, [3] lane_lengths, [4] lane_macs, [5] lane_data,
// [6] max stride, [7] shared_info, [8] max info bytes, [9] shared_plaintext, [10] max plaintext bytes,
// [11] max AD bytes, [12] max header bytes, [13] aes_io (key 32 ‖ iv 16 ‖ data), [14] AES chunk bytes,
// [15] test_in in the test module, 0 in the release module (test_out = test_in + TEST_IO_BYTES is not assumed:
// see rk_test_out), [16] open_io (key 32 ‖ mac 32 ‖ keys_out 48 ‖ info MAX_INFO_BYTES ‖ data), [17] max open
// data bytes.
EXPORT("rk_init") uint32_t rk_init(void) {
  for (int t = 0; t < 64; t++) SHA256_K4[t] = SPLAT(SHA256_K[t]);
  layout[0] = LAYOUT_VERSION;
  layout[1] = MAX_LANES;
  layout[2] = (uint32_t)(uintptr_t)lane_keys;
  layout[3] = (uint32_t)(uintptr_t)lane_lengths;
  layout[4] = (uint32_t)(uintptr_t)lane_macs;
  layout[5] = (uint32_t)(uintptr_t)lane_data;
  layout[6] = MAX_STRIDE_BYTES;
  layout[7] = (uint32_t)(uintptr_t)shared_info;
  layout[8] = MAX_INFO_BYTES;
  layout[9] = (uint32_t)(uintptr_t)shared_plaintext;
  layout[10] = MAX_PLAINTEXT_BYTES;
  layout[11] = MAX_AD_BYTES;
  layout[12] = MAX_HEADER_BYTES;
  layout[13] = (uint32_t)(uintptr_t)&aes_io;
  layout[14] = AES_CHUNK_BYTES;
#ifdef RK_TEST_EXPORTS
  layout[15] = (uint32_t)(uintptr_t)test_in;
#else
  layout[15] = 0;
#endif
  layout[16] = (uint32_t)(uintptr_t)&open_io;
  layout[17] = OPEN_MAX_DATA_BYTES;
  open_init();
  return (uint32_t)(uintptr_t)layout;
}

#ifdef RK_TEST_EXPORTS
EXPORT("rk_test_out") uint32_t rk_test_out(void) { return (uint32_t)(uintptr_t)test_out; }
#endif
