/**
 * Many shards from one config, as twilight-gateway 0.15's `stream` module creates them: a
 * bucket, a range, or the count Discord recommends (planned in plan.ts); and closing a fleet
 * into sessions that a later start resumes.
 */
import type { ShardConfig } from '../config.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { Session } from '../shard/session.js';
import { Shard } from '../shard/shard.js';
import { planBucket, planRange, planRecommended } from './plan.js';
import type { PerShardConfig, RecommendedConfig, ShardPlan } from './plan.js';

const build = (plans: ShardPlan[]): Shard[] => plans.map(({ id, config }) => new Shard(id, config));

/**
 * The shards of one identify bucket: ids `bucketId`, `bucketId + concurrency`, … below
 * `total`. Run one bucket per process to spread a bot over machines.
 *
 * @throws RangeError for non-integers, `concurrency` or `total` below 1, or `bucketId >= concurrency`.
 * @example
 * const shards = createBucket(0, 16, 64, config); // shards 0, 16, 32, 48
 */
export function createBucket(bucketId: number, concurrency: number, total: number, config: ShardConfig, perShard?: PerShardConfig): Shard[] {
  return build(planBucket(bucketId, concurrency, total, config, perShard));
}

/**
 * Shards `range.start` (inclusive) to `range.end` (exclusive) of `total`.
 *
 * @throws RangeError unless `0 <= start < end <= total` with integers.
 * @example
 * const shards = createRange({ start: 0, end: 8 }, 16, config); // this process runs half the bot
 */
export function createRange(range: { readonly start: number; readonly end: number }, total: number, config: ShardConfig, perShard?: PerShardConfig): Shard[] {
  return build(planRange(range, total, config, perShard));
}

/**
 * Asks Discord (`GET {restUrl}/gateway/bot`) how many shards to run, then creates them all,
 * connecting to the gateway URL it answers, with one queue sized from its
 * `max_concurrency` and `session_start_limit` (unless the config brings a queue).
 *
 * @throws ConfigError for an invalid config or `restUrl` (before any request);
 *   GatewayBotError with kind `Unauthorized` (bad token), `Network` (no answer),
 *   `Malformed` (an answer that is not the expected JSON) or `Status` (another status).
 * @example
 * const shards = await createRecommended({ token, intents });
 */
export async function createRecommended(config: RecommendedConfig, perShard?: PerShardConfig): Promise<Shard[]> {
  return build(await planRecommended(config, perShard));
}

/**
 * Closes every shard at once. With {@link CloseFrame.RESUME} the result maps each shard
 * number to its resumable session (shards without one are left out); give it to
 * `resumeSessions` when creating the next fleet, and `sessionsToJSON` to save it.
 *
 * @example
 * const sessions = await closeAll(shards, CloseFrame.RESUME);
 * const next = createRange({ start: 0, end: 16 }, 16, config, resumeSessions(sessions));
 */
export async function closeAll(shards: Iterable<Shard>, frame: CloseFrame = CloseFrame.NORMAL): Promise<Map<number, Session>> {
  const list = [...shards];
  const sessions = await Promise.all(list.map((shard) => shard.close(frame)));
  const result = new Map<number, Session>();
  sessions.forEach((session, index) => {
    if (session !== null) result.set((list[index] as Shard).id.number, session);
  });
  return result;
}
