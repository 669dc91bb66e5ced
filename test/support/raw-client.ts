/**
 * A minimal gateway client for tests of the simulator: raw `ws`, decoding of
 * zlib-stream and zstd-stream, and a queue of what arrived. It has no protocol logic
 * of its own, so tests say every step they expect.
 */
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import type * as ZstdBindingModule from 'zstd-napi/binding.js';
import { ZlibContext } from '../../src/codec/zlib-context.js';

/** A gateway payload as received. */
export interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** What the client observed: a payload, a message it could not decode, or the close. */
export type Received =
  | { kind: 'payload'; payload: Payload; bytes: number }
  | { kind: 'undecodable'; error: string }
  | { kind: 'close'; code: number; reason: string };

type Compression = 'zlib-stream' | 'zstd-stream' | undefined;

const SUFFIX = Buffer.from([0, 0, 0xff, 0xff]);

function makeDecoder(compression: Compression): (data: Buffer) => string | null {
  if (compression === 'zlib-stream') {
    const inflate = new ZlibContext('inflate');
    let pending: Buffer[] = [];
    return (data) => {
      pending.push(data);
      if (data.length < 4 || !data.subarray(-4).equals(SUFFIX)) return null;
      const whole = Buffer.concat(pending);
      pending = [];
      return inflate.process(whole).toString('utf8');
    };
  }
  if (compression === 'zstd-stream') {
    const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBindingModule;
    const dctx = new binding.DCtx();
    const out = Buffer.alloc(1 << 20);
    return (data) => {
      const parts: Buffer[] = [];
      let input = data;
      for (;;) {
        const [, produced, consumed] = dctx.decompressStream(out, input);
        parts.push(Buffer.from(out.subarray(0, produced)));
        input = input.subarray(consumed);
        if (input.length === 0 && produced < out.length) break;
      }
      return Buffer.concat(parts).toString('utf8');
    };
  }
  return (data) => new TextDecoder('utf-8', { fatal: true }).decode(data);
}

/**
 * A connected raw client.
 *
 * @example
 * const client = await RawClient.connect(gateway.url);
 * const hello = await client.next();
 */
export class RawClient {
  readonly socket: WebSocket;
  readonly received: Received[] = [];
  #waiters: (() => void)[] = [];
  #cursor = 0;

  private constructor(socket: WebSocket, compression: Compression) {
    this.socket = socket;
    const decode = makeDecoder(compression);
    socket.on('message', (data: Buffer) => {
      try {
        const text = decode(data);
        if (text !== null) this.#push({ kind: 'payload', payload: JSON.parse(text) as Payload, bytes: text.length });
      } catch (error) {
        this.#push({ kind: 'undecodable', error: (error as Error).message });
      }
    });
    socket.on('close', (code, reason) => this.#push({ kind: 'close', code, reason: reason.toString() }));
    socket.on('error', () => undefined);
  }

  /** Opens a connection with `?v=10&encoding=json` (or `query`) and the given compression. */
  static async connect(base: string, options: { compress?: Compression; query?: string } = {}): Promise<RawClient> {
    const query = options.query ?? `v=10&encoding=json${options.compress ? `&compress=${options.compress}` : ''}`;
    const socket = new WebSocket(`${base}?${query}`);
    const client = new RawClient(socket, options.compress);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  #push(item: Received): void {
    this.received.push(item);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The next item not yet taken by `next`/`until`, waiting up to `timeoutMs`. */
  async nextItem(timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.#cursor >= this.received.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`RawClient: nothing received within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received[this.#cursor++] as Received;
  }

  /** The next payload; throws if the next item is a close or undecodable. */
  async next(timeoutMs = 5_000): Promise<Payload> {
    const item = await this.nextItem(timeoutMs);
    if (item.kind !== 'payload') throw new Error(`RawClient: expected a payload, got ${JSON.stringify(item)}`);
    return item.payload;
  }

  /** Skips items until one matches, returning it. */
  async until(match: (item: Received) => boolean, timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = await this.nextItem(Math.max(1, deadline - Date.now()));
      if (match(item)) return item;
    }
  }

  /** Skips to the next payload with this opcode (and event name, for dispatches). */
  async nextOp(op: number, t?: string, timeoutMs = 5_000): Promise<Payload> {
    const item = await this.until((i) => i.kind === 'payload' && i.payload.op === op && (t === undefined || i.payload.t === t), timeoutMs);
    return (item as { payload: Payload }).payload;
  }

  /** Waits for the close, skipping whatever comes before it. */
  async closed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const item = await this.until((i) => i.kind === 'close', timeoutMs);
    return item as { code: number; reason: string };
  }

  send(payload: unknown): void {
    this.socket.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  /** Sends IDENTIFY with sensible defaults, overridable field by field. */
  identify(fields: Record<string, unknown> = {}): void {
    this.send({ op: 2, d: { token: 'test-token', intents: 513, properties: { os: 'linux', browser: 'test', device: 'test' }, ...fields } });
  }

  /** Identifies and waits for READY, returning its `d`. */
  async ready(fields: Record<string, unknown> = {}): Promise<{ session_id: string; resume_gateway_url: string; guilds: { id: string }[] } & Record<string, unknown>> {
    this.identify(fields);
    const ready = await this.nextOp(0, 'READY');
    return ready.d as never;
  }

  /** Payloads received so far, in order. */
  payloads(): Payload[] {
    return this.received.flatMap((item) => (item.kind === 'payload' ? [item.payload] : []));
  }

  /** Dispatches (op 0) received so far, in order, optionally only those named `t`. */
  dispatches(t?: string): Payload[] {
    return this.payloads().filter((payload) => payload.op === 0 && (t === undefined || payload.t === t));
  }

  /** Waits until `done()` holds, checking after each arrival; does not move the `next`/`until` cursor. */
  async waitUntil(done: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`RawClient: condition not met within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(code = 1000): void {
    this.socket.close(code);
  }

  /** Ends the TCP connection without a close frame. */
  terminate(): void {
    this.socket.terminate();
  }
}
