// Child of file-transfer-webcrypto.test.ts: the file path as in a browser (node:crypto never loaded, `process` hidden
// while the crypto loads): WebCrypto back end, uploadFile PUTs one Uint8Array (browsers stream request bodies only
// over HTTP/2), the descriptor decrypts it, downloadFile returns the plaintext; prints one JSON line.
export {};
const realProcess = globalThis.process;
(globalThis as { process?: unknown }).process = undefined;
const { cryptoReady } = await import('../../src/crypto/ready');
await cryptoReady();
globalThis.process = realProcess;
const { fileCipherBackend } = await import('../../src/crypto/aes-gcm-stream');
const { uploadFile, downloadFile } = await import('../../src/adapters/file-transfer');
const { randomBytes } = await import('../../src/crypto/random');
type HttpUpload = import('../../src/adapters/http-upload').HttpUpload;

const plain = randomBytes(100_000);
let putBody: unknown;
let putSize = -1;
const upload: HttpUpload = {
  service: async () => ({ jid: 'upload.example', maxFileSize: 1 << 20 }),
  requestSlot: async (_s, name) => ({
    putUrl: `https://up.example/${name}`,
    getUrl: `https://up.example/${name}`,
    headers: {},
  }),
  put: async (_slot, body, size) => {
    putBody = body;
    putSize = size;
  },
  reset: () => undefined,
};
const d = await uploadFile(upload, plain, { name: 'a.png' });
const sealed = putBody as Uint8Array;
const stream = await downloadFile(d, {
  fetch: async () =>
    new Response(sealed as BodyInit, { status: 200, headers: { 'content-length': String(sealed.length) } }),
});
const parts: Uint8Array[] = [];
const reader = stream.getReader();
for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
const back = new Uint8Array(Buffer.concat(parts));
const tampered = sealed.slice();
tampered[5]! ^= 1;
let tamperedCode: string | undefined;
try {
  for await (const _ of d.decrypt(tampered)) void _;
} catch (e) {
  tamperedCode = (e as { code?: string }).code;
}
console.log(
  JSON.stringify({
    backend: await fileCipherBackend(),
    bodyIsBytes: putBody instanceof Uint8Array,
    putSize,
    sealedLength: sealed.length,
    roundTrip: Buffer.from(back).equals(plain),
    tamperedCode,
  }),
);
