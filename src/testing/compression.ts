/**
 * What a client of the simulator may ask for in `compress`, and what it can expect on the
 * wire; kept apart from the transport so the public declarations need no websocket types.
 */
import { loadZstd } from '../codec/zstd-binding.js';

/** The transport compressions a client can ask for in the `compress` query parameter. */
export type TransportCompression = 'none' | 'zlib-stream' | 'zstd-stream';

/** Bytes that end every zlib-stream message (a Z_SYNC_FLUSH marker). */
export const ZLIB_SUFFIX = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Whether this installation can serve `compress=zstd-stream` (the optional zstd-napi is installed).
 *
 * @example
 * const compress = zstdAvailable() ? 'zstd-stream' : 'zlib-stream';
 */
export function zstdAvailable(): boolean {
  return loadZstd() !== null;
}
