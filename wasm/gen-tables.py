#!/usr/bin/python3
# Generates wasm/src/tables.h: the SHA-256 constants (FIPS 180-4 §4.2.2 K, §5.3.3 H(0)) and the 4-bit lookup
# tables of the AES S-box and its inverse (FIPS-197 §5.1.1, §5.3.2) in a tower field GF((2^4)^2), each computed
# from its mathematical definition rather than typed in; the generator checks the tables against the S-box for
# all 256 bytes, simulating the kernel's sub_bytes step for step.
# Usage: /usr/bin/python3 wasm/gen-tables.py [--check]   (--check: exit 1 if the committed header differs)
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / 'src' / 'tables.h'


def primes(n):
    found = []
    k = 2
    while len(found) < n:
        if all(k % p for p in found):
            found.append(k)
        k += 1
    return found


def iroot(x, k):
    """floor(x ** (1/k)) for integers, exactly."""
    lo, hi = 0, 1
    while hi ** k <= x:
        hi *= 2
    while lo < hi - 1:
        mid = (lo + hi) // 2
        if mid ** k <= x:
            lo = mid
        else:
            hi = mid
    return lo


def gf_mul(a, b):
    """Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS-197 §4.2)."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return r


def gf_inv(x):
    r = 1
    for _ in range(254):  # x^254 = x^-1 for x != 0; 0 maps to 0
        r = gf_mul(r, x)
    return r if x else 0


def rotl8(b, n):
    return ((b << n) | (b >> (8 - n))) & 0xFF


def affine_linear(b):
    """The linear part of the S-box's affine map (FIPS-197 §5.1.1), without the constant 0x63."""
    return b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4)


def gf16_mul(a, b):
    """Multiplication in GF(2^4) modulo z^4 + z + 1."""
    r = 0
    for i in range(4):
        if b >> i & 1:
            r ^= a << i
    for i in (6, 5, 4):
        if r >> i & 1:
            r ^= 0x13 << (i - 4)
    return r


def gf16_inv(a):
    return next(b for b in range(1, 16) if gf16_mul(a, b) == 1) if a else 0


# An index >= 16 makes i8x16.swizzle return 0: the tables use it for 1/0 ("infinity"), so that every lookup
# indexed by a value derived from it contributes nothing.
INFINITY = 0x80


def tower_tables(sbox):
    """
    The S-box as 4-bit lookups (i8x16.swizzle) in GF(256) = GF(16)[t] / (t^2 + t + c), GF(16) = GF(2)[z] /
    (z^4 + z + 1). A byte x is written x = i·t + k·t' with t' = t + 1 (so t·t' = c, t + t' = 1); its norm is
    N = c(i^2 + k^2) + ik and 1/x = (k·t + i·t') / N. With I = i + k, K = k/c, J = I + K and a = 1/c:
      io = J + 1/(1/I + a/K) = N / (c·i),   jo = I + 1/(1/J + a/K) = N / (c·i + k),
    so 1/x has coordinates (1/io + 1/jo, 1/(c·io)): the output is F[io] ^ G[jo] (the zero cases work out
    through INFINITY; checked below for all 256 bytes). The idea of inverting with such 4-bit lookups, and of an
    out-of-range index for 1/0, is M. Hamburg's ("Accelerating AES with Vector Permute Instructions", CHES 2009);
    the representation, the formulas' derivation above and the tables are this file's own. Returns the forward and inverse tables: rows TI_lo, TI_hi,
    TK_lo, TK_hi (I and K from the low and high nibble of the input), INV (1/x), AK (a/x), F, G, and the constant
    XORed at the end.
    """
    def pow8(x, e):
        r = 1
        for _ in range(e):
            r = gf_mul(r, x)
        return r
    c = next(c for c in range(1, 16) if all(gf16_mul(t, t) ^ t ^ c for t in range(16)))  # t^2 + t + c irreducible
    zeta = next(z for z in range(2, 256) if pow8(z, 4) ^ z ^ 1 == 0)  # image of z in the AES field

    def embed(a):
        r = 0
        for i in range(4):
            if a >> i & 1:
                r ^= pow8(zeta, i)
        return r
    tau = next(t for t in range(256) if gf_mul(t, t) ^ t ^ embed(c) == 0)  # image of t

    def from_coords(i, k):  # x = i·t + k·t' = (i + k)·t + k, as an AES byte
        return gf_mul(embed(i ^ k), tau) ^ embed(k)
    coords = {from_coords(i, k): (i, k) for i in range(16) for k in range(16)}
    assert len(coords) == 256
    a = gf16_inv(c)

    def ik(x):
        i, k = coords[x]
        return i ^ k, gf16_mul(k, a)
    inv = [INFINITY] + [gf16_inv(v) for v in range(1, 16)]
    ak = [INFINITY] + [gf16_mul(a, gf16_inv(v)) for v in range(1, 16)]

    def out_tables(linear):
        # 1/x = (u + v)·t + w·t' with u = 1/io, w = a/io, v = 1/jo: F[io] = u·t + w·t', G[jo] = v·t.
        f = [linear(from_coords(gf16_inv(n), gf16_mul(gf16_inv(n), a))) for n in range(16)]
        g = [linear(from_coords(gf16_inv(n), 0)) for n in range(16)]
        return f, g

    inv_affine = [0] * 256
    for b in range(256):
        inv_affine[affine_linear(b)] = b

    def in_tables(pre):
        ti_lo = [ik(pre(n))[0] for n in range(16)]
        ti_hi = [ik(pre(n << 4))[0] for n in range(16)]
        tk_lo = [ik(pre(n))[1] for n in range(16)]
        tk_hi = [ik(pre(n << 4))[1] for n in range(16)]
        return ti_lo, ti_hi, tk_lo, tk_hi
    fwd = [*in_tables(lambda b: b), inv, ak, *out_tables(affine_linear), [0x63] * 16]
    # Inverse S-box: 1/(A^-1(x ^ 0x63)); the constant A^-1(0x63) goes into the low-nibble tables (always in range).
    c_i, c_k = ik(inv_affine[0x63])
    ti_lo, ti_hi, tk_lo, tk_hi = in_tables(lambda b: inv_affine[b])
    ti_lo = [v ^ c_i for v in ti_lo]
    tk_lo = [v ^ c_k for v in tk_lo]
    bwd = [ti_lo, ti_hi, tk_lo, tk_hi, inv, ak, *out_tables(lambda b: b), [0] * 16]

    def sub_bytes(t, x):  # the kernel's sub_bytes, one byte
        def swz(row, idx):
            return t[row][idx] if idx < 16 else 0
        lo, hi = x & 15, x >> 4
        i = swz(0, lo) ^ swz(1, hi)
        k = swz(2, lo) ^ swz(3, hi)
        j = i ^ k
        a_k = swz(5, k)
        io = j ^ swz(4, swz(4, i) ^ a_k)
        jo = i ^ swz(4, swz(4, j) ^ a_k)
        return swz(6, io) ^ swz(7, jo) ^ t[8][0]
    inv_sbox = [0] * 256
    for x, v in enumerate(sbox):
        inv_sbox[v] = x
    for x in range(256):
        assert sub_bytes(fwd, x) == sbox[x], f'forward S-box differs at {x}'
        assert sub_bytes(bwd, x) == inv_sbox[x], f'inverse S-box differs at {x}'
    return fwd, bwd


def render():
    p = primes(64)
    # First 32 bits of the fractional parts of the cube roots of the first 64 primes: floor(cbrt(p) * 2^32) mod 2^32.
    k = [iroot(q << 96, 3) & 0xFFFFFFFF for q in p]
    # First 32 bits of the fractional parts of the square roots of the first 8 primes.
    h0 = [iroot(q << 64, 2) & 0xFFFFFFFF for q in p[:8]]
    sbox = [affine_linear(gf_inv(x)) ^ 0x63 for x in range(256)]
    fwd, bwd = tower_tables(sbox)

    def words(values):
        return '\n'.join('  ' + ', '.join(f'0x{v:08x}u' for v in values[i:i + 8]) + ',' for i in range(0, len(values), 8))

    def bytes_(values):
        return '\n'.join('  ' + ', '.join(f'0x{v:02x}' for v in values[i:i + 16]) + ',' for i in range(0, len(values), 16))

    return f"""// Generated by wasm/gen-tables.py from the definitions in FIPS 180-4 §4.2.2/§5.3.3 and FIPS-197 §5.1.1/§5.3.2.
// Do not edit: run /usr/bin/python3 wasm/gen-tables.py.
#ifndef RATCHET_KERNEL_TABLES_H
#define RATCHET_KERNEL_TABLES_H
#include <stdint.h>

// SHA-256 round constants K0..K63.
static const uint32_t SHA256_K[64] = {{
{words(k)}
}};

// SHA-256 initial hash value H(0).
static const uint32_t SHA256_H0[8] = {{
{words(h0)}
}};

// AES S-box as 4-bit lookups in GF((2^4)^2) (see gen-tables.py tower_tables): rows TI_lo, TI_hi, TK_lo, TK_hi,
// INV, AK, F, G, and the constant XORed at the end; 16-byte aligned, one v128 per row.
static const uint8_t AES_SUB_TABLES[9 * 16] __attribute__((aligned(16))) = {{
{bytes_([v for row in fwd for v in row])}
}};

// The inverse S-box, same layout.
static const uint8_t AES_INV_SUB_TABLES[9 * 16] __attribute__((aligned(16))) = {{
{bytes_([v for row in bwd for v in row])}
}};

#endif
"""


def main():
    text = render()
    if '--check' in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f'{OUT} is out of date: run /usr/bin/python3 wasm/gen-tables.py', file=sys.stderr)
            return 1
        print('tables.h is up to date')
        return 0
    OUT.write_text(text)
    print(f'wrote {OUT}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
