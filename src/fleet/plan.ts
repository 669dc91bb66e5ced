/**
 * Which shards a bucket, a range or Discord's recommendation stands for, with the config
 * each gets — without building them, so a worker host or a service can build each shard
 * where it will live.
 */
import type { APIGatewayBotInfo } from 'discord-api-types/v10';
import { ConfigError, resolveShardConfig } from '../config.js';
import type { ShardConfig } from '../config.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { tokenUrlProblem } from '../shard/gateway-url.js';
import { ShardId } from '../shard/shard-id.js';
import { fetchGatewayBot } from './gateway-bot.js';

/** Customises one shard's config; gets the shard's id and the shared config (already holding the shared queue). */
export type PerShardConfig = (id: ShardId, config: ShardConfig) => ShardConfig;

/** One shard to build: its id and its config (holding the queue every shard of the plan shares). */
export interface ShardPlan {
  /** Which shard of how many it will be. */
  readonly id: ShardId;
  /** The config it will get: the shared one with the plan's queue, gateway URL and session applied. */
  readonly config: ShardConfig;
}

function positiveInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
}

/** A queue that takes fresh `session_start_limit` numbers, as `InMemoryQueue` and `RedisQueue` do. */
interface SizedQueue {
  update(maxConcurrency: number, remaining: number, resetAfter: number, total: number): void | Promise<void>;
}

const isSized = (queue: Queue | null | undefined): queue is Queue & SizedQueue => typeof (queue as Partial<SizedQueue> | null | undefined)?.update === 'function';

/** Every shard of one plan shares one queue: the config's, or a new in-memory one. */
function plan(ids: number[], total: number, config: ShardConfig, queue: () => Queue, perShard?: PerShardConfig): ShardPlan[] {
  const shared = config.queue ? config : { ...config, queue: queue() };
  return ids.map((number) => {
    const id = new ShardId(number, total);
    return { id, config: perShard ? perShard(id, shared) : shared };
  });
}

/**
 * The shards of one identify bucket: ids `bucketId`, `bucketId + concurrency`, … below `total`.
 *
 * @throws RangeError for non-integers, `concurrency` or `total` below 1, or `bucketId >= concurrency`.
 * @example
 * planBucket(0, 16, 64, config).map((plan) => plan.id.number); // [0, 16, 32, 48]
 */
export function planBucket(bucketId: number, concurrency: number, total: number, config: ShardConfig, perShard?: PerShardConfig): ShardPlan[] {
  positiveInteger('bucketId', bucketId, 0);
  positiveInteger('concurrency', concurrency, 1);
  positiveInteger('total', total, 1);
  if (bucketId >= concurrency) throw new RangeError(`bucketId ${bucketId} must be less than concurrency ${concurrency}`);
  const ids: number[] = [];
  for (let id = bucketId; id < total; id += concurrency) ids.push(id);
  return plan(ids, total, config, () => new InMemoryQueue(concurrency), perShard);
}

/**
 * Shards `range.start` (inclusive) to `range.end` (exclusive) of `total`.
 *
 * @throws RangeError unless `0 <= start < end <= total` with integers.
 * @example
 * planRange({ start: 0, end: 8 }, 16, config).length; // 8
 */
export function planRange(range: { readonly start: number; readonly end: number }, total: number, config: ShardConfig, perShard?: PerShardConfig): ShardPlan[] {
  positiveInteger('total', total, 1);
  positiveInteger('range.start', range.start, 0);
  positiveInteger('range.end', range.end, 1);
  if (range.start >= range.end || range.end > total) {
    throw new RangeError(`range must satisfy 0 <= start < end <= total, got start ${range.start}, end ${range.end}, total ${total}`);
  }
  const ids = Array.from({ length: range.end - range.start }, (_, i) => range.start + i);
  return plan(ids, total, config, () => new InMemoryQueue(1), perShard);
}

/** A shard config plus where to ask for `/gateway/bot`. */
export interface RecommendedConfig extends ShardConfig {
  /**
   * The REST base: Discord's `https://discord.com/api/v10` by default, a FakeGateway's
   * `restUrl`, or a REST proxy. `http:` only to loopback unless `allowInsecureUrls`, since
   * the request carries the token.
   */
  restUrl?: string;
}

/** The REST base, checked like a gateway URL: the request carries the token. @throws ConfigError naming `restUrl`. */
export function checkedRestUrl(restUrl: string, allowInsecureUrls: boolean): string {
  const problem = URL.canParse(restUrl) ? tokenUrlProblem(new URL(restUrl), 'http:', 'https:', allowInsecureUrls) : 'must be a valid URL';
  if (problem !== null) throw new ConfigError('restUrl', `${problem}, got ${JSON.stringify(restUrl.slice(0, 100))}`);
  return restUrl;
}

/** Discord's REST base, where `/gateway/bot` is asked unless a config says otherwise. */
export const DISCORD_REST_URL = 'https://discord.com/api/v10';

/**
 * `GET {restUrl}/gateway/bot` with the config's token and user agent.
 *
 * @throws ConfigError for an invalid config or `restUrl` (before any request); GatewayBotError.
 * @internal
 */
export function gatewayBotFor(config: RecommendedConfig): Promise<APIGatewayBotInfo> {
  const { restUrl = DISCORD_REST_URL, ...shardConfig } = config;
  const resolved = resolveShardConfig(shardConfig);
  return fetchGatewayBot(checkedRestUrl(restUrl, resolved.allowInsecureUrls), resolved.token.reveal(), { userAgent: resolved.userAgent });
}

/**
 * Asks Discord (`GET {restUrl}/gateway/bot`) how many shards to run and plans them all,
 * connecting to the gateway URL it answers, sharing one queue sized from its
 * `max_concurrency` and `session_start_limit`: a new `InMemoryQueue`, or the config's queue
 * given those numbers through its `update()` when it has one (`InMemoryQueue`, `RedisQueue`).
 *
 * @throws ConfigError for an invalid config or `restUrl` (before any request);
 *   GatewayBotError with kind `Unauthorized` (bad token), `Network` (no answer),
 *   `Malformed` (an answer that is not the expected JSON) or `Status` (another status).
 * @example
 * const plans = await planRecommended({ token, intents });
 */
export async function planRecommended(config: RecommendedConfig, perShard?: PerShardConfig): Promise<ShardPlan[]> {
  const { restUrl, ...shardConfig } = config;
  const info = await gatewayBotFor({ ...shardConfig, ...(restUrl === undefined ? {} : { restUrl }) });
  const limit = info.session_start_limit;
  const ids = Array.from({ length: info.shards }, (_, i) => i);
  const queue = () => new InMemoryQueue(limit.max_concurrency, limit.remaining, limit.reset_after, limit.total);
  const given = shardConfig.queue;
  if (isSized(given)) await given.update(limit.max_concurrency, limit.remaining, limit.reset_after, limit.total);
  return plan(ids, info.shards, { ...shardConfig, gatewayUrl: info.url }, queue, perShard);
}
