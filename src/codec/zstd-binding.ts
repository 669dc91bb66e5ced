/**
 * Loads the optional native zstd binding (zstd-napi) once, for the zstd-stream decoder and
 * the simulator's encoder; its absence is an answer, not an error.
 */
import { createRequire } from 'node:module';
import type * as ZstdBindingModule from 'zstd-napi/binding.js';

/** The zstd-napi low-level binding (CCtx, DCtx, …). */
export type ZstdBinding = typeof ZstdBindingModule;

let binding: ZstdBinding | null | undefined;

/**
 * The zstd-napi binding, or null when the optional dependency is not installed (or did not build).
 *
 * @example
 * const zstd = loadZstd();
 * if (zstd === null) console.warn('zstd-stream unavailable');
 */
export function loadZstd(): ZstdBinding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;
    } catch {
      binding = null;
    }
  }
  return binding;
}
