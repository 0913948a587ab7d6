// Ambient types for the parts of @xmpp/client 0.14 the adapter uses (the package ships no declarations).
// Internal: the adapter's public API uses its own structural types (xmpp-types.ts), never these.
declare module '@xmpp/client' {
  interface LtxElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (LtxElement | string)[];
    getChild(name: string, xmlns?: string): LtxElement | undefined;
    getChildren(name: string, xmlns?: string): LtxElement[];
    getChildElements(): LtxElement[];
    getText(): string;
    text(): string;
    is(name: string, xmlns?: string): boolean;
    append(...children: (LtxElement | string)[]): LtxElement;
    toString(): string;
  }

  interface LtxParser {
    on(event: 'start' | 'element' | 'end', listener: (el: LtxElement) => void): void;
    on(event: 'error', listener: (err: Error) => void): void;
    write(data: string): void;
    end(data?: string): void;
  }

  interface XmlFactory {
    /** Children: elements, strings, or undefined/null/false (skipped). */
    (name: string, attrs?: Record<string, string | number | undefined> | null, ...children: unknown[]): LtxElement;
    Parser: new () => LtxParser;
  }

  interface XmppClient {
    jid: { toString(): string; bare(): { toString(): string } } | null;
    status: string;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: LtxElement): Promise<void>;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    on(event: string, listener: (...args: any[]) => void): XmppClient;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    removeListener(event: string, listener: (...args: any[]) => void): XmppClient;
    iqCaller: { request(element: LtxElement, timeoutMs?: number): Promise<LtxElement> };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    iqCallee: { get(ns: string, name: string, handler: (ctx: any, next: () => unknown) => unknown): void };
  }

  interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    /** (authenticate, mechanisms) => authenticate({ username, password }, mechanism) */
    credentials?: unknown;
  }

  export const xml: XmlFactory;
  export function client(options: ClientOptions): XmppClient;
}
