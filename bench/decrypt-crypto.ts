// Micro benchmark of a steady decrypt's symmetric crypto (issue #16), below the XML and the store: the ratchet
// step of `Session.decryptParsed` (KDF_CK, message keys, MAC, AES-CBC of the 32/48-byte key material) on
// pre-parsed messages of one chain, and the OMEMO 2 payload (`openPayload`: HKDF, MAC, AES-CBC of ~300 B, an SCE
// text message's size) and its `sealPayload`. Uses only APIs that older versions have too, so the same file
// measures before/after: run it alternately in two checkouts.
//   npx tsx bench/decrypt-crypto.ts [rounds]
import { cryptoReady } from '../src/crypto/ready';
import { TWOMEMO_BACKEND } from '../src/omemo/versions/twomemo';
import type { ProtocolVersion } from '../src/protocol/constants';
import { parseMessage, type ParsedMessage } from '../src/protocol/wire';
import { makePair } from '../test/protocol/helpers';

/** Messages per timed run (one chain: each decrypt is a steady step). */
const MESSAGES = 4000;
/** Bytes of the payload plaintext: an SCE envelope around a short text message. */
const PAYLOAD_BYTES = 290;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** µs per steady ratchet decrypt of `version`, over MESSAGES messages of one chain. */
function ratchetRun(version: ProtocolVersion, seed: number): number {
  const pair = makePair(version, `decrypt-crypto ${seed}`);
  const plaintext = new Uint8Array(version === 'twomemo' ? 48 : 32).fill(7);
  const messages: ParsedMessage[] = [];
  for (let i = 0; i < MESSAGES; i++) messages.push(parseMessage(version, pair.alice.encrypt(plaintext).data));
  const t = performance.now();
  for (const m of messages) pair.bob.decryptParsed(m, pair.rng);
  return ((performance.now() - t) * 1000) / MESSAGES;
}

async function payloadRuns(): Promise<{ open: number; seal: number }> {
  const rng = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const text = new Uint8Array(PAYLOAD_BYTES).fill(0x61);
  const sealed = await TWOMEMO_BACKEND.sealPayload(text, rng);
  let t = performance.now();
  for (let i = 0; i < MESSAGES; i++) await TWOMEMO_BACKEND.openPayload(sealed.keyMaterial, sealed.iv, sealed.payload);
  const open = ((performance.now() - t) * 1000) / MESSAGES;
  t = performance.now();
  for (let i = 0; i < MESSAGES; i++) await TWOMEMO_BACKEND.sealPayload(text, rng);
  return { open, seal: ((performance.now() - t) * 1000) / MESSAGES };
}

await cryptoReady();
const rounds = Number(process.argv[2] ?? 7);
const r: Record<string, number[]> = { twomemo: [], oldmemo: [], open: [], seal: [] };
for (let i = 0; i < rounds; i++) {
  r.twomemo!.push(ratchetRun('twomemo', i));
  r.oldmemo!.push(ratchetRun('oldmemo', i));
  const p = await payloadRuns();
  r.open!.push(p.open);
  r.seal!.push(p.seal);
}
const show = (k: string) => median(r[k]!.slice(1)).toFixed(2); // the first round warms up
console.log(
  `ratchet step OMEMO 2 ${show('twomemo')} µs | ratchet step 0.3 ${show('oldmemo')} µs | ` +
    `payload open ${PAYLOAD_BYTES} B ${show('open')} µs | payload seal ${show('seal')} µs (medians of ${rounds - 1})`,
);
