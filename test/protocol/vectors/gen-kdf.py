#!/usr/bin/python3
# Generates kdf.json: known-answer vectors for the key derivations of OMEMO 0.3 and OMEMO 2 (root chain KDF,
# message chain KDF, message key expansion, X3DH shared secret). Every value is computed twice and the script
# aborts unless both agree:
#   1. by the KDF classes of Debian's python3-oldmemo / python3-twomemo (RootChainKDFImpl, MessageChainKDFImpl,
#      AEADImpl's private __derive) and python3-x3dh's CryptoProviderImpl.hkdf_derive (OpenSSL underneath);
#   2. by a transcription of the documented KDFs with Python's hmac/hashlib only (RFC 5869 HKDF).
# X25519 outputs come from python3-xeddsa's x25519 (libxeddsa) and are re-checked with python3-cryptography.
# Inputs are SHA-256 hashes of fixed labels, so the file is reproducible byte for byte:
#
#     /usr/bin/python3 test/protocol/vectors/gen-kdf.py     # rewrites test/protocol/vectors/kdf.json
import asyncio
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives import serialization
from doubleratchet.recommended import HashFunction
from x3dh.crypto_provider_cryptography import CryptoProviderImpl as X3dhCrypto
import x3dh
import xeddsa

import oldmemo.oldmemo as old_mod
import twomemo.twomemo as two_mod

HERE = os.path.dirname(os.path.abspath(__file__))
MODS = {"oldmemo": old_mod, "twomemo": two_mod}
INFO = {
    "oldmemo": {"x3dh": b"WhisperText", "root": b"WhisperRatchet", "message": b"WhisperMessageKeys"},
    "twomemo": {"x3dh": b"OMEMO X3DH", "root": b"OMEMO Root Chain", "message": b"OMEMO Message Key Material"},
}


def label(text: str, n: int = 32) -> bytes:
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"omemo-wasm kdf vector {text} {i}".encode()).digest()
        i += 1
    return out[:n]


# ------------------------------------------------------------------ pure hmac/hashlib (RFC 5869)
def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]


def hm(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def same(a: bytes, b: bytes, what: str) -> bytes:
    if a != b:
        raise SystemExit(f"MISMATCH in {what}: {a.hex()} != {b.hex()}")
    return a


def x25519_checked(priv: bytes, pub: bytes) -> bytes:
    a = xeddsa.x25519(priv, pub)
    b = X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))
    return same(a, b, "x25519")


def pub_of(priv: bytes) -> bytes:
    a = xeddsa.priv_to_curve25519_pub(priv)
    b = X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return same(a, b, "x25519 public key")


async def main() -> None:
    out = {
        "source": (
            "Computed by test/protocol/vectors/gen-kdf.py with the KDF classes of Debian's python3-oldmemo 1.0.3 and "
            "python3-twomemo 1.0.3 (RootChainKDFImpl, MessageChainKDFImpl with constant 0x02 0x01, AEADImpl key "
            "derivation) on python3-doubleratchet 1.0.3 / python3-x3dh 1.0.3 (hkdf_derive), each value re-checked "
            "against an independent hmac/hashlib transcription of the documented KDFs (HKDF-SHA256 per RFC 5869); "
            "X25519 by python3-xeddsa 1.0.2 re-checked with python3-cryptography"
        ),
        "chain": [],
        "chainWalk": None,
    }
    for version in ("oldmemo", "twomemo"):
        mod = MODS[version]
        info = INFO[version]
        root = []
        for i in range(3):
            rk, dh = label(f"{version} root key {i}"), label(f"{version} dh {i}")
            lib = await mod.RootChainKDFImpl.derive(rk, dh, 64)
            ref = hkdf(dh, rk, info["root"], 64)
            same(lib, ref, f"{version} root {i}")
            root.append({"rootKey": rk.hex(), "dhOutput": dh.hex(), "newRootKey": ref[:32].hex(), "chainKey": ref[32:].hex()})
        msg = []
        for i in range(3):
            seed = label(f"{version} message key seed {i}")
            lib = b"".join(await mod.AEADImpl._AEADImpl__derive(seed, HashFunction.SHA_256, mod.AEADImpl._get_info()))
            ref = hkdf(seed, b"\x00" * 32, info["message"], 80)
            same(lib, ref, f"{version} message keys {i}")
            msg.append({"seed": seed.hex(), "encryptionKey": ref[:32].hex(), "authenticationKey": ref[32:64].hex(), "iv": ref[64:].hex()})
        x3dh_entries = []
        for with_pre_key in (True, False):
            tag = f"{version} x3dh {'4dh' if with_pre_key else '3dh'}"
            ik_a, ek_a = label(f"{tag} alice identity"), label(f"{tag} alice ephemeral")
            ik_b, spk_b, opk_b = label(f"{tag} bob identity"), label(f"{tag} bob signed pre key"), label(f"{tag} bob pre key")
            dhs = [
                x25519_checked(ik_a, pub_of(spk_b)),
                x25519_checked(ek_a, pub_of(ik_b)),
                x25519_checked(ek_a, pub_of(spk_b)),
            ]
            if with_pre_key:
                dhs.append(x25519_checked(ek_a, pub_of(opk_b)))
            # the responder's view gives the same DH outputs
            same(x25519_checked(spk_b, pub_of(ik_a)), dhs[0], "dh1 responder")
            same(x25519_checked(ik_b, pub_of(ek_a)), dhs[1], "dh2 responder")
            ikm = b"\xff" * 32 + b"".join(dhs)
            lib = await X3dhCrypto.hkdf_derive(x3dh.HashFunction.SHA_256, 32, b"\x00" * 32, mod.StateImpl.INFO, ikm)
            ref = hkdf(ikm, b"\x00" * 32, info["x3dh"], 32)
            same(lib, ref, tag)
            ref64 = hkdf(ikm, b"\x00" * 32, info["x3dh"], 64)  # libsignal derives RK || CK; the first half is the same
            same(ref64[:32], ref, tag + " 64")
            entry = {
                "alice": {"identityPrivate": ik_a.hex(), "identityPublic": pub_of(ik_a).hex(), "ephemeralPrivate": ek_a.hex(), "ephemeralPublic": pub_of(ek_a).hex()},
                "bob": {"identityPrivate": ik_b.hex(), "identityPublic": pub_of(ik_b).hex(), "signedPreKeyPrivate": spk_b.hex(), "signedPreKeyPublic": pub_of(spk_b).hex()},
                "dhOutputs": [d.hex() for d in dhs],
                "sharedSecret": ref.hex(),
                "sharedSecret64": ref64.hex(),
            }
            if with_pre_key:
                entry["bob"]["preKeyPrivate"] = opk_b.hex()
                entry["bob"]["preKeyPublic"] = pub_of(opk_b).hex()
            x3dh_entries.append(entry)
        out[version] = {"root": root, "messageKeys": msg, "x3dh": x3dh_entries}

    for i in range(3):
        ck = label(f"chain key {i}")
        lib = await old_mod.MessageChainKDFImpl.derive(ck, old_mod.DoubleRatchetImpl.MESSAGE_CHAIN_CONSTANT, 64)
        lib2 = await two_mod.MessageChainKDFImpl.derive(ck, two_mod.DoubleRatchetImpl.MESSAGE_CHAIN_CONSTANT, 64)
        same(lib, lib2, "chain oldmemo/twomemo")
        # constant b"\x02\x01": the first HMAC (0x02) is the next chain key, the second (0x01) the message key seed
        same(lib[:32], hm(ck, b"\x02"), "next chain key")
        same(lib[32:], hm(ck, b"\x01"), "message key seed")
        out["chain"].append({"chainKey": ck.hex(), "messageKeySeed": lib[32:].hex(), "nextChainKey": lib[:32].hex()})
    ck0 = label("chain walk")
    ck, seeds = ck0, []
    for _ in range(5):
        seeds.append(hm(ck, b"\x01").hex())
        ck = hm(ck, b"\x02")
    out["chainWalk"] = {"chainKey": ck0.hex(), "seeds": seeds, "chainKeyAfter": ck.hex()}

    path = os.path.join(HERE, "kdf.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    asyncio.run(main())
