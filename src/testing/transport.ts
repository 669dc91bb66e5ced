/**
 * The simulator's outgoing side of one connection: encodes each gateway message as the
 * client asked in `compress` (none, zlib-stream, zstd-stream) on one compression context
 * per connection, and can deliberately split or corrupt what it sends.
 */
import type { WebSocket } from 'ws';
import { ZlibContext } from '../codec/zlib-context.js';
import { loadZstd } from '../codec/zstd-binding.js';
import type { ZstdBinding } from '../codec/zstd-binding.js';
import { ZLIB_SUFFIX } from './compression.js';
import type { TransportCompression } from './compression.js';

interface MessageEncoder {
  /** Compress one whole gateway message, flushed so the client can decode it alone. */
  encode(message: Buffer): Buffer;
  close(): void;
}

class ZlibStreamEncoder implements MessageEncoder {
  readonly #deflate = new ZlibContext('deflate');

  encode(message: Buffer): Buffer {
    return this.#deflate.process(message);
  }

  close(): void {
    this.#deflate.close();
  }
}

class ZstdStreamEncoder implements MessageEncoder {
  readonly #binding: ZstdBinding;
  readonly #cctx: InstanceType<ZstdBinding['CCtx']>;
  #out = Buffer.allocUnsafe(64 * 1024);

  constructor(binding: ZstdBinding) {
    this.#binding = binding;
    this.#cctx = new binding.CCtx();
    this.#cctx.setParameter(binding.CParameter.compressionLevel, 3);
  }

  /** Flushes without ending the frame (ZSTD_e_flush), as Discord's zstd-stream does. */
  encode(message: Buffer): Buffer {
    const chunks: Buffer[] = [];
    let input = message;
    for (;;) {
      const [remaining, produced, consumed] = this.#cctx.compressStream2(
        this.#out,
        input,
        this.#binding.EndDirective.flush,
      );
      chunks.push(Buffer.from(this.#out.subarray(0, produced)));
      input = input.subarray(consumed);
      if (remaining === 0 && input.length === 0) break;
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }

  close(): void {
    this.#out = Buffer.alloc(0);
  }
}

/**
 * Sends whole gateway messages over one websocket in the connection's encoding.
 *
 * @throws Error from the constructor when zstd-stream is asked for but zstd-napi is absent.
 */
export class Transport {
  readonly compression: TransportCompression;
  readonly #socket: WebSocket;
  readonly #encoder: MessageEncoder | null;

  constructor(socket: WebSocket, compression: TransportCompression) {
    this.#socket = socket;
    this.compression = compression;
    if (compression === 'zlib-stream') this.#encoder = new ZlibStreamEncoder();
    else if (compression === 'zstd-stream') {
      const binding = loadZstd();
      if (binding === null) throw new Error('zstd-stream needs the optional dependency zstd-napi, which is not installed');
      this.#encoder = new ZstdStreamEncoder(binding);
    } else this.#encoder = null;
  }

  /**
   * Sends one message. With `pieces` above 1 it is split: zlib-stream output goes out as
   * that many websocket messages (the client must buffer until the suffix); JSON and
   * zstd-stream, where one websocket message is one gateway message, go out as one
   * websocket message in that many fragments (continuation frames).
   * `onSent` runs once the bytes are handed to the kernel, for backpressure.
   */
  send(text: string, pieces = 1, onSent?: () => void): void {
    const raw = Buffer.from(text);
    const data = this.#encoder === null ? raw : this.#encoder.encode(raw);
    const binary = this.#encoder !== null;
    if (pieces <= 1 || data.length < 2) {
      this.#socket.send(data, { binary }, onSent && (() => onSent()));
      return;
    }
    const parts = splitBuffer(data, pieces);
    const separateMessages = this.compression === 'zlib-stream';
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const fin = separateMessages || last;
      this.#socket.send(part, { binary, fin }, last && onSent ? () => onSent() : undefined);
    });
  }

  /**
   * Puts bytes on the wire that the client cannot decode: for compressed transports a
   * frame that breaks the decompression context (zlib-stream's still ends in the flush
   * suffix so the client tries to inflate it); for JSON a binary frame of invalid UTF-8.
   */
  sendCorrupt(): void {
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff, 0xfe, 0x80, 0x81, 0x00, 0x13, 0x37]);
    const data = this.compression === 'zlib-stream' ? Buffer.concat([garbage, ZLIB_SUFFIX]) : garbage;
    this.#socket.send(data, { binary: true });
  }

  /**
   * Sends `data` as one websocket message, optionally compressed on the connection's
   * context first, then cut and corrupted: see the `raw-frame` fault.
   */
  sendRaw(data: string | Uint8Array, options: { encode?: boolean; truncate?: number; corruptAt?: number; binary?: boolean }): void {
    const raw = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    let bytes = options.encode === false || this.#encoder === null ? Buffer.from(raw) : this.#encoder.encode(raw);
    if (options.truncate !== undefined) bytes = bytes.subarray(0, options.truncate);
    if (options.corruptAt !== undefined && bytes.length > 0) {
      const at = options.corruptAt % bytes.length;
      bytes[at] = (bytes[at] as number) ^ 0xff;
    }
    this.#socket.send(bytes, { binary: options.binary ?? true });
  }

  close(): void {
    this.#encoder?.close();
  }
}

function splitBuffer(data: Buffer, pieces: number): Buffer[] {
  const count = Math.min(pieces, data.length);
  const size = Math.ceil(data.length / count);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) parts.push(data.subarray(offset, offset + size));
  return parts;
}
