/**
 * Many shards from one config, as twilight-gateway 0.15's `stream` module creates them: a
 * bucket, a range, or the count Discord recommends; and closing a fleet into sessions that
 * a later start resumes.
 */
import { ConfigError, resolveShardConfig } from '../config.js';
import type { ShardConfig } from '../config.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import { tokenUrlProblem } from '../shard/gateway-url.js';
import type { Session } from '../shard/session.js';
import { Shard } from '../shard/shard.js';
import { ShardId } from '../shard/shard-id.js';
import { fetchGatewayBot } from './gateway-bot.js';

/** Customises one shard's config; gets the shard's id and the shared config (already holding the shared queue). */
export type PerShardConfig = (id: ShardId, config: ShardConfig) => ShardConfig;

function positiveInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
}

/** Every shard of one call shares one queue: the config's, or a new in-memory one. */
function shared(config: ShardConfig, queue: () => Queue): ShardConfig {
  return config.queue ? config : { ...config, queue: queue() };
}

function build(ids: number[], total: number, config: ShardConfig, perShard?: PerShardConfig): Shard[] {
  return ids.map((number) => {
    const id = new ShardId(number, total);
    return new Shard(id, perShard ? perShard(id, config) : config);
  });
}

/**
 * The shards of one identify bucket: ids `bucketId`, `bucketId + concurrency`, … below
 * `total`. Run one bucket per process to spread a bot over machines.
 *
 * @throws RangeError for non-integers, `concurrency` or `total` below 1, or `bucketId >= concurrency`.
 * @example
 * const shards = createBucket(0, 16, 64, config); // shards 0, 16, 32, 48
 */
export function createBucket(bucketId: number, concurrency: number, total: number, config: ShardConfig, perShard?: PerShardConfig): Shard[] {
  positiveInteger('createBucket bucketId', bucketId, 0);
  positiveInteger('createBucket concurrency', concurrency, 1);
  positiveInteger('createBucket total', total, 1);
  if (bucketId >= concurrency) throw new RangeError(`createBucket bucketId ${bucketId} must be less than concurrency ${concurrency}`);
  const ids: number[] = [];
  for (let id = bucketId; id < total; id += concurrency) ids.push(id);
  return build(ids, total, shared(config, () => new InMemoryQueue(concurrency)), perShard);
}

/**
 * Shards `range.start` (inclusive) to `range.end` (exclusive) of `total`.
 *
 * @throws RangeError unless `0 <= start < end <= total` with integers.
 * @example
 * const shards = createRange({ start: 0, end: 8 }, 16, config); // this process runs half the bot
 */
export function createRange(range: { readonly start: number; readonly end: number }, total: number, config: ShardConfig, perShard?: PerShardConfig): Shard[] {
  positiveInteger('createRange total', total, 1);
  positiveInteger('createRange range.start', range.start, 0);
  positiveInteger('createRange range.end', range.end, 1);
  if (range.start >= range.end || range.end > total) {
    throw new RangeError(`createRange range must satisfy 0 <= start < end <= total, got start ${range.start}, end ${range.end}, total ${total}`);
  }
  const ids = Array.from({ length: range.end - range.start }, (_, i) => range.start + i);
  return build(ids, total, shared(config, () => new InMemoryQueue(1)), perShard);
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

/** The REST base, checked like a gateway URL: the request carries the token. */
function checkedRestUrl(restUrl: string, allowInsecureUrls: boolean): string {
  const problem = URL.canParse(restUrl) ? tokenUrlProblem(new URL(restUrl), 'http:', 'https:', allowInsecureUrls) : 'must be a valid URL';
  if (problem !== null) throw new ConfigError('restUrl', `${problem}, got ${JSON.stringify(restUrl.slice(0, 100))}`);
  return restUrl;
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
  const { restUrl = 'https://discord.com/api/v10', ...shardConfig } = config;
  const resolved = resolveShardConfig(shardConfig);
  const info = await fetchGatewayBot(checkedRestUrl(restUrl, resolved.allowInsecureUrls), resolved.token.reveal(), { userAgent: resolved.userAgent });
  const limit = info.session_start_limit;
  const withUrl: ShardConfig = { ...shardConfig, gatewayUrl: info.url };
  const queue = () => new InMemoryQueue(limit.max_concurrency, limit.remaining, limit.reset_after, limit.total);
  const ids = Array.from({ length: info.shards }, (_, i) => i);
  return build(ids, info.shards, shared(withUrl, queue), perShard);
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
