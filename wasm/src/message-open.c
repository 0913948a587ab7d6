// One message at a time (Signal Double Ratchet §5.2 KDF_CK; OMEMO's message keys: HKDF-SHA256 RFC 5869 to
// 80 bytes, HMAC-SHA256 RFC 2104 truncated, AES-256-CBC NIST SP 800-38A §6.2 with PKCS#7 RFC 5652 §6.3):
//   rk_open: [seed, next = KDF_CK(ck)] → enc ‖ auth ‖ iv = HKDF(seed, 32 zero bytes, info, 80) →
//            HMAC(auth, macData)[0, macLen) compared in constant time → AES-256-CBC decrypt, PKCS#7 check
//   rk_seal: enc ‖ auth ‖ iv = HKDF(key, 32 zero bytes, info, 80) → AES-256-CBC(PKCS#7(pt)) → HMAC(auth, prefix ‖ ct)
//   rk_hkdf: HKDF-SHA256(ikm, salt of 32 bytes or the zero salt, info, length): X3DH's SK and KDF_RK
// A single message cannot fill the four SIMD lanes of sha4_*, so SHA-256 here is scalar (i32.rotr is one
// instruction; the SIMD version needs three per rotation). The HMAC states of the all-zero HKDF salt are
// computed once (rk_init); each key's ipad/opad states are computed once and reused by every HMAC under it.
//
// Part of ratchet-kernel.c's translation unit (included there): it shares the AES code, `W.rk`, `wipe`.

#define OPEN_MAX_DATA_BYTES 32768u // MAC data (rk_open), prefix ‖ plaintext (rk_seal)
#define OPEN_FLAG_CHAIN 1u         // the key slot holds a chain key: seed = HMAC(ck, 0x01), next = HMAC(ck, 0x02)
#define OPEN_FLAG_DECRYPT 2u       // decrypt here; without it, write encryption key ‖ IV to keys_out instead
#define OPEN_ERR_ARGS (-1)
#define OPEN_ERR_PADDING (-2)
#define OPEN_ERR_MAC (-3)

// Written by JS before rk_open/rk_seal and read back after them.
static struct {
  uint8_t key[32];      // in: seed, chain key or payload key; out: next chain key (OPEN_FLAG_CHAIN, success)
  uint8_t mac[32];      // rk_open in: the expected MAC (macLen bytes); rk_seal out: the full HMAC
  uint8_t keys_out[48]; // rk_open without OPEN_FLAG_DECRYPT, after a verified MAC: encryption key ‖ IV
  uint8_t info[MAX_INFO_BYTES];
  uint8_t data[OPEN_MAX_DATA_BYTES + 16]; // MAC data and ciphertext (open); prefix ‖ plaintext → ct (seal)
} open_io __attribute__((aligned(16)));

// HMAC states of the all-zero 32-byte HKDF salt (public), filled by rk_init.
static uint32_t zero_salt_i[8], zero_salt_o[8];

// Scalar working state; static (not on the shadow stack) so that one wipe covers every secret.
static struct {
  uint32_t m[16];                          // the block being hashed, as words
  uint32_t st[8], ck_i[8], ck_o[8], seed[8], next[8], prk_i[8], prk_o[8];
  uint32_t t1[8], t2[8], t3[8], auth_i[8], auth_o[8], mac[8];
  uint8_t tail[128];                       // the last one or two padded blocks of a message
  uint8_t msg[32 + MAX_INFO_BYTES + 1];    // T(n-1) ‖ info ‖ n
  uint8_t bytes[64];                       // words as bytes: MAC, AES key, IV
} S __attribute__((aligned(16)));

#define ROR32(x, n) __builtin_rotateright32((x), (n))

// The message schedule's small sigmas (FIPS 180-4 §4.1.2, (4.6) and (4.7)) of four words at once.
static inline v128_t ror4(v128_t x, int n) {
  return wasm_v128_or(wasm_u32x4_shr(x, n), wasm_i32x4_shl(x, 32 - n));
}
static inline v128_t sigma0_4(v128_t x) {
  return wasm_v128_xor(wasm_v128_xor(ror4(x, 7), ror4(x, 18)), wasm_u32x4_shr(x, 3));
}
static inline v128_t sigma1_4(v128_t x) {
  return wasm_v128_xor(wasm_v128_xor(ror4(x, 17), ror4(x, 19)), wasm_u32x4_shr(x, 10));
}

// One SHA-256 compression (FIPS 180-4 §6.2.2) of one message: st = st + rounds(st, m). The schedule W_t + K_t is
// computed first, four words at a time (SIMD; W_t+2 needs W_t, so each four takes σ1 in two halves), then the 64
// rounds read it: a steady decrypt, which hashes ~41 blocks, took 21.1 -> 20.0 µs. clang keeps `wk` in locals (the
// function has no stack frame): nothing derived from a key is left in memory, which the kernel tests check (they
// look for the schedule of a MAC's last block); a static array instead took 0.8 µs longer than before.
static NOINLINE void sha256_block(uint32_t st[8], const uint32_t m[16]) {
  uint32_t wk[64] __attribute__((aligned(16)));
  v128_t w0 = wasm_v128_load(m), w1 = wasm_v128_load(m + 4), w2 = wasm_v128_load(m + 8), w3 = wasm_v128_load(m + 12);
  wasm_v128_store(wk, wasm_i32x4_add(w0, wasm_v128_load(SHA256_K)));
  wasm_v128_store(wk + 4, wasm_i32x4_add(w1, wasm_v128_load(SHA256_K + 4)));
  wasm_v128_store(wk + 8, wasm_i32x4_add(w2, wasm_v128_load(SHA256_K + 8)));
  wasm_v128_store(wk + 12, wasm_i32x4_add(w3, wasm_v128_load(SHA256_K + 12)));
#pragma clang loop unroll(full)
  for (int t = 16; t < 64; t += 4) {
    // w0..w3 hold W_t-16 .. W_t-1; W_t = σ1(W_t-2) + W_t-7 + σ0(W_t-15) + W_t-16 (FIPS 180-4 §6.2.2 step 1).
    v128_t x = wasm_i32x4_add(wasm_i32x4_add(w0, sigma0_4(wasm_i32x4_shuffle(w0, w1, 1, 2, 3, 4))),
                              wasm_i32x4_shuffle(w2, w3, 1, 2, 3, 4));
    v128_t lo = wasm_i32x4_add(x, sigma1_4(wasm_i32x4_shuffle(w3, w3, 2, 3, 2, 3)));  // lanes 0, 1: W_t, W_t+1
    v128_t hi = wasm_i32x4_add(x, sigma1_4(wasm_i32x4_shuffle(lo, lo, 0, 1, 0, 1)));  // lanes 2, 3: W_t+2, W_t+3
    w0 = w1;
    w1 = w2;
    w2 = w3;
    w3 = wasm_i32x4_shuffle(lo, hi, 0, 1, 6, 7);
    wasm_v128_store(wk + t, wasm_i32x4_add(w3, wasm_v128_load(SHA256_K + t)));
  }
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  uint32_t bc = b ^ c;
#pragma clang loop unroll(full)
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = h + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + (g ^ (e & (f ^ g))) + wk[t];
    uint32_t ab = a ^ b; // Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)); this a ^ b is the next round's b ^ c
    uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + (b ^ (ab & bc));
    bc = ab;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
  st[4] += e;
  st[5] += f;
  st[6] += g;
  st[7] += h;
}

// Big-endian words <-> bytes, four at a time (n a multiple of 4); the byte swap is one shuffle.
static void words_from_bytes(const uint8_t *p, uint32_t n, uint32_t *w) {
  for (uint32_t i = 0; i < n; i += 4) {
    v128_t x = wasm_v128_load(p + 4 * i);
    wasm_v128_store(w + i, wasm_i8x16_shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  }
}

static void bytes_from_words(const uint32_t *w, uint32_t n, uint8_t *p) {
  for (uint32_t i = 0; i < n; i += 4) {
    v128_t x = wasm_v128_load(w + i);
    wasm_v128_store(p + 4 * i, wasm_i8x16_shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  }
}

static void copy8(uint32_t *dst, const uint32_t *src) {
  for (int i = 0; i < 8; i++) dst[i] = src[i];
}

// The ipad/opad states of HMAC with a 32-byte key (RFC 2104: K ‖ 0^32 XOR 0x36.. / 0x5c..).
static void hmac_key32(const uint32_t key[8], uint32_t istate[8], uint32_t ostate[8]) {
  for (int i = 0; i < 8; i++) S.m[i] = key[i] ^ 0x36363636u;
  for (int i = 8; i < 16; i++) S.m[i] = 0x36363636u;
  copy8(istate, SHA256_H0);
  sha256_block(istate, S.m);
  for (int i = 0; i < 8; i++) S.m[i] = key[i] ^ 0x5c5c5c5cu;
  for (int i = 8; i < 16; i++) S.m[i] = 0x5c5c5c5cu;
  copy8(ostate, SHA256_H0);
  sha256_block(ostate, S.m);
}

// out = compress(state, words ‖ padding) for a 32-byte message after one 64-byte key block: the inner hash of
// an HMAC over 32 bytes, and every outer hash. `out` may equal `state` or `words`.
static void hash_tail32(const uint32_t state[8], const uint32_t words[8], uint32_t out[8]) {
  copy8(S.m, words);
  S.m[8] = 0x80000000u;
  for (int i = 9; i < 15; i++) S.m[i] = 0;
  S.m[15] = (64 + 32) * 8;
  copy8(out, state);
  sha256_block(out, S.m);
}

// HMAC from precomputed key states over p[0, len): out = H(opad-state, H(ipad-state, p)). Loop counts and
// branches depend only on len.
static void hmac_bytes(const uint32_t istate[8], const uint32_t ostate[8], const uint8_t *p, uint32_t len, uint32_t out[8]) {
  copy8(S.st, istate);
  uint32_t full = len / 64;
  for (uint32_t b = 0; b < full; b++) {
    words_from_bytes(p + 64 * b, 16, S.m);
    sha256_block(S.st, S.m);
  }
  uint32_t r = len - 64 * full;
  uint32_t end = r < 56 ? 64 : 128;
  for (uint32_t i = 0; i < r; i++) S.tail[i] = p[64 * full + i];
  S.tail[r] = 0x80;
  for (uint32_t i = r + 1; i < end - 8; i++) S.tail[i] = 0;
  uint64_t bits = ((uint64_t)len + 64) * 8;
  for (int i = 0; i < 8; i++) S.tail[end - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (uint32_t off = 0; off < end; off += 64) {
    words_from_bytes(S.tail + off, 16, S.m);
    sha256_block(S.st, S.m);
  }
  hash_tail32(ostate, S.st, out);
}

// KDF_CK (Double Ratchet §5.2): seed = HMAC(ck, 0x01), next = HMAC(ck, 0x02) under one pair of key states.
static void kdf_ck(const uint32_t ck[8], uint32_t seed[8], uint32_t next[8]) {
  hmac_key32(ck, S.ck_i, S.ck_o);
  for (uint32_t c = 1; c <= 2; c++) {
    S.m[0] = (c << 24) | 0x00800000u; // c ‖ 0x80
    for (int i = 1; i < 15; i++) S.m[i] = 0;
    S.m[15] = (64 + 1) * 8;
    copy8(S.st, S.ck_i);
    sha256_block(S.st, S.m);
    hash_tail32(S.ck_o, S.st, c == 1 ? seed : next);
  }
}

// HKDF-Expand's step n (RFC 5869 §2.3) under the PRK states S.prk_i/S.prk_o: T(n) = HMAC(PRK, T(n - 1) ‖ info ‖ n),
// T(0) empty. S.msg holds T(n - 1) ‖ info (info_len bytes from +32); T(n) goes to `out` and, as bytes, to S.msg.
static void hkdf_expand_step(uint32_t n, uint32_t info_len, uint32_t out[8]) {
  S.msg[32 + info_len] = (uint8_t)n;
  if (n == 1) hmac_bytes(S.prk_i, S.prk_o, S.msg + 32, info_len + 1, out);
  else hmac_bytes(S.prk_i, S.prk_o, S.msg, 32 + info_len + 1, out);
  bytes_from_words(out, 8, S.msg);
}

// HKDF-SHA256(ikm = 32 bytes as words, salt = 32 zero bytes, info[0, info_len), 80 bytes):
// T(1) → S.t1 (encryption key), T(2) → S.t2 (authentication key), T(3) → S.t3 (IV in its first 4 words).
static void hkdf80(const uint32_t ikm[8], const uint8_t *info, uint32_t info_len) {
  hash_tail32(zero_salt_i, ikm, S.st);
  hash_tail32(zero_salt_o, S.st, S.st); // PRK
  hmac_key32(S.st, S.prk_i, S.prk_o);
  for (uint32_t i = 0; i < info_len; i++) S.msg[32 + i] = info[i];
  hkdf_expand_step(1, info_len, S.t1);
  hkdf_expand_step(2, info_len, S.t2);
  hkdf_expand_step(3, info_len, S.t3);
}

// AES-256 round keys of the encryption key T(1) into W.rk; the IV (first 16 bytes of T(3)) as a vector.
static v128_t aes_from_keys(void) {
  bytes_from_words(S.t1, 8, S.bytes);
  bytes_from_words(S.t3, 4, S.bytes + 32);
  const uint8_t *key[4] = {S.bytes, S.bytes, S.bytes, S.bytes};
  aes256_expand(key, 1, W.rk);
  return wasm_v128_load(S.bytes + 32);
}

// Verifies HMAC(auth, data[0, mac_data_len)) truncated to mac_len against open_io.mac in constant time, then
// (OPEN_FLAG_DECRYPT) decrypts data[ct_off, ct_off + ct_len) in place and checks its PKCS#7 padding, or writes
// encryption key ‖ IV to keys_out for the caller's AES. With OPEN_FLAG_CHAIN the key slot holds a chain key
// and receives the next chain key on success. Returns the plaintext length (0 without OPEN_FLAG_DECRYPT), or
// OPEN_ERR_MAC / OPEN_ERR_PADDING (nothing released: key slot and plaintext wiped), or OPEN_ERR_ARGS (nothing
// done) when an argument is out of range: ct_len must be a positive multiple of 16.
EXPORT("rk_open") int32_t rk_open(uint32_t flags, uint32_t info_len, uint32_t mac_data_len, uint32_t ct_off,
                                  uint32_t ct_len, uint32_t mac_len) {
  if (flags > (OPEN_FLAG_CHAIN | OPEN_FLAG_DECRYPT) || info_len > MAX_INFO_BYTES || mac_data_len > OPEN_MAX_DATA_BYTES ||
      ct_off > OPEN_MAX_DATA_BYTES || ct_len > OPEN_MAX_DATA_BYTES - ct_off || ct_len == 0 || (ct_len & 15) != 0 ||
      mac_len == 0 || mac_len > 32)
    return OPEN_ERR_ARGS;
  words_from_bytes(open_io.key, 8, S.seed);
  if (flags & OPEN_FLAG_CHAIN) kdf_ck(S.seed, S.seed, S.next);
  hkdf80(S.seed, open_io.info, info_len);
  hmac_key32(S.t2, S.auth_i, S.auth_o);
  hmac_bytes(S.auth_i, S.auth_o, open_io.data, mac_data_len, S.mac);
  bytes_from_words(S.mac, 8, S.bytes);
  uint32_t diff = 0;
  for (uint32_t i = 0; i < mac_len; i++) diff |= (uint32_t)(S.bytes[i] ^ open_io.mac[i]);
  __asm__("" : "+r"(diff)); // keep the loop whole: no early exit on the first differing byte
  int32_t result = 0;
  if (diff != 0) {
    result = OPEN_ERR_MAC;
  } else if (flags & OPEN_FLAG_DECRYPT) {
    cbc_decrypt_blocks(W.rk, aes_from_keys(), open_io.data + ct_off, ct_len / 16);
    int32_t p = pkcs7_check(open_io.data + ct_off, ct_len);
    if (p < 0) {
      wipe(open_io.data + ct_off, ct_len);
      result = OPEN_ERR_PADDING;
    } else {
      result = (int32_t)ct_len - p;
    }
  } else {
    bytes_from_words(S.t1, 8, open_io.keys_out);
    bytes_from_words(S.t3, 4, open_io.keys_out + 32);
  }
  if (result >= 0 && (flags & OPEN_FLAG_CHAIN)) {
    bytes_from_words(S.next, 8, open_io.key);
  } else {
    wipe(open_io.key, sizeof open_io.key);
  }
  wipe(&S, sizeof S);
  wipe(W.rk, sizeof W.rk);
  return result;
}

// Encrypts data[prefix_len, prefix_len + pt_len) in place (PKCS#7: ct_len = (pt_len / 16 + 1) * 16 bytes) under
// the keys HKDF derives from the key slot and open_io.info, and writes HMAC(auth, data[0, prefix_len + ct_len))
// (all 32 bytes) to open_io.mac. Returns ct_len, or OPEN_ERR_ARGS (nothing done). The key slot is wiped.
EXPORT("rk_seal") int32_t rk_seal(uint32_t info_len, uint32_t prefix_len, uint32_t pt_len) {
  if (info_len > MAX_INFO_BYTES || prefix_len > OPEN_MAX_DATA_BYTES || pt_len > OPEN_MAX_DATA_BYTES - prefix_len)
    return OPEN_ERR_ARGS;
  words_from_bytes(open_io.key, 8, S.seed);
  hkdf80(S.seed, open_io.info, info_len);
  uint8_t *pt = open_io.data + prefix_len;
  uint32_t ct_len = pkcs7_pad(pt, pt_len);
  W.iv[0] = aes_from_keys();
  const uint8_t *in[4] = {pt, pt, pt, pt};
  uint8_t *out[4] = {pt, pt, pt, pt};
  cbc_encrypt(W.rk, W.iv, in, out, 1, ct_len / 16);
  hmac_key32(S.t2, S.auth_i, S.auth_o);
  hmac_bytes(S.auth_i, S.auth_o, open_io.data, prefix_len + ct_len, S.mac);
  bytes_from_words(S.mac, 8, open_io.mac);
  wipe(open_io.key, sizeof open_io.key);
  wipe(&S, sizeof S);
  wipe(W.rk, sizeof W.rk);
  wipe(W.iv, sizeof W.iv);
  return (int32_t)ct_len;
}

// One lane of rk_send_batch (ratchet-kernel.c) on the scalar SHA-256, for a batch whose last group has a single
// lane: next chain key over the chain key in lane_keys, the ciphertext after the lane's AD ‖ header, the full
// HMAC in lane_macs, exactly as send_group computes them. W.padded_plaintext holds the padded shared plaintext.
static void send_one(uint32_t lane, uint32_t stride, uint32_t ct_len, uint32_t info_len) {
  uint8_t *key = lane_keys + 32 * lane;
  uint8_t *d = lane_data + (size_t)stride * lane;
  uint32_t prefix = lane_lengths[2 * lane] + lane_lengths[2 * lane + 1];
  words_from_bytes(key, 8, S.seed);
  kdf_ck(S.seed, S.seed, S.next);
  bytes_from_words(S.next, 8, key);
  hkdf80(S.seed, shared_info, info_len);
  W.iv[0] = aes_from_keys();
  const uint8_t *in[4] = {W.padded_plaintext, W.padded_plaintext, W.padded_plaintext, W.padded_plaintext};
  uint8_t *out[4] = {d + prefix, d + prefix, d + prefix, d + prefix};
  cbc_encrypt(W.rk, W.iv, in, out, 1, ct_len / 16);
  hmac_key32(S.t2, S.auth_i, S.auth_o);
  hmac_bytes(S.auth_i, S.auth_o, d, prefix + ct_len, S.mac);
  bytes_from_words(S.mac, 8, lane_macs + 32 * lane);
  wipe(&S, sizeof S);
}

// HKDF-SHA256 (RFC 5869 §2.2-2.3): salt = open_io.key (salt_len 32) or 32 zero bytes (salt_len 0), ikm =
// open_io.data[0, ikm_len), info = open_io.info[0, info_len); the out_len bytes of output overwrite open_io.data
// from 0 (the caller reads and wipes them). Returns 0, or OPEN_ERR_ARGS (nothing done) for arguments out of range.
EXPORT("rk_hkdf") int32_t rk_hkdf(uint32_t salt_len, uint32_t ikm_len, uint32_t info_len, uint32_t out_len) {
  if ((salt_len != 0 && salt_len != 32) || ikm_len > OPEN_MAX_DATA_BYTES || info_len > MAX_INFO_BYTES || out_len == 0 ||
      out_len > 255 * 32)
    return OPEN_ERR_ARGS;
  // Extract: PRK = HMAC(salt, ikm), into S.mac.
  if (salt_len == 32) {
    words_from_bytes(open_io.key, 8, S.seed);
    hmac_key32(S.seed, S.auth_i, S.auth_o);
    hmac_bytes(S.auth_i, S.auth_o, open_io.data, ikm_len, S.mac);
  } else {
    hmac_bytes(zero_salt_i, zero_salt_o, open_io.data, ikm_len, S.mac);
  }
  hmac_key32(S.mac, S.prk_i, S.prk_o);
  for (uint32_t i = 0; i < info_len; i++) S.msg[32 + i] = open_io.info[i];
  uint32_t done = 0;
  for (uint32_t n = 1; done < out_len; n++) {
    hkdf_expand_step(n, info_len, S.t1);
    for (uint32_t i = 0; i < 32 && done < out_len; i++) open_io.data[done++] = S.msg[i];
  }
  wipe(&S, sizeof S);
  return 0;
}

// The HMAC states of the all-zero HKDF salt (public constants); called by rk_init.
static void open_init(void) {
  static const uint32_t zero[8] = {0};
  hmac_key32(zero, zero_salt_i, zero_salt_o);
  wipe(&S, sizeof S);
}
