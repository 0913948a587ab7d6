// Test devices for the Prosody integration tests: an @xmpp/client connection with the OMEMO adapter attached,
// recording every delivered message and reported error, plus polling helpers.
import { client } from '@xmpp/client';
import { MemoryStore } from '../../src/omemo/store/memory-store';
import type { OmemoStore } from '../../src/omemo/store/store';
import type { OmemoManagerOptions } from '../../src/omemo/manager/session-manager';
import {
  createXmppClientOmemo,
  type OmemoChatMessage,
  type OmemoErrorContext,
  type XmppClientOmemo,
  type XmppClientOmemoOptions,
} from '../../src/adapters/xmpp-client';
import type { ProsodyServer } from './prosody-server';

export const PASSWORD = 'test-password';
const WAIT_TIMEOUT_MS = 10_000;

/** One connected device. */
export interface Device {
  user: string;
  resource: string;
  jid: string;
  omemo: XmppClientOmemo;
  store: OmemoStore;
  messages: OmemoChatMessage[];
  errors: { error: Error; context: OmemoErrorContext }[];
  deviceId: number;
  stop(): Promise<void>;
}

/** Polls `predicate` until it holds; throws with `what` after WAIT_TIMEOUT_MS. */
export async function waitFor(
  what: string | (() => string),
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Connects `user/resource` (SASL PLAIN: SCRAM's PBKDF2 in JavaScript costs ~0.5 s per login) and waits until
 * OMEMO is set up. Pass `store` to reconnect an existing device.
 */
export async function connectDevice(
  server: ProsodyServer,
  user: string,
  resource: string,
  options: {
    store?: OmemoStore;
    manager?: Omit<OmemoManagerOptions, 'jid' | 'store' | 'transport'>;
    acceptSubscriptions?: boolean;
    files?: XmppClientOmemoOptions['files'];
  } = {},
): Promise<Device> {
  const xmpp = client({
    service: server.service,
    domain: server.domain,
    resource,
    credentials: (authenticate: (c: { username: string; password: string }, mechanism: string) => Promise<void>) =>
      authenticate({ username: user, password: PASSWORD }, 'PLAIN'),
  });
  const messages: OmemoChatMessage[] = [];
  const errors: Device['errors'] = [];
  xmpp.on('error', (error: Error) => errors.push({ error, context: { phase: 'stanza' } }));
  const store = options.store ?? new MemoryStore();
  const omemo = createXmppClientOmemo({
    client: xmpp,
    store,
    ...(options.manager ? { manager: options.manager } : {}),
    ...(options.acceptSubscriptions ? { acceptSubscriptions: true } : {}),
    ...(options.files ? { files: options.files } : {}),
    onMessage: (m) => {
      messages.push(m);
    },
    onError: (error, context) => {
      errors.push({ error, context });
    },
  });
  await xmpp.start();
  let manager;
  try {
    manager = await omemo.ready();
  } catch (e) {
    await xmpp.stop().catch(() => undefined);
    throw e;
  }
  let stopped = false;
  return {
    user,
    resource,
    jid: server.jid(user),
    omemo,
    store,
    messages,
    errors,
    deviceId: manager.deviceId,
    async stop() {
      if (stopped) return;
      stopped = true;
      omemo.detach();
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** Waits until `device` knows (and would encrypt to) every device in `expected`, by JID. */
export async function waitForDevices(device: Device, expected: readonly Device[]): Promise<void> {
  const jids = [...new Set(expected.map((d) => d.jid))];
  await waitFor(
    `${device.user}/${device.resource} to know ${expected.map((d) => `${d.user}/${d.resource}`).join(', ')}`,
    async () => {
      for (const jid of jids) {
        const known = (await device.omemo.manager.devices(jid))
          .filter((d) => d.activeIn.length > 0)
          .map((d) => d.deviceId);
        if (!expected.filter((d) => d.jid === jid && d !== device).every((d) => known.includes(d.deviceId)))
          return false;
      }
      return true;
    },
  );
}

/** Waits until `device` has received a message with `text` (returns it); event-driven, so usable for timing. */
export async function waitForMessage(
  device: Device,
  text: string,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<OmemoChatMessage> {
  const seen = device.messages.find((m) => m.text === text);
  if (seen !== undefined) return seen;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      const errors = device.errors.map((e) => e.error.message).join('; ') || 'none';
      reject(
        new Error(
          `timed out waiting for ${device.user}/${device.resource} to receive ${JSON.stringify(text)} (errors: ${errors})`,
        ),
      );
    }, timeoutMs);
    const off = device.omemo.on('message', (m) => {
      if (m.text !== text) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
  });
}

/** Stops every device, ignoring failures. */
export async function stopAll(devices: readonly (Device | undefined)[]): Promise<void> {
  await Promise.all(devices.map((d) => d?.stop()));
}
