// The structural view of an @xmpp/client instance and of its ltx elements that the adapter relies on, so the
// public API does not depend on @xmpp/client's type declarations; `Client` of @types/xmpp__client is assignable
// to XmppClientLike (test/package/readme-snippets.mjs type-checks the README's bot against it).

/** An ltx element as @xmpp/client emits and sends them. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  getChild(name: string, xmlns?: string): XmlElement | undefined;
  getChildren(name: string, xmlns?: string): XmlElement[];
  getChildElements(): XmlElement[];
  getText(): string;
  is(name: string, xmlns?: string): boolean;
  /** Adds children (ltx returns nothing, older versions the element: nothing here relies on either). */
  append(...children: (XmlElement | string)[]): unknown;
  toString(): string;
}

/** The iq handler context @xmpp/iq's callee passes (the query child is `element`). */
export interface IqCalleeContext {
  stanza: XmlElement;
  element: XmlElement;
}

/** The parts of an `@xmpp/client` client the adapter uses. */
export interface XmppClientLike {
  /** Our full JID once bound. */
  jid?: { toString(): string; bare(): { toString(): string } } | null;
  /** 'online' once bound (the adapter then sets up immediately). */
  status?: string;
  on(event: 'stanza', listener: (stanza: XmlElement) => void): unknown;
  on(event: 'online', listener: (jid: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'stanza', listener: (stanza: XmlElement) => void): unknown;
  removeListener(event: 'online', listener: (jid: unknown) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  send(element: XmlElement): Promise<unknown>;
  iqCaller: { request(element: XmlElement, timeoutMs?: number): Promise<XmlElement> };
  iqCallee: {
    get(ns: string, name: string, handler: (ctx: IqCalleeContext, next: () => unknown) => unknown): void;
  };
}
