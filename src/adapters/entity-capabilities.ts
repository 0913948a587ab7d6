// XEP-0115 §5.1 entity capabilities: the verification string of our disco#info (identities + features),
// which PEP services (XEP-0163 §4) use to learn our `+notify` interests. Prosody only honours hash='sha-1'.
import { toBase64, utf8Encode } from '../crypto/bytes';
import { sha1 } from '../crypto/sha1';

/** A XEP-0030 identity. */
export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
  lang?: string;
}

/** The hash function named in `<c hash=…>`; the one every server supports. */
export const CAPS_HASH = 'sha-1';

const octetOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The XEP-0115 verification string (`ver`) of a disco#info answer without data forms: identities sorted by
 * category/type/lang, features sorted, each followed by '<', SHA-1, base64.
 * @throws TypeError for duplicate features or identities (XEP-0115 §5.4 treats those as invalid).
 */
export async function capsVerification(
  identities: readonly DiscoIdentity[],
  features: readonly string[],
): Promise<string> {
  const ids = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`);
  if (new Set(ids).size !== ids.length) throw new TypeError('duplicate disco identity');
  if (new Set(features).size !== features.length) throw new TypeError('duplicate disco feature');
  const sortedIds = [...identities]
    .sort(
      (a, b) =>
        octetOrder(a.category, b.category) || octetOrder(a.type, b.type) || octetOrder(a.lang ?? '', b.lang ?? ''),
    )
    .map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}<`);
  const s =
    sortedIds.join('') +
    [...features]
      .sort(octetOrder)
      .map((f) => `${f}<`)
      .join('');
  return toBase64(await sha1(utf8Encode(s)));
}
