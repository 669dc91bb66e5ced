/**
 * A zlib (de)compression context driven synchronously: one persistent deflate or inflate
 * stream whose native handle is fed directly, so each message costs no thread-pool hop
 * and no event-loop turn.
 */
import zlib from 'node:zlib';

/** The parts of Node's zlib stream internals this module drives (stable since Node 12). */
interface NativeZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, output: Buffer, outOffset: number, outLength: number): void;
}
interface ZlibInternals {
  _handle: NativeZlibHandle | null;
  /** [bytes of output space left, bytes of input left] after the last write. */
  _writeState: Uint32Array;
}

/** Raised when a message inflates to more than the allowed size; the context is unusable after it. */
export class InflatedSizeError extends RangeError {
  constructor(readonly limit: number) {
    super(`inflated message exceeds the ${limit} byte limit`);
    this.name = 'InflatedSizeError';
  }
}

/**
 * One persistent zlib context. `process` compresses or decompresses a chunk and flushes
 * (Z_SYNC_FLUSH by default), returning all the output at once.
 *
 * @example
 * const deflate = new ZlibContext('deflate');
 * const inflate = new ZlibContext('inflate');
 * inflate.process(deflate.process(Buffer.from('{"op":11}'))).toString(); // '{"op":11}'
 */
export class ZlibContext {
  readonly #stream: zlib.Deflate | zlib.Inflate;
  readonly #internals: ZlibInternals;
  readonly #out: Buffer;

  /**
   * @param kind - `'deflate'` to compress, `'inflate'` to decompress (RFC 1950 zlib format).
   * @param chunkSize - the scratch output buffer; output larger than it is gathered in pieces.
   */
  constructor(kind: 'deflate' | 'inflate', chunkSize = 64 * 1024) {
    this.#stream = kind === 'deflate' ? zlib.createDeflate({ level: 6 }) : zlib.createInflate();
    // destroy(error) emits 'error' later; the error is read synchronously from `errored` instead.
    this.#stream.on('error', () => undefined);
    this.#internals = this.#stream as unknown as ZlibInternals;
    this.#out = Buffer.allocUnsafe(chunkSize);
  }

  /**
   * Processes `input` and flushes, returning the output.
   *
   * @throws Error with zlib's message and `code` (e.g. `Z_DATA_ERROR`) for corrupt input,
   *   or {@link InflatedSizeError} when the output passes `maxOutput` bytes; either way the
   *   context is closed and must be replaced.
   */
  process(input: Buffer, maxOutput = Number.POSITIVE_INFINITY, flush: number = zlib.constants.Z_SYNC_FLUSH): Buffer {
    const handle = this.#internals._handle;
    if (handle === null) throw new Error('zlib context is closed');
    const state = this.#internals._writeState;
    const out = this.#out;
    const parts: Buffer[] = [];
    let total = 0;
    let inOffset = 0;
    let inLength = input.length;
    for (;;) {
      handle.writeSync(flush, input, inOffset, inLength, out, 0, out.length);
      const error = this.#stream.errored;
      if (error) throw error;
      const outLeft = state[0] as number;
      const inLeft = state[1] as number;
      const produced = out.length - outLeft;
      total += produced;
      if (total > maxOutput) {
        this.close();
        throw new InflatedSizeError(maxOutput);
      }
      if (produced > 0) parts.push(Buffer.from(out.subarray(0, produced)));
      inOffset += inLength - inLeft;
      inLength = inLeft;
      if (outLeft !== 0) break;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  }

  /** Releases the native context. */
  close(): void {
    this.#stream.close();
  }
}
