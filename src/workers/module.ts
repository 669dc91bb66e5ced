/**
 * What a WorkerFleet's `module` may export: code that runs inside every worker thread, next
 * to the shards, for bots that want their work on the worker's core.
 */
import type { ShardConfig } from '../config.js';
import type { ShardEvent } from '../shard/events.js';
import type { ShardId } from '../shard/shard-id.js';
import type { Shard } from '../shard/shard.js';

/**
 * The exports of a worker module, all optional. Write it as its own file (ESM) and pass its
 * URL as `module`; it is imported once per worker, and again when a worker restarts.
 *
 * @example
 * // handler.js
 * export function handleEvent(event, shard) {
 *   if (event.t === 'MESSAGE_CREATE' && event.d.content === '!ping') {
 *     void reply(event.d.channel_id, 'pong'); // handled here, on the worker's core
 *     return false;                            // and not forwarded to the main thread
 *   }
 * }
 * export const configureShard = (id, config) => ({ ...config, largeThreshold: id.number === 0 ? 250 : 50 });
 */
export interface WorkerModule {
  /**
   * Called in the worker with each event its shards yield (dispatches in `eventTypes`,
   * other payloads, closes, errors), in order per shard, before it is forwarded. Return
   * `false` (or a promise of it) to keep the event in the worker; anything else forwards it.
   * A throw, or a rejected promise, crashes the worker: it restarts, its shards resume from
   * the last forwarded point, and the event is handed to the new worker again.
   */
  handleEvent?(event: ShardEvent, shard: Shard): boolean | void | Promise<boolean | void>;
  /**
   * Each shard's config, built in the worker since functions cannot cross threads. It gets
   * the fleet's config; the fleet's identify queue replaces any `queue` it returns.
   */
  configureShard?(id: ShardId, config: ShardConfig): ShardConfig;
}
