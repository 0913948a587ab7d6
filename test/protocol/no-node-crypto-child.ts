// Child of no-node-crypto.test.ts: runs a whole session pair, both payloads and two managers talking with `process`
// hidden while the crypto loads, so node:crypto is never imported (as in a browser): X25519 from libsodium,
// AES-256-CBC from the ratchet kernel, AES-GCM (OMEMO 0.3 payloads) from WebCrypto.
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
// Payloads of both versions seal and open: OMEMO 2 on the kernel's AES-256-CBC, OMEMO 0.3 on WebCrypto's AES-GCM.
const { sealPayload, openPayload } = await import('../../src/omemo/versions/by-version');
const { utf8Encode } = await import('../../src/crypto/bytes');
for (const version of ['oldmemo', 'twomemo'] as const) {
  const sealed = await sealPayload(version, utf8Encode('payload'));
  const opened = await openPayload(version, sealed.keyMaterial, sealed.iv, sealed.payload);
  const ok = opened !== undefined && toHex(opened) === toHex(utf8Encode('payload'));
  lines.push(`${version} payload: ${ok ? 'ok' : 'MISMATCH'}`);
}
// Two managers talk in both versions, as in a browser.
const { converse } = await import('../browser/conversation');
for (const version of ['oldmemo', 'twomemo'] as const) lines.push(...(await converse(version, 2)));
lines.push(`node:crypto loaded at the end: ${nodeCrypto() !== undefined}`);
console.log(lines.join('\n'));
