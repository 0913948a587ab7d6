// XML 1.0 §4.1 character references and §4.6 predefined entities: the only references a document without a DTD
// may hold. One decoder for both XML paths (xml.ts reports a failure, xml-fast.ts leaves it to xml.ts).

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Why a reference does not decode, and the reference as written (at most 12 characters). */
export interface ReferenceFailure {
  reason: 'undefined' | 'out-of-range' | 'not-a-char';
  shown: string;
}

/** Whether `cp` is a Char of XML 1.0 §2.2. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * `s` with its predefined entities and character references decoded, or the first reference that is none of them
 * (a bare `&`, an undefined entity, a code point out of range or not an XML character).
 */
export function decodeReferences(s: string): string | ReferenceFailure {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = s.indexOf(';', amp + 1);
    const ref = semi < 0 ? '' : s.slice(amp + 1, semi);
    const shown = semi < 0 || semi - amp > 12 ? s.slice(amp, amp + 12) : s.slice(amp, semi + 1);
    let ch: string | undefined;
    const decimal = /^#[0-9]{1,7}$/.test(ref);
    if (decimal || /^#x[0-9A-Fa-f]{1,6}$/.test(ref)) {
      const cp = decimal ? Number.parseInt(ref.slice(1), 10) : Number.parseInt(ref.slice(2), 16);
      if (cp > 0x10ffff) return { reason: 'out-of-range', shown };
      if (!isXmlChar(cp)) return { reason: 'not-a-char', shown };
      ch = String.fromCodePoint(cp);
    } else if (Object.hasOwn(PREDEFINED, ref)) {
      ch = PREDEFINED[ref];
    } else {
      return { reason: 'undefined', shown };
    }
    out += s.slice(from, amp) + ch;
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}
