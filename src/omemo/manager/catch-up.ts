// History catch-up (XEP-0384 0.9 §4.7, XEP-0313 MAM): while older messages are read, used pre keys are kept and the
// bundle is not republished; at the end they fall under the `consumedPreKeys` policy again and the bundle is
// refilled and republished once.
import type { StoreChanges } from '../store/store';
import type { ManagerCore } from './manager-core';
import { pruneUsedPreKeys, refillPreKeys } from './own-keys';
import { publishBundle } from './publishing';

/** Ends a catch-up (see OmemoManager.endCatchUp). */
export async function endCatchUp(core: ManagerCore): Promise<void> {
  core.catchingUp = false;
  const changes: StoreChanges = {};
  pruneUsedPreKeys(core, changes);
  refillPreKeys(core, changes);
  if (changes.deletePreKeys === undefined && changes.putPreKeys === undefined) return;
  await core.commit(changes);
  for (const v of core.versions) await publishBundle(core, v);
}
