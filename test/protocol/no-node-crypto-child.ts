// Child of no-node-crypto.test.ts: runs a whole session pair with `process` hidden while the crypto loads, so
// node:crypto is never imported (as in a browser): X25519 from libsodium, AES-256-CBC from the ratchet kernel.
export {};
const realProcess = globalThis.process;
(globalThis as { process?: unknown }).process = undefined;
const { cryptoReady } = await import('../../src/crypto/ready');
const { nodeCrypto } = await import('../../src/crypto/sodium');
await cryptoReady();
globalThis.process = realProcess;
const { toHex } = await import('../../src/crypto/bytes');
const { makePair, plaintext, recv } = await import('./helpers');
const lines: string[] = [`node:crypto loaded: ${nodeCrypto() !== undefined}`];
for (const version of ['oldmemo', 'twomemo'] as const) {
  const pair = makePair(version, `no node:crypto ${version}`);
  for (let i = 0; i < 3; i++) {
    const p = plaintext(version, `a${i}`);
    const got = recv(pair.bob, version, pair.alice.encrypt(p).data, pair.rng);
    const q = plaintext(version, `b${i}`);
    const back = recv(pair.alice, version, pair.bob.encrypt(q).data, pair.rng);
    lines.push(`${version} ${i}: ${toHex(got) === toHex(p) && toHex(back) === toHex(q) ? 'ok' : 'MISMATCH'}`);
  }
}
// An OMEMO 2 payload (AES-256-CBC + HMAC) seals and opens too.
const { sealPayload, openPayload } = await import('../../src/omemo/versions/by-version');
const { utf8Encode } = await import('../../src/crypto/bytes');
const sealed = sealPayload('twomemo', utf8Encode('payload'));
const opened = openPayload('twomemo', sealed.keyMaterial, undefined, sealed.payload);
lines.push(
  `twomemo payload: ${opened !== undefined && toHex(opened) === toHex(utf8Encode('payload')) ? 'ok' : 'MISMATCH'}`,
);
console.log(lines.join('\n'));
