/**
 * A zlib (de)compression context driven synchronously: one persistent deflate or inflate
 * stream whose native handle is fed directly, so each message costs no thread-pool hop
 * and no event-loop turn.
 */
import zlib from 'node:zlib';
import { scratch } from './scratch.js';

/** The parts of Node's zlib stream internals this module drives (stable since Node 12). */
interface NativeZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, output: Buffer, outOffset: number, outLength: number): void;
}
interface ZlibInternals {
  _handle: NativeZlibHandle | null;
  /** [bytes of output space left, bytes of input left] after the last write. */
  _writeState: Uint32Array;
}

/** How much of an oversized message's text {@link InflatedSizeError} keeps, for reading its envelope. */
const HEAD_CHARS = 512;

/**
 * Raised for a message that inflates to more than the allowed size. The message went
 * through the decompressor into the scratch buffer and was thrown away, never gathered,
 * so the context is still in step for the next message.
 */
export class InflatedSizeError extends RangeError {
  /**
   * @param limit - the cap, in bytes.
   * @param size - the message's inflated size, in bytes.
   * @param head - the first characters of its text, to read its envelope from.
   */
  constructor(
    readonly limit: number,
    readonly size: number,
    readonly head: string,
  ) {
    super(`inflated message of ${size} bytes exceeds the ${limit} byte limit: discarded`);
    this.name = 'InflatedSizeError';
  }
}

/** The start of an oversized message's text, from its first chunk of output. */
export function headOf(first: Buffer): string {
  return first.toString('utf8', 0, Math.min(first.length, HEAD_CHARS));
}

/**
 * One persistent zlib context. `process` compresses or decompresses a chunk and flushes
 * (Z_SYNC_FLUSH by default), returning all the output at once.
 *
 * @example
 * const deflate = new ZlibContext('deflate');
 * const inflate = new ZlibContext('inflate');
 * inflate.processToString(deflate.process(Buffer.from('{"op":11}'))); // '{"op":11}'
 */
export class ZlibContext {
  readonly #stream: zlib.Deflate | zlib.Inflate;
  readonly #internals: ZlibInternals;
  #totalOut = 0;

  /** @param kind - `'deflate'` to compress, `'inflate'` to decompress (RFC 1950 zlib format). */
  constructor(kind: 'deflate' | 'inflate') {
    // The stream's own output buffer is never used (output goes to the shared scratch): keep it minimal.
    const options = { chunkSize: zlib.constants.Z_MIN_CHUNK };
    this.#stream = kind === 'deflate' ? zlib.createDeflate({ ...options, level: 6 }) : zlib.createInflate(options);
    // destroy(error) emits 'error' later; the error is read synchronously from `errored` instead.
    this.#stream.on('error', () => undefined);
    this.#internals = this.#stream as unknown as ZlibInternals;
  }

  /**
   * Processes `input` and flushes, returning the output bytes.
   *
   * @throws Error with zlib's message and `code` (e.g. `Z_DATA_ERROR`) for corrupt input;
   *   the context is then unusable and must be replaced.
   */
  process(input: Buffer, flush: number = zlib.constants.Z_SYNC_FLUSH): Buffer {
    const parts: Buffer[] = [];
    const total = this.#run(input, flush, (produced) => parts.push(Buffer.from(scratch.subarray(0, produced))));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  }

  /**
   * Processes `input` and returns the output decoded as UTF-8. Output that fits the scratch
   * buffer (almost every gateway message) is decoded in place, without a copy.
   *
   * @throws as {@link ZlibContext.process}; {@link InflatedSizeError} when the output passes
   *   `maxOutput` bytes: what is past the cap is never gathered, and the context stays usable.
   */
  processToString(input: Buffer, maxOutput = Number.POSITIVE_INFINITY): string {
    let parts: Buffer[] | null = null;
    let single = -1;
    let head: string | null = null;
    const total = this.#run(input, zlib.constants.Z_SYNC_FLUSH, (produced, last, total) => {
      if (head !== null) return;
      if (total > maxOutput) {
        head = headOf(parts?.[0] ?? scratch.subarray(0, produced));
        parts = null;
      } else if (parts === null && last) single = produced;
      else (parts ??= []).push(Buffer.from(scratch.subarray(0, produced)));
    });
    if (head !== null) throw new InflatedSizeError(maxOutput, total, head);
    if (single >= 0) return scratch.toString('utf8', 0, single);
    return Buffer.concat(parts ?? [], total).toString('utf8');
  }

  /**
   * Decompresses `input` into the scratch buffer and throws the output away, keeping the
   * context in step: how a message over the size cap is skipped while it still arrives.
   * Returns the size of the output and the start of its text.
   *
   * @throws as {@link ZlibContext.process}.
   */
  skip(input: Buffer): { size: number; head: string } {
    let head = '';
    const size = this.#run(input, zlib.constants.Z_SYNC_FLUSH, (produced, _last, total) => {
      if (produced > 0 && total === produced) head = headOf(scratch.subarray(0, produced));
    });
    return { size, head };
  }

  /** Bytes of output produced over the context's life, including output skipped past a cap. */
  get totalOut(): number {
    return this.#totalOut;
  }

  /** Feeds `input` through the native handle, handing each filled stretch of scratch to `take`. */
  #run(input: Buffer, flush: number, take: (produced: number, last: boolean, total: number) => void): number {
    const handle = this.#internals._handle;
    if (handle === null) throw new Error('zlib context is closed');
    const state = this.#internals._writeState;
    let total = 0;
    let inOffset = 0;
    let inLength = input.length;
    for (;;) {
      handle.writeSync(flush, input, inOffset, inLength, scratch, 0, scratch.length);
      const error = this.#stream.errored;
      if (error) throw error;
      const outLeft = state[0] as number;
      const inLeft = state[1] as number;
      const produced = scratch.length - outLeft;
      total += produced;
      this.#totalOut += produced;
      const last = outLeft !== 0;
      if (produced > 0 || last) take(produced, last, total);
      inOffset += inLength - inLeft;
      inLength = inLeft;
      if (last) return total;
    }
  }

  /** Releases the native context. */
  close(): void {
    this.#stream.close();
  }
}
