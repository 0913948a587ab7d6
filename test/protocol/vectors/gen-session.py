#!/usr/bin/python3
# Generates session-oldmemo.json and session-twomemo.json: a whole conversation between two devices run by
# Debian's python3-oldmemo / python3-twomemo (python-omemo 1.x backends, on python3-x3dh and
# python3-doubleratchet), with every random draw replaced by a deterministic one, so that the output is
# reproducible byte for byte:
#
#     /usr/bin/python3 test/protocol/vectors/gen-session.py     # rewrites both JSON files
#
# The Backend classes (Oldmemo / Twomemo) are driven directly with an in-memory Storage: build_session_active,
# build_session_passive, encrypt_key_material, decrypt_key_material, KeyExchangeImpl.serialize/parse and
# EncryptedKeyMaterialImpl.serialize/parse are exactly the code python-omemo runs for a real stanza.
# Randomness: secrets.token_bytes (identity seeds, signed pre key, pre keys, X3DH ephemeral key) and
# DiffieHellmanRatchet._generate_priv (ratchet keys) draw from SHA-256(seed ‖ counter); secrets.choice picks the
# smallest pre key. Every private key a party drew is written out in the order it was drawn, so the TypeScript
# test can replay it through an injected Rng (our x25519GenerateKeyPair clamps; X25519 clamps anyway).
#
# Conversation (A = initiator, B = responder; Kn = ratchet plaintext n, 32 bytes for 0.3, 48 for OMEMO 2):
#   1. A builds the session from B's bundle, encrypts K1 -> M1 (key exchange) and K2 -> M2 (key exchange again)
#   2. B builds its session from M1 (-> K1) and decrypts the message inside M2 (-> K2)
#   3. B encrypts K3 -> M3, K4 -> M4 (normal messages)
#   4. A decrypts M4 then M3 (out of order; its first decryption confirms the session)
#   5. A encrypts K5, K6, K7 -> M5, M6, M7 (normal)
#   6. B decrypts M7, M5, M6 (out of order across a DH step)
#   7. B encrypts K8 -> M8; A decrypts it
import asyncio
import copy
import hashlib
import json
import os
import secrets
import sys

import doubleratchet
from doubleratchet.recommended import diffie_hellman_ratchet_curve25519
import xeddsa

import oldmemo
import oldmemo.oldmemo as old_mod
import twomemo
import twomemo.twomemo as two_mod
from omemo.storage import Just, Nothing, Storage

HERE = os.path.dirname(os.path.abspath(__file__))

# ------------------------------------------------------------------ deterministic randomness
class Drbg:
    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.counter = 0
        self.log = []  # (label, bytes)
        self.owner = "?"

    def draw(self, n: int, label: str) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha256(self.seed + self.counter.to_bytes(4, "big")).digest()
            self.counter += 1
        out = out[:n]
        self.log.append((self.owner, label, out))
        return out


DRBG = Drbg(b"")


def patched_token_bytes(n=32):
    return DRBG.draw(n, "token_bytes")


def patched_choice(seq):
    return sorted(seq)[0]


def patched_generate_priv():
    return DRBG.draw(32, "ratchet")


secrets.token_bytes = patched_token_bytes
secrets.choice = patched_choice
diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet._generate_priv = staticmethod(patched_generate_priv)


# ------------------------------------------------------------------ in-memory storage
class MemoryStorage(Storage):
    def __init__(self) -> None:
        super().__init__(True)
        self.data = {}

    async def _load(self, key):
        return Just(copy.deepcopy(self.data[key])) if key in self.data else Nothing()

    async def _store(self, key, value):
        self.data[key] = copy.deepcopy(value)

    async def _delete(self, key):
        self.data.pop(key, None)


def h(b: bytes) -> str:
    return b.hex()


def jbytes(s) -> bytes:
    # python3-x3dh's JSON stores bytes as a str of code points 0..255 (x3dh/models.py _json_bytes_encoder)
    return bytes(map(ord, s)) if isinstance(s, str) else bytes(s)


def seed_with_sign_bit(label: bytes, bit: int) -> bytes:
    """A deterministic Ed25519 seed whose public key has the wanted sign bit."""
    i = 0
    while True:
        seed = hashlib.sha256(label + bytes([i])).digest()
        if (xeddsa.seed_to_ed25519_pub(seed)[31] >> 7) == bit:
            return seed
        i += 1


async def run(version: str) -> dict:
    global DRBG
    DRBG = Drbg(hashlib.sha256(b"omemo-wasm session vector " + version.encode()).digest())
    mod = old_mod if version == "oldmemo" else two_mod
    Backend = oldmemo.Oldmemo if version == "oldmemo" else twomemo.Twomemo
    ns = mod.NAMESPACE
    key_len = 32 if version == "oldmemo" else 48

    # Alice's Ed25519 key has sign bit 1 (the case a sign-bit-0-only implementation gets wrong), Bob's 0.
    seeds = {"alice": seed_with_sign_bit(b"alice " + version.encode(), 1), "bob": seed_with_sign_bit(b"bob " + version.encode(), 0)}
    storages = {}
    backends = {}
    for name in ("alice", "bob"):
        st = MemoryStorage()
        await st.store("/ikp/is_seed", True)
        await st.store_bytes("/ikp/key", seeds[name])
        storages[name] = st
        backends[name] = Backend(st)
    DRBG.owner = "bob"
    await backends["bob"].generate_pre_keys(1)
    bundle_b = await backends["bob"].get_bundle("bob@example.org", 2002)
    DRBG.owner = "alice"
    bundle_a = await backends["alice"].get_bundle("alice@example.org", 1001)  # creates Alice's X3DH state

    def plain(i: int) -> bytes:
        return hashlib.sha256(b"K" + bytes([i]) + version.encode()).digest()[:16] * (key_len // 16)

    def pkm(i: int):
        k = plain(i)
        if version == "oldmemo":
            return mod.PlainKeyMaterialImpl(k[:16], k[16:])
        return mod.PlainKeyMaterialImpl(k[:32], k[32:])

    def kex_bytes(kex, ekm) -> bytes:
        out = kex.serialize(ekm.serialize())
        return out[0] if isinstance(out, tuple) else out

    def parse_kex(data: bytes, sender_ed: bytes):
        if version == "oldmemo":
            return mod.KeyExchangeImpl.parse(data, bool((sender_ed[31] >> 7) & 1))
        return mod.KeyExchangeImpl.parse(data)

    messages = []

    def record(name, sender, data, kex, plaintext):
        messages.append({"name": name, "from": sender, "keyExchange": kex, "plaintext": h(plaintext), "data": h(data)})

    A, B = backends["alice"], backends["bob"]
    # 1.
    DRBG.owner = "alice"
    log_start = len(DRBG.log)
    sess_a, ekm1 = await A.build_session_active("bob@example.org", 2002, bundle_b, pkm(1))
    m1 = kex_bytes(sess_a.key_exchange, ekm1)
    (ephemeral,) = [b for owner, label, b in DRBG.log[log_start:] if label == "token_bytes"]
    record("M1", "alice", m1, True, plain(1))
    ekm2 = await A.encrypt_key_material(sess_a, pkm(2))
    m2 = kex_bytes(sess_a.key_exchange, ekm2)
    record("M2", "alice", m2, True, plain(2))
    # 2.
    DRBG.owner = "bob"
    alice_ed = xeddsa.seed_to_ed25519_pub(seeds["alice"])
    kex1, auth1 = parse_kex(m1, alice_ed)
    sess_b, got1 = await B.build_session_passive("alice@example.org", 1001, kex1, mod.EncryptedKeyMaterialImpl.parse(auth1, "alice@example.org", 1001))
    assert got1.key + got1.auth_tag == plain(1)
    kex2, auth2 = parse_kex(m2, alice_ed)
    assert kex2.builds_same_session(kex1)
    got2 = await B.decrypt_key_material(sess_b, mod.EncryptedKeyMaterialImpl.parse(auth2, "alice@example.org", 1001))
    assert got2.key + got2.auth_tag == plain(2)
    # 3.
    ekm3 = await B.encrypt_key_material(sess_b, pkm(3))
    record("M3", "bob", ekm3.serialize(), False, plain(3))
    ekm4 = await B.encrypt_key_material(sess_b, pkm(4))
    record("M4", "bob", ekm4.serialize(), False, plain(4))
    # 4.
    DRBG.owner = "alice"
    for ekm, i in ((ekm4, 4), (ekm3, 3)):
        got = await A.decrypt_key_material(sess_a, mod.EncryptedKeyMaterialImpl.parse(ekm.serialize(), "bob@example.org", 2002))
        assert got.key + got.auth_tag == plain(i)
    # 5.
    sent = {}
    for i in (5, 6, 7):
        sent[i] = (await A.encrypt_key_material(sess_a, pkm(i))).serialize()
        record(f"M{i}", "alice", sent[i], False, plain(i))
    # 6.
    DRBG.owner = "bob"
    for i in (7, 5, 6):
        got = await B.decrypt_key_material(sess_b, mod.EncryptedKeyMaterialImpl.parse(sent[i], "alice@example.org", 1001))
        assert got.key + got.auth_tag == plain(i)
    # 7.
    m8 = (await B.encrypt_key_material(sess_b, pkm(8))).serialize()
    record("M8", "bob", m8, False, plain(8))
    DRBG.owner = "alice"
    got = await A.decrypt_key_material(sess_a, mod.EncryptedKeyMaterialImpl.parse(m8, "bob@example.org", 2002))
    assert got.key + got.auth_tag == plain(8)

    # Private key material of both parties.
    def party(name: str, device_id: int, bare: str) -> dict:
        state = storages[name].data[f"/{ns}/x3dh"]
        priv = xeddsa.seed_to_priv(seeds[name])
        ed = xeddsa.seed_to_ed25519_pub(seeds[name])
        spk = state["signed_pre_key"]
        out = {
            "deviceId": device_id,
            "identitySeed": h(seeds[name]),
            "identityPrivate": h(priv),  # the clamped Curve25519/Ed25519 scalar (seed_to_priv)
            "identityCurvePublic": h(xeddsa.priv_to_curve25519_pub(priv)),
            "identityEdPublic": h(ed),
            "identityEdSignBit": ed[31] >> 7,
            "signedPreKeyPrivate": h(jbytes(spk["priv"])),
            "preKeyPrivates": [h(jbytes(p)) for p in state["pre_keys"]],
            # every ratchet private key the party generated, in order (the DH ratchet's _generate_priv)
            "ratchetPrivates": [h(b) for owner, label, b in DRBG.log if owner == name and label == "ratchet"],
        }
        return out

    alice = party("alice", 1001, "alice@example.org")
    alice["x3dhEphemeralPrivate"] = h(ephemeral)
    bob = party("bob", 2002, "bob@example.org")

    def wire_bundle(bundle_impl) -> dict:
        bb = bundle_impl.bundle
        sig = bytearray(bb.signed_pre_key_sig)
        if version == "oldmemo":
            sig[63] |= bb.identity_key[31] & 0x80  # oldmemo/etree.py serialize_bundle stuffs the sign bit
            wire_ik = xeddsa.ed25519_pub_to_curve25519_pub(bb.identity_key)
        else:
            wire_ik = bb.identity_key
        out = {
            "identityKey": h(wire_ik),
            "signedPreKeyId": bundle_impl.signed_pre_key_id,
            "signedPreKey": h(bb.signed_pre_key),
            "signedPreKeySignature": h(bytes(sig)),
        }
        if bb.pre_keys:
            (pre_key_pub,) = list(bb.pre_keys)
            out["preKeyId"] = bundle_impl.pre_key_ids[pre_key_pub]
            out["preKey"] = h(pre_key_pub)
        return out

    return {
        "source": (
            f"Debian python3-{version} 1.0.3 (python-omemo {version} backend) with python3-x3dh 1.0.3, "
            "python3-doubleratchet 1.0.3 and python3-xeddsa 1.0.2: a conversation driven through the backend "
            "classes with deterministic randomness, generated by test/protocol/vectors/gen-session.py"
        ),
        "version": version,
        "conversation": "M1,M2 A->B key exchanges; B decrypts both; M3,M4 B->A; A decrypts M4 then M3; M5,M6,M7 A->B; B decrypts M7,M5,M6; M8 B->A",
        "alice": alice,
        "bob": bob,
        "aliceBundle": wire_bundle(bundle_a),
        "bobBundle": wire_bundle(bundle_b),
        "messages": messages,
    }


def main() -> None:
    for version in ("oldmemo", "twomemo"):
        data = asyncio.run(run(version))
        path = os.path.join(HERE, f"session-{version}.json")
        with open(path, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        print(f"wrote {path}: {len(data['messages'])} messages")


if __name__ == "__main__":
    main()
