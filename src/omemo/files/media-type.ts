// RFC 6838 media types of the files chat clients share most, by file name extension: a receiver of an XEP-0454
// link only has the URL, and shows an image inline or offers a document by this guess (as Conversations does).

const BY_EXTENSION: Readonly<Record<string, string>> = Object.freeze({
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  pdf: 'application/pdf',
  txt: 'text/plain',
  log: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  vcf: 'text/vcard',
});

/**
 * The media type guessed from a file name's extension (case-insensitive); undefined for an unknown one.
 * @throws nothing.
 */
export function mediaTypeOfName(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0) return undefined;
  const ext = name.slice(dot + 1).toLowerCase();
  return Object.hasOwn(BY_EXTENSION, ext) ? BY_EXTENSION[ext] : undefined;
}

/** The extension of `name` with its dot (`.pdf`), when it is short and plain; '' otherwise. */
export function extensionOf(name: string | undefined): string {
  if (name === undefined) return '';
  const m = /\.[A-Za-z0-9]{1,10}$/.exec(name);
  return m === null ? '' : m[0].toLowerCase();
}
