#!/usr/bin/python3
# Generates xeddsa.json: Curve25519/Ed25519 identity data, legacy (sign-bit-stuffed) Ed25519 signatures,
# XEdDSA signatures with fixed nonces, Montgomery->Edwards conversions and negative cases, made with
# Debian's python3-xeddsa (bindings to libxeddsa). Every input is derived from fixed strings, so the
# output is reproducible byte for byte:
#
#     /usr/bin/python3 test/vectors/gen-xeddsa.py      # rewrites test/vectors/xeddsa.json
#     /usr/bin/python3 test/vectors/check-vectors.py   # re-checks it with OpenSSL + pure Python
#
# Functions of python3-xeddsa used (its whole API): seed_to_ed25519_pub, seed_to_priv,
# priv_to_curve25519_pub, curve25519_pub_to_ed25519_pub, ed25519_pub_to_curve25519_pub, ed25519_seed_sign,
# ed25519_priv_sign (takes an explicit 64-byte nonce), priv_force_sign, ed25519_verify, x25519.
# python3-xeddsa has no single "xeddsa_sign": XEdDSA proper = ed25519_priv_sign(priv_force_sign(k, False), M, Z).
#
# Note on byte-exactness: the Signal XEdDSA spec (rev. 1, section 2.3) sets a = k (mod q) or -k (mod q) and
# hashes a into the nonce r = hash1(a || M || Z). libxeddsa (like libsignal's C code) leaves k unreduced when
# the Edwards sign bit is already 0, so for those keys its r (hence R and s) differs from the spec's while
# still being a valid signature. Each XEdDSA entry therefore also carries `specSignature`, computed below by
# a pure-Python transcription of the spec; `libxeddsaMatchesSpec` says whether the two coincide.
import hashlib
import json
import os

import xeddsa

HERE = os.path.dirname(os.path.abspath(__file__))

# ------------------------------------------------------------------ pure-Python Ed25519 arithmetic (RFC 8032 5.1)
p = 2**255 - 19
q = 2**252 + 27742317777372353535851937790883648493
d = -121665 * pow(121666, p - 2, p) % p


def inv(x: int) -> int:
    return pow(x, p - 2, p)


def pt_add(P, Q):
    x1, y1, z1, t1 = P
    x2, y2, z2, t2 = Q
    A = (y1 - x1) * (y2 - x2) % p
    B = (y1 + x1) * (y2 + x2) % p
    C = t1 * 2 * d * t2 % p
    D = z1 * 2 * z2 % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % p, G * H % p, F * G % p, E * H % p)


def pt_mul(s: int, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = pt_add(Q, P)
        P = pt_add(P, P)
        s >>= 1
    return Q


_gy = 4 * inv(5) % p
_gx2 = (_gy * _gy - 1) * inv(d * _gy * _gy + 1) % p
_gx = pow(_gx2, (p + 3) // 8, p)
if (_gx * _gx - _gx2) % p:
    _gx = _gx * pow(2, (p - 1) // 4, p) % p
if _gx & 1:
    _gx = p - _gx
BASE = (_gx, _gy, 1, _gx * _gy % p)


def pt_enc(P) -> bytes:
    x, y, z, _ = P
    zi = inv(z)
    x, y = x * zi % p, y * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def sha512_int(b: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b).digest(), "little")


HASH1_PREFIX = bytes([0xFE]) + b"\xff" * 31  # little-endian 2^256 - 1 - 1


def xeddsa_sign_spec(k: bytes, msg: bytes, z: bytes) -> bytes:
    """XEdDSA sign exactly as in the Signal spec, sections 2.3 (calculate_key_pair) and 3.3 (xeddsa_sign)."""
    k_int = int.from_bytes(k, "little")
    E = pt_enc(pt_mul(k_int, BASE))
    A = bytearray(E)
    A[31] &= 0x7F
    a = (-k_int) % q if E[31] >> 7 else k_int % q
    r = sha512_int(HASH1_PREFIX + a.to_bytes(32, "little") + msg + z) % q
    R = pt_enc(pt_mul(r, BASE))
    h = sha512_int(R + bytes(A) + msg) % q
    s = (r + h * a) % q
    return R + s.to_bytes(32, "little")


# ------------------------------------------------------------------ helpers
def H(label: str) -> bytes:
    return hashlib.sha256(b"omemo-wasm test vectors: " + label.encode()).digest()


def clamp(k: bytes) -> bytes:
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return bytes(b)


def stuff(sig: bytes, ed_pub: bytes) -> bytes:
    s = bytearray(sig)
    s[63] |= ed_pub[31] & 0x80
    return bytes(s)


def omemo_verify(curve_pub: bytes, msg: bytes, sig: bytes) -> bool:
    """python3-xeddsa doing what our xeddsaVerify does: sign bit from sig[63] bit 7, convert, Ed25519-verify."""
    sign = bool(sig[63] & 0x80)
    s = bytearray(sig)
    s[63] &= 0x7F
    return xeddsa.ed25519_verify(bytes(s), xeddsa.curve25519_pub_to_ed25519_pub(curve_pub, sign), msg)


def main() -> None:
    # ------------------------------------------------------------ (a) identities
    seeds = [("31x02+00", bytes([0x02] * 31 + [0x00])), ("31xe8+03", bytes([0xE8] * 31 + [0x03]))]
    n = 0
    while sum(1 for _, s in seeds if xeddsa.seed_to_ed25519_pub(s)[31] >> 7) < 5 or \
            sum(1 for _, s in seeds if not xeddsa.seed_to_ed25519_pub(s)[31] >> 7) < 5:
        s = H(f"identity {n}")
        bit = xeddsa.seed_to_ed25519_pub(s)[31] >> 7
        have = sum(1 for _, t in seeds if xeddsa.seed_to_ed25519_pub(t)[31] >> 7 == bit)
        if have < 5:
            seeds.append((f"sha256(identity {n})", s))
        n += 1

    identities = []
    for name, seed in seeds:
        ed_pub = xeddsa.seed_to_ed25519_pub(seed)
        priv = xeddsa.seed_to_priv(seed)
        cur_pub = xeddsa.priv_to_curve25519_pub(priv)
        assert xeddsa.ed25519_pub_to_curve25519_pub(ed_pub) == cur_pub
        assert xeddsa.curve25519_pub_to_ed25519_pub(cur_pub, bool(ed_pub[31] >> 7)) == ed_pub
        xed_pub = xeddsa.curve25519_pub_to_ed25519_pub(cur_pub, False)
        identities.append({
            "name": name,
            "seed": seed.hex(),
            "ed25519Public": ed_pub.hex(),
            "signBit": ed_pub[31] >> 7,
            "curve25519Private": priv.hex(),
            "curve25519Public": cur_pub.hex(),
            "xeddsaEd25519Public": xed_pub.hex(),
            "curve25519PrivateForcedSign0": xeddsa.priv_force_sign(priv, False).hex(),
        })
    assert sum(i["signBit"] for i in identities) >= 3 and sum(1 - i["signBit"] for i in identities) >= 3
    assert identities[0]["signBit"] == 1 and identities[1]["signBit"] == 0

    # ------------------------------------------------------------ (b) legacy signatures
    legacy = []
    for idx, (ident, (_, seed)) in enumerate(zip(identities, seeds)):
        spk_pub = xeddsa.priv_to_curve25519_pub(clamp(H(f"signed pre key {idx}")))
        msg = b"\x05" + spk_pub
        ed_pub = bytes.fromhex(ident["ed25519Public"])
        natural = xeddsa.ed25519_seed_sign(seed, msg)
        assert xeddsa.ed25519_verify(natural, ed_pub, msg)
        sig = stuff(natural, ed_pub)
        assert omemo_verify(bytes.fromhex(ident["curve25519Public"]), msg, sig)
        legacy.append({
            "name": f"python-omemo form, identity {idx} ({ident['name']}, sign bit {ident['signBit']})",
            "form": "ed25519_seed_sign(seed, 0x05||spk) with sig[63] |= ed_pub[31] & 0x80",
            "identity": idx,
            "curve25519Public": ident["curve25519Public"],
            "message": msg.hex(),
            "unstuffedSignature": natural.hex(),
            "signature": sig.hex(),
            "valid": True,
        })
        # libsignal's historical curve25519 signatures: natural key from the Curve25519 scalar, random nonce.
        priv = bytes.fromhex(ident["curve25519Private"])
        nonce = hashlib.sha512(b"omemo-wasm legacy nonce " + bytes([idx])).digest()
        natural2 = xeddsa.ed25519_priv_sign(priv, msg, nonce)
        assert xeddsa.ed25519_verify(natural2, ed_pub, msg)
        sig2 = stuff(natural2, ed_pub)
        assert omemo_verify(bytes.fromhex(ident["curve25519Public"]), msg, sig2)
        legacy.append({
            "name": f"libsignal curve_sigs form, identity {idx} ({ident['name']}, sign bit {ident['signBit']})",
            "form": "ed25519_priv_sign(curve25519Private, 0x05||spk, nonce) (natural Edwards key, not forced) "
                    "with sig[63] |= ed_pub[31] & 0x80",
            "identity": idx,
            "curve25519Public": ident["curve25519Public"],
            "message": msg.hex(),
            "nonce": nonce.hex(),
            "unstuffedSignature": natural2.hex(),
            "signature": sig2.hex(),
            "valid": True,
        })

    # ------------------------------------------------------------ (c) XEdDSA proper with fixed nonces
    messages = [
        ("empty", b""),
        ("one byte 00", b"\x00"),
        ("0x05||32-byte key", b"\x05" + xeddsa.priv_to_curve25519_pub(clamp(H("message key")))),
        ("utf-8", "XEdDSA \u00fcber OMEMO \U0001f510".encode()),
        ("256 bytes 00..ff", bytes(range(256))),
    ]
    long_msg = ("1023 bytes", b"".join(H(f"long {i}") for i in range(32))[:1023])
    xsigs = []
    for idx, ident in enumerate(identities):
        msgs = messages + ([long_msg] if idx < 2 else [])
        priv = bytes.fromhex(ident["curve25519Private"])
        cur_pub = bytes.fromhex(ident["curve25519Public"])
        xed_pub = bytes.fromhex(ident["xeddsaEd25519Public"])
        forced = xeddsa.priv_force_sign(priv, False)
        for mname, msg in msgs:
            z = hashlib.sha512(f"omemo-wasm xeddsa nonce {idx} {mname}".encode()).digest()
            sig = xeddsa.ed25519_priv_sign(forced, msg, z)
            spec = xeddsa_sign_spec(priv, msg, z)
            for s in (sig, spec):
                assert s[63] & 0x80 == 0
                assert xeddsa.ed25519_verify(s, xed_pub, msg)
                assert omemo_verify(cur_pub, msg, s)
            xsigs.append({
                "name": f"identity {idx} (sign bit {ident['signBit']}), message {mname}",
                "identity": idx,
                "curve25519Private": priv.hex(),
                "curve25519Public": cur_pub.hex(),
                "message": msg.hex(),
                "nonce": z.hex(),
                "signature": sig.hex(),
                "specSignature": spec.hex(),
                "libxeddsaMatchesSpec": sig == spec,
                "valid": True,
            })

    # ------------------------------------------------------------ (d) Montgomery -> Edwards
    m2e = []
    specials = [
        ("u = 9 (base point; Edwards y = 4/5)", (9).to_bytes(32, "little")),
        ("u = 0 (y = -1)", bytes(32)),
        ("u = 1 (y = 0)", (1).to_bytes(32, "little")),
        ("u = p - 2 (y = 3)", (p - 2).to_bytes(32, "little")),
        ("u = 9 with bit 255 set (masked, RFC 7748 section 5)", bytes([9] + [0] * 30 + [0x80])),
    ]
    for idx, ident in enumerate(identities):
        specials.append((f"identity {idx}", bytes.fromhex(ident["curve25519Public"])))
    for name, u in specials:
        for bit in (0, 1):
            m2e.append({
                "name": f"{name}, sign bit {bit}",
                "curve25519Public": u.hex(),
                "signBit": bit,
                "ed25519Public": xeddsa.curve25519_pub_to_ed25519_pub(u, bool(bit)).hex(),
            })

    # ------------------------------------------------------------ (e) negative cases
    neg = []
    for idx, (ident, (_, seed)) in enumerate(zip(identities, seeds)):
        cur_pub = bytes.fromhex(ident["curve25519Public"])
        ed_pub = bytes.fromhex(ident["ed25519Public"])
        msg = bytes.fromhex(legacy[2 * idx]["message"])
        natural = xeddsa.ed25519_seed_sign(seed, msg)
        if ident["signBit"] == 1:
            neg.append({"name": f"identity {idx}: natural Ed25519 signature of a sign-bit-1 key WITHOUT the stuffed bit",
                        "curve25519Public": cur_pub.hex(), "message": msg.hex(), "signature": natural.hex(), "valid": False})
        else:
            s = bytearray(natural)
            s[63] |= 0x80
            neg.append({"name": f"identity {idx}: signature of a sign-bit-0 key with bit 7 of sig[63] wrongly set",
                        "curve25519Public": cur_pub.hex(), "message": msg.hex(), "signature": bytes(s).hex(), "valid": False})
        stuffed = stuff(natural, ed_pub)
        neg.append({"name": f"identity {idx}: valid legacy signature, last message byte changed",
                    "curve25519Public": cur_pub.hex(), "message": (msg[:-1] + bytes([msg[-1] ^ 1])).hex(),
                    "signature": stuffed.hex(), "valid": False})
        other = identities[(idx + 1) % len(identities)]
        neg.append({"name": f"identity {idx}: valid legacy signature checked against identity {(idx + 1) % len(identities)}'s key",
                    "curve25519Public": other["curve25519Public"], "message": msg.hex(),
                    "signature": stuffed.hex(), "valid": False})
        # S + q: same group equation, non-canonical scalar (rejected by libsodium/OpenSSL/libxeddsa)
        S = int.from_bytes(stuffed[32:], "little") & ((1 << 255) - 1)
        mal = bytearray(stuffed[:32] + (S + q).to_bytes(32, "little"))
        mal[63] |= ed_pub[31] & 0x80
        neg.append({"name": f"identity {idx}: legacy signature with S replaced by S + q (non-canonical)",
                    "curve25519Public": cur_pub.hex(), "message": msg.hex(), "signature": bytes(mal).hex(), "valid": False})
    for c in xsigs[:12]:
        s = bytearray(bytes.fromhex(c["signature"]))
        s[63] |= 0x80
        neg.append({"name": f"XEdDSA signature ({c['name']}) with bit 7 of sig[63] set",
                    "curve25519Public": c["curve25519Public"], "message": c["message"], "signature": bytes(s).hex(), "valid": False})
    for c in neg:
        got = omemo_verify(bytes.fromhex(c["curve25519Public"]), bytes.fromhex(c["message"]), bytes.fromhex(c["signature"]))
        assert got is False, c["name"]

    out = {
        "source": "Generated by test/vectors/gen-xeddsa.py with Debian's python3-xeddsa "
                  f"{xeddsa.__version__['full']} (bindings to libxeddsa 2.0.0, Debian package libxeddsa2 "
                  "2.0.0+20221109.06a02c8-2) from fixed seeds and nonces; specSignature values by the script's "
                  "pure-Python transcription of Signal's 'The XEdDSA and VXEdDSA Signature Schemes' rev. 1 "
                  "(sections 2.3, 3.3). Re-checked with python3-cryptography (OpenSSL Ed25519/X25519) and "
                  "pure-Python field arithmetic in check-vectors.py.",
        "notes": [
            "identities: seed -> ed25519Public (RFC 8032), signBit = bit 7 of ed25519Public[31]; curve25519Private = "
            "clamped SHA-512(seed)[0:32] (libsodium crypto_sign_ed25519_sk_to_curve25519); curve25519Public = its X25519 "
            "public key; xeddsaEd25519Public = Montgomery->Edwards with sign bit 0.",
            "legacySignatures: Ed25519 signatures by the NATURAL Edwards key with that key's sign bit stored in bit 7 of "
            "sig[63]; verify by taking that bit as the sign bit, clearing it and verifying as Ed25519.",
            "xeddsaSignatures: XEdDSA proper, ed25519_priv_sign(priv_force_sign(k, False), message, nonce); nonce is "
            "the 64-byte Z. specSignature: same inputs, Signal spec with a = +-k mod q (see script header).",
            "montgomeryToEdwards: y = (u - 1)/(u + 1) mod p with bit 255 of u masked, sign bit in bit 7 of byte 31.",
            "negative: each must be rejected.",
        ],
        "identities": identities,
        "legacySignatures": legacy,
        "xeddsaSignatures": xsigs,
        "montgomeryToEdwards": m2e,
        "negative": neg,
    }
    with open(os.path.join(HERE, "xeddsa.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"{len(identities)} identities, {len(legacy)} legacy, {len(xsigs)} xeddsa "
          f"({sum(c['libxeddsaMatchesSpec'] for c in xsigs)} byte-identical to spec), {len(m2e)} conversions, {len(neg)} negative")


if __name__ == "__main__":
    main()
