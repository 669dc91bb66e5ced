/**
 * Transport decompression of one gateway connection: turns the websocket messages of
 * `compress=zlib-stream`, `compress=zstd-stream` or no compression into gateway message
 * texts, on one context per connection, refusing any message that inflates past a cap.
 */
import { loadZstd } from './zstd-binding.js';
import type { ZstdBinding } from './zstd-binding.js';
import { scratch } from './scratch.js';
import { headOf, InflatedSizeError, ZlibContext } from './zlib-context.js';

export { InflatedSizeError } from './zlib-context.js';

/** The transport compressions Discord offers (`null`: none). */
export type Compression = 'zlib-stream' | 'zstd-stream' | null;

const ZLIB_SUFFIX = 0x0000ffff;

/** Bytes and messages through one inflater, for metrics. */
export interface InflaterMetrics {
  /** Compressed bytes received. */
  bytesIn: number;
  /** Message bytes produced. */
  bytesOut: number;
  /** Whole gateway messages produced. */
  messages: number;
}

/**
 * Decodes one connection's websocket messages into gateway message texts.
 *
 * @example
 * const inflater = createInflater('zlib-stream', 64 * 1024 * 1024);
 * socket.on('message', (data: Buffer) => { const text = inflater.push(data); if (text !== null) handle(text); });
 */
export interface Inflater {
  /**
   * Takes one websocket message and returns the gateway message it completes, or null
   * when more frames are needed (zlib-stream messages may span several).
   *
   * @throws Error from the decompressor for corrupt data: the context is unusable and the
   *   connection must be replaced. {@link InflatedSizeError} past the cap: the message was
   *   skipped and the context takes the next one.
   */
  push(data: Buffer): string | null;
  readonly metrics: InflaterMetrics;
  /** Releases the context (native memory) at once rather than at garbage collection. */
  close(): void;
}

class PlainDecoder implements Inflater {
  readonly metrics: InflaterMetrics = { bytesIn: 0, bytesOut: 0, messages: 0 };
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  push(data: Buffer): string {
    this.metrics.bytesIn += data.length;
    if (data.length > this.#limit) throw new InflatedSizeError(this.#limit, data.length, headOf(data));
    this.metrics.bytesOut += data.length;
    this.metrics.messages += 1;
    return data.toString('utf8');
  }
  close(): void {}
}

class ZlibStreamInflater implements Inflater {
  readonly metrics: InflaterMetrics = { bytesIn: 0, bytesOut: 0, messages: 0 };
  readonly #context = new ZlibContext('inflate');
  readonly #limit: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The message being skipped because it outgrew the cap while its frames still arrive. */
  #skipping: { size: number; head: string } | null = null;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(data: Buffer): string | null {
    this.metrics.bytesIn += data.length;
    const complete = this.#endsWithSuffix(data);
    if (this.#skipping === null && this.#pendingBytes + data.length > this.#limit) {
      // Compressed bytes only inflate to more: the message is over the cap. Its frames are
      // inflated and dropped as they come, so nothing large is held and the context stays in step.
      this.#skipping = { size: 0, head: '' };
      for (const part of this.#pending) this.#skip(part);
    }
    if (this.#skipping !== null) return this.#skipFrame(data, complete);
    if (!complete) {
      this.#pending.push(data);
      this.#pendingBytes += data.length;
      return null;
    }
    let input = data;
    if (this.#pending.length > 0) {
      this.#pending.push(data);
      input = Buffer.concat(this.#pending, this.#pendingBytes + data.length);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const before = this.#context.totalOut;
    const text = this.#context.processToString(input, this.#limit);
    this.metrics.bytesOut += this.#context.totalOut - before;
    this.metrics.messages += 1;
    return text;
  }

  #skip(part: Buffer): void {
    const skipping = this.#skipping as { size: number; head: string };
    const { size, head } = this.#context.skip(part);
    if (skipping.size === 0) skipping.head = head;
    skipping.size += size;
  }

  /** Drops a frame of the message being skipped; at its end, reports the message as discarded. */
  #skipFrame(data: Buffer, complete: boolean): null {
    this.#skip(data);
    // Only the last bytes are kept, for #endsWithSuffix to see a suffix split across frames.
    this.#pending = [Buffer.concat([...this.#pending.slice(-3).map((part) => part.subarray(-3)), data.subarray(-3)]).subarray(-3)];
    this.#pendingBytes = (this.#pending[0] as Buffer).length;
    if (!complete) return null;
    const skipped = this.#skipping as { size: number; head: string };
    this.#skipping = null;
    this.#pending = [];
    this.#pendingBytes = 0;
    throw new InflatedSizeError(this.#limit, skipped.size, skipped.head);
  }

  /**
   * Whether the message ends here: its last four bytes are the flush suffix, looking back
   * into the pending frames when this one is shorter (a split can cut the suffix itself).
   */
  #endsWithSuffix(data: Buffer): boolean {
    if (data.length >= 4) return data.readUInt32BE(data.length - 4) === ZLIB_SUFFIX;
    if (this.#pendingBytes + data.length < 4) return false;
    const tail = Buffer.concat([...this.#pending.slice(-4), data]);
    return tail.readUInt32BE(tail.length - 4) === ZLIB_SUFFIX;
  }

  close(): void {
    this.#context.close();
  }
}

/** Whether `compression: 'zstd-stream'` can be used here (the optional zstd-napi is installed). */
export function zstdSupported(): boolean {
  return loadZstd() !== null;
}

class ZstdStreamInflater implements Inflater {
  readonly metrics: InflaterMetrics = { bytesIn: 0, bytesOut: 0, messages: 0 };
  readonly #context: InstanceType<ZstdBinding['DCtx']>;
  readonly #limit: number;

  constructor(binding: ZstdBinding, limit: number) {
    this.#context = new binding.DCtx();
    this.#limit = limit;
  }

  /** Each websocket message is one whole gateway message, flushed but not ending the frame. */
  push(data: Buffer): string {
    this.metrics.bytesIn += data.length;
    let parts: Buffer[] | null = null;
    let head: string | null = null;
    let total = 0;
    let input = data;
    for (;;) {
      const [, produced, consumed] = this.#context.decompressStream(scratch, input);
      total += produced;
      input = input.subarray(consumed);
      const done = input.length === 0 && produced < scratch.length;
      if (head === null && total > this.#limit) {
        // Past the cap the rest is decoded into the scratch and dropped, keeping the context in step.
        head = headOf(parts?.[0] ?? scratch.subarray(0, produced));
        parts = null;
      }
      if (head !== null) {
        if (done) throw new InflatedSizeError(this.#limit, total, head);
        continue;
      }
      // Output that fits the scratch buffer is decoded in place, without a copy.
      if (done && parts === null) {
        this.metrics.bytesOut += total;
        this.metrics.messages += 1;
        return scratch.toString('utf8', 0, produced);
      }
      (parts ??= []).push(Buffer.from(scratch.subarray(0, produced)));
      if (done) break;
    }
    this.metrics.bytesOut += total;
    this.metrics.messages += 1;
    return Buffer.concat(parts, total).toString('utf8');
  }

  close(): void {}
}

/**
 * A new inflater for one connection.
 *
 * @param maxMessageBytes - the largest inflated message accepted; larger is an error, not an allocation.
 * @throws Error when `zstd-stream` is asked for and the optional zstd-napi is not installed.
 */
export function createInflater(compression: Compression, maxMessageBytes: number): Inflater {
  if (compression === 'zlib-stream') return new ZlibStreamInflater(maxMessageBytes);
  if (compression === 'zstd-stream') {
    const binding = loadZstd();
    if (binding === null) throw new Error("compression 'zstd-stream' needs the optional dependency zstd-napi, which is not installed");
    return new ZstdStreamInflater(binding, maxMessageBytes);
  }
  return new PlainDecoder(maxMessageBytes);
}
