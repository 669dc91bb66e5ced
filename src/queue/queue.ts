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
   * its reason and spends nothing. Any other rejection (a shared queue that cannot reach
   * its store) tells the shard to give up this connection: it reports a `Queue` error
   * item, reconnects after a backoff that grows with each rejection in a row, and asks again.
   */
  enqueue(shardId: number, signal?: AbortSignal): Promise<void>;
}

/** Discord's window: one identify per bucket per this long (protocol.md section 6). */
export const IDENTIFY_INTERVAL_MS = 5_000;

/**
 * Extra spacing the in-memory queue adds to the window. Two identifies sent exactly 5 s
 * apart can reach Discord closer than that (network and event-loop jitter), and the second
 * is then refused with op 9; a quarter second costs little and avoids it.
 */
export const IDENTIFY_MARGIN_MS = 250;
