// Which adapter module serves which `impl` row of bench:peers. Loaded lazily, so a library that fails to
// load only costs its own rows (their cases then say why).
import type { ImplName, PeerAdapter } from './types';

export async function loadAdapter(impl: ImplName): Promise<PeerAdapter> {
  switch (impl) {
    case 'omemo-wasm':
      return (await import('./omemo-wasm')).omemoWasm;
    case 'omemo-wasm-0.3':
      return (await import('./omemo-wasm')).omemoWasmLegacy;
    case 'omemo-wasm-raw':
      return (await import('./omemo-wasm-raw')).omemoWasmRaw;
    case 'libsignal':
      return (await import('./libsignal')).libsignal;
    case 'privacyresearch':
      return (await import('./privacyresearch')).privacyresearch;
    case 'libsignal-client':
      return (await import('./libsignal-client')).libsignalClient;
  }
}
