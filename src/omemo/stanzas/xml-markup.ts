// Raw-text checks the XML parser cannot make for us (W3C XML 1.0 §2.8 prolog, §2.5 comments, §2.7 CDATA, §2.6 PIs):
// no markup declaration anywhere (no DTD, no entity expansion), nothing but white space, comments and PIs after the
// root element.
import { malformed } from './xml';

/**
 * True when markup outside comments, CDATA sections, PIs and tags starts with `<!` other than `<!--` or
 * `<![CDATA[` (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION), or when one of those constructs is unterminated.
 * `<!` inside a comment, a CDATA section, a PI or a quoted attribute value is text, not a declaration.
 */
export function hasMarkupDeclaration(text: string): boolean {
  for (let lt = text.indexOf('<'); lt >= 0; ) {
    const close = closerAt(text, lt);
    let next: number;
    if (close !== '') {
      const end = text.indexOf(close, lt + 2);
      if (end < 0) return true;
      next = end + close.length;
    } else if (text.startsWith('<!', lt)) {
      return true;
    } else {
      next = tagEnd(text, lt + 1) + 1;
    }
    lt = text.indexOf('<', next);
  }
  return false;
}

/** Skips white space, comments and processing instructions (XML 1.0 `Misc*`) from `i`. */
function skipMisc(text: string, i: number): number {
  for (;;) {
    while (i < text.length && ' \t\n'.includes(text[i]!)) i++;
    const end = text.startsWith('<?', i)
      ? text.indexOf('?>', i + 2)
      : text.startsWith('<!--', i)
        ? text.indexOf('-->', i + 4)
        : -2;
    if (end === -2) return i;
    if (end < 0) return text.length + 1; // unterminated: the validator has already rejected this
    i = end + (text[end] === '?' ? 2 : 3);
  }
}

/** The delimiter that ends the comment, CDATA section or PI starting at `i`; '' when none starts there. */
function closerAt(text: string, i: number): string {
  if (text.startsWith('<!--', i)) return '-->';
  if (text.startsWith('<![CDATA[', i)) return ']]>';
  return text.startsWith('<?', i) ? '?>' : '';
}

/** Index of the first `>` at or after `i` that is not inside a quoted attribute value. */
function tagEnd(text: string, i: number): number {
  let quote = '';
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i;
    }
  }
  return text.length;
}

/** Index just after the root element (the validator has checked that the tags balance). */
function rootEnd(text: string): number {
  let depth = 0;
  let i = skipMisc(text, 0);
  while (i < text.length) {
    const skip = closerAt(text, i);
    if (skip !== '') {
      const end = text.indexOf(skip, i);
      if (end < 0) return text.length;
      i = end + skip.length;
    } else if (text[i] === '<') {
      const end = tagEnd(text, i + 1);
      if (text[i + 1] === '/') depth--;
      else if (text[end - 1] !== '/') depth++;
      i = end + 1;
      if (depth <= 0) return i;
    } else {
      const next = text.indexOf('<', i);
      i = next < 0 ? text.length : next;
    }
  }
  return i;
}

/**
 * XML 1.0 allows only comments, PIs and white space after the root element. fast-xml-parser's validator lets
 * text after a self-closing root (`<a/>x`) and references after an end tag (`<a></a>&amp;`) through, and the
 * parser drops them.
 */
export function checkNothingAfterRoot(text: string): void {
  if (skipMisc(text, rootEnd(text)) < text.length) throw malformed('XML has content after the root element');
}
