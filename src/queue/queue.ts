/**
 * Identify admission: a Queue decides when a shard may send IDENTIFY, so a fleet keeps to
 * Discord's one identify per `max_concurrency` bucket per 5 s.
 */

/**
 * Decides when a shard may identify. Implement it to share admission between processes
 * (the Redis queue does).
 *
 * @example
 * const queue: Queue = { enqueue: async () => {} }; // no waiting, e.g. behind a gateway proxy
 */
export interface Queue {
  /**
   * Resolves when shard `shardId` may identify. When `signal` aborts first, rejects with
   * its reason and spends nothing.
   */
  enqueue(shardId: number, signal?: AbortSignal): Promise<void>;
}

/** Identifies are spaced this far apart per bucket (protocol.md section 6). */
export const IDENTIFY_INTERVAL_MS = 5_000;
