// XML 1.0 §2.3-2.4 markup characters, as UTF-16 code units: what the plain-shape readers (xml-fast.ts, and the
// readers of bundles, <encrypted> elements and SCE envelopes) compare text against.

export const LT = 0x3c; // <
export const GT = 0x3e; // >
export const SLASH = 0x2f; // /
export const EQ = 0x3d; // =
export const QUOT = 0x22; // "
export const APOS = 0x27; // '
export const AMP = 0x26; // &
