/**
 * The identify queue shared over Redis: every process and machine with the same prefix
 * keeps to one identify per bucket per window and one daily budget. Tickets in a sorted set
 * per bucket make the order FIFO; a lease on each ticket, renewed while its shard waits,
 * means a process that dies cannot hold a bucket for longer than a lease; and each step is
 * one Lua script reading the time from Redis, never from the machines' clocks.
 */
import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { IDENTIFY_INTERVAL_MS, IDENTIFY_MARGIN_MS } from '../queue/queue.js';
import type { Queue } from '../queue/queue.js';
import { redisConnection } from './connection.js';
import type { RedisInput } from './connection.js';

const DAY_MS = 86_400_000;
/**
 * How long a waiting ticket lives without renewal. A waiter renews it every third of this,
 * so a live one never lapses; a dead one is skipped 3 s after its last renewal, inside one
 * identify window.
 */
const LEASE_MS = 3_000;
const RENEW_MS = LEASE_MS / 3;
/** How long a ticket's admission is remembered: a call whose reply was lost learns it was admitted instead of being admitted twice. */
const ADMITTED_MEMORY_MS = 60_000;
/** Retry delays while Redis cannot be reached (a ticket that lapses meanwhile keeps its place). */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2_000;

/** Lua: the time of Redis in milliseconds, as an integer. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: tickets (sorted set), leases (hash), last admission, budget (hash), this ticket's
 * admission mark, the queue's epoch, the ticket counter. ARGV: ticket, its place (0 for a
 * new ticket), lease ms, interval ms, this process's max_concurrency, then remaining, total
 * and reset after ms (the four for a budget not yet in Redis). Returns {1, 0, place}
 * admitted, {0, ms, place} wait about that long, or {2, max_concurrency} when Redis buckets
 * by another concurrency than the caller (it re-buckets and asks again).
 *
 * A ticket keeps its place across calls, so one that lapsed while its process could not
 * reach Redis rejoins where it stood. Numbers written to Redis go through '%d': Lua would
 * write large ones in exponent notation.
 *
 * A Redis with no epoch for the queue (new, or restarted without its data) cannot tell whether
 * an identify went out in the last window, so its first admission waits one window.
 */
const ACQUIRE = `${NOW}
local ticket, place, lease, interval = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('HSET', KEYS[4], 'remaining', ARGV[6], 'total', ARGV[7], 'resetAt', string.format('%d', now + tonumber(ARGV[8])), 'maxConcurrency', ARGV[5])
end
local concurrency = redis.call('HGET', KEYS[4], 'maxConcurrency')
if not concurrency then
  redis.call('HSET', KEYS[4], 'maxConcurrency', ARGV[5])
elseif concurrency ~= ARGV[5] then
  redis.call('ZREM', KEYS[1], ticket)
  redis.call('HDEL', KEYS[2], ticket)
  return {2, tonumber(concurrency)}
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  -- admitted before, the reply lost: the identify goes out now, so the window starts now
  redis.call('SET', KEYS[3], string.format('%d', now), 'PX', interval + lease)
  return {1, 0, place}
end
redis.call('SET', KEYS[6], string.format('%d', now), 'NX')
local epoch = tonumber(redis.call('GET', KEYS[6]))
if not redis.call('ZSCORE', KEYS[1], ticket) then
  if place == 0 then place = redis.call('INCR', KEYS[7]) end
  redis.call('ZADD', KEYS[1], place, ticket)
end
redis.call('HSET', KEYS[2], ticket, string.format('%d', now + lease))
redis.call('PEXPIRE', KEYS[1], lease * 2)
redis.call('PEXPIRE', KEYS[2], lease * 2)
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not head or tonumber(redis.call('HGET', KEYS[2], head) or '0') > now then break end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
end
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] ~= ticket then return {0, lease / 3, place} end
local nextAt = tonumber(redis.call('GET', KEYS[3]) or epoch) + interval
if now < nextAt then return {0, nextAt - now, place} end
local total = tonumber(redis.call('HGET', KEYS[4], 'total'))
local resetAt = tonumber(redis.call('HGET', KEYS[4], 'resetAt'))
if now >= resetAt then
  while resetAt <= now do resetAt = resetAt + ${DAY_MS} end
  redis.call('HSET', KEYS[4], 'remaining', total, 'resetAt', string.format('%d', resetAt))
end
if tonumber(redis.call('HGET', KEYS[4], 'remaining')) <= 0 then return {0, resetAt - now, place} end
redis.call('HINCRBY', KEYS[4], 'remaining', -1)
redis.call('SET', KEYS[3], string.format('%d', now), 'PX', interval + lease)
redis.call('ZREM', KEYS[1], ticket)
redis.call('HDEL', KEYS[2], ticket)
redis.call('SET', KEYS[5], 1, 'PX', ${ADMITTED_MEMORY_MS})
return {1, 0, place}
`;

/** KEYS: tickets, leases. ARGV: ticket. Takes a ticket back (an aborted wait). */
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/**
 * KEYS: budget. ARGV: max_concurrency, remaining, total, reset after ms. Replaces the budget,
 * on Redis time. When the stored budget is of the same day (its reset within a minute of the
 * new one), the lower remaining wins: identifies admitted since the caller asked Discord
 * stay spent.
 */
const UPDATE = `${NOW}
local resetAt = now + tonumber(ARGV[4])
local remaining = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'remaining', 'resetAt')
if stored[1] and stored[2] and math.abs(tonumber(stored[2]) - resetAt) < 60000 then
  remaining = math.min(remaining, tonumber(stored[1]))
end
redis.call('HSET', KEYS[1], 'maxConcurrency', ARGV[1], 'remaining', string.format('%d', remaining), 'total', ARGV[3], 'resetAt', string.format('%d', resetAt))
return 1
`;

interface QueueScripts {
  gloamingQueueAcquire(...args: (string | number)[]): Promise<[number, number, number?]>;
  gloamingQueueRelease(...args: (string | number)[]): Promise<number>;
  gloamingQueueUpdate(...args: (string | number)[]): Promise<number>;
}

/** Options of a {@link RedisQueue}. */
export interface RedisQueueOptions {
  /** An ioredis client (left open by `close()`), or a `redis://` URL (connected, and closed by `close()`). */
  readonly redis: RedisInput;
  /**
   * Discord's `max_concurrency`, used until Redis holds one: the first process to reach Redis
   * stores it, `update()` replaces it, and every process buckets by the stored value. 0 admits
   * at once, without Redis.
   */
  readonly maxConcurrency: number;
  /** Put before every key; default `gloaming:queue:`. Processes share a queue by sharing a prefix: one per bot. */
  readonly prefix?: string;
  /** The daily budget's `remaining`, used only when Redis holds no budget yet; default 1000. */
  readonly remaining?: number;
  /** The daily budget's `total`; default 1000. */
  readonly total?: number;
  /** Milliseconds until the budget refills, used with `remaining`; default 24 h. */
  readonly resetAfter?: number;
  /** Spacing of identifies in one bucket; default 5,250 ms (Discord's 5 s and the in-memory queue's margin). */
  readonly intervalMs?: number;
  /** Where Redis outages are logged (warn); default silent. */
  readonly logger?: Logger;
}

const nonNegativeInteger = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`RedisQueue ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
};

/** Sleeps `ms`, or until `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A {@link Queue} on Redis, shared by every process and machine that uses the same prefix:
 * one identify per bucket (`shard_id % maxConcurrency`) per window, buckets in parallel,
 * first come first served inside a bucket, and one daily budget — an identify anywhere
 * spends it for all, and when it is spent waiters wait for the reset. Time is Redis's.
 *
 * Crash-safe: a process killed while waiting holds its bucket at most 3 s (its ticket's
 * lease); an aborted wait takes its ticket back and spends nothing. While Redis cannot be
 * reached, waits retry with backoff (logged) and nothing is admitted that Redis did not
 * record. A Redis that lost the queue's data (new, or restarted without persistence) makes
 * its first admission in each bucket wait one window, since it cannot know what went out.
 *
 * Every process buckets by the `max_concurrency` stored in Redis, so one that was given an
 * older number (or ran `update()` later) cannot admit two shards of one Discord bucket at
 * once. Redis Cluster is not supported: the keys of one bucket and the budget are used
 * together by one script, and they carry no hash tags.
 *
 * @throws RangeError (constructor) naming a bad number; TypeError for a bad `redis`.
 * @example
 * import { RedisQueue } from 'gloaming/redis';
 * const queue = new RedisQueue({ redis: 'redis://127.0.0.1:6379', maxConcurrency: 16 });
 * const shards = createRange({ start: 0, end: 64 }, 256, { token, intents, queue });
 */
export class RedisQueue implements Queue {
  readonly #redis: RedisClient & QueueScripts;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #interval: number;
  readonly #logger: Logger | null;
  #maxConcurrency: number;
  readonly #initial: { readonly remaining: number; readonly total: number; readonly resetAfter: number };

  constructor(options: RedisQueueOptions) {
    this.#maxConcurrency = nonNegativeInteger('maxConcurrency', options.maxConcurrency);
    const remaining = nonNegativeInteger('remaining', options.remaining ?? 1000);
    const total = nonNegativeInteger('total', options.total ?? 1000);
    const resetAfter = nonNegativeInteger('resetAfter', options.resetAfter ?? DAY_MS);
    if (remaining > total) throw new RangeError(`RedisQueue remaining (${remaining}) must not exceed total (${total})`);
    this.#initial = { remaining, total, resetAfter };
    this.#interval = nonNegativeInteger('intervalMs', options.intervalMs ?? IDENTIFY_INTERVAL_MS + IDENTIFY_MARGIN_MS);
    this.#prefix = options.prefix ?? 'gloaming:queue:';
    this.#logger = options.logger ?? null;
    const { client, owned } = redisConnection(options.redis);
    client.defineCommand('gloamingQueueAcquire', { numberOfKeys: 7, lua: ACQUIRE });
    client.defineCommand('gloamingQueueRelease', { numberOfKeys: 2, lua: RELEASE });
    client.defineCommand('gloamingQueueUpdate', { numberOfKeys: 1, lua: UPDATE });
    this.#redis = client as RedisClient & QueueScripts;
    this.#owned = owned;
  }

  /** The `max_concurrency` this process buckets by: the one Redis held at its last identify, or the one given. */
  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }

  /**
   * Resolves when shard `shardId` may identify, once Redis recorded the admission.
   *
   * @throws RangeError for a bad shard id; `signal`'s reason when it aborts first (the ticket
   *   is taken back, nothing spent).
   */
  async enqueue(shardId: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isSafeInteger(shardId) || shardId < 0) throw new RangeError(`shard id must be a non-negative integer, got ${String(shardId)}`);
    if (signal?.aborted) throw signal.reason;
    const ticket = randomUUID();
    const { remaining, total, resetAfter } = this.#initial;
    let place = 0;
    let failures = 0;
    for (;;) {
      if (this.#maxConcurrency === 0) return;
      const keys = this.#keys(shardId, ticket);
      if (signal?.aborted) {
        await this.#redis.gloamingQueueRelease(keys[0], keys[1], ticket).catch(() => undefined); // else its lease runs out
        throw signal.reason;
      }
      let reply: [number, number, number?];
      try {
        reply = await this.#redis.gloamingQueueAcquire(...keys, ticket, place, LEASE_MS, this.#interval, this.#maxConcurrency, remaining, total, resetAfter);
        if (failures > 0) this.#logger?.info({ shardId, failures }, 'identify queue: Redis reachable again');
        failures = 0;
      } catch (error) {
        failures += 1;
        const delayMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
        this.#logger?.warn({ shardId, attempt: failures, delayMs, err: (error as Error).message }, 'identify queue: Redis unreachable, retrying');
        await sleep(delayMs, signal);
        continue;
      }
      if (reply[0] === 2) {
        this.#maxConcurrency = reply[1]; // another process updated it: bucket as Redis does
        place = 0;
        continue;
      }
      place = reply[2] ?? place;
      if (reply[0] === 1) return;
      await sleep(Math.max(1, Math.min(reply[1], RENEW_MS)), signal);
    }
  }

  /** The keys of ACQUIRE for `shardId`'s bucket at the current concurrency. */
  #keys(shardId: number, ticket: string): [string, string, string, string, string, string, string] {
    const bucket = `${this.#prefix}${shardId % this.#maxConcurrency}`;
    return [`${bucket}:tickets`, `${bucket}:leases`, `${bucket}:last`, `${this.#prefix}budget`, `${this.#prefix}admitted:${ticket}`, `${this.#prefix}epoch`, `${bucket}:order`];
  }

  /**
   * Replaces the shared daily budget with fresh `session_start_limit` numbers (from
   * `GET /gateway/bot`) and the `max_concurrency` every process buckets by. When Redis holds
   * a budget of the same day, the lower `remaining` wins, so identifies admitted since you
   * asked Discord stay spent.
   *
   * @throws RangeError naming a bad number; the error of Redis when it cannot be reached.
   * @example
   * const { max_concurrency, remaining, reset_after, total } = (await fetchGatewayBot(config)).session_start_limit;
   * await queue.update(max_concurrency, remaining, reset_after, total);
   */
  async update(maxConcurrency: number, remaining: number, resetAfter: number, total: number): Promise<void> {
    nonNegativeInteger('maxConcurrency', maxConcurrency);
    nonNegativeInteger('remaining', remaining);
    nonNegativeInteger('resetAfter', resetAfter);
    nonNegativeInteger('total', total);
    if (remaining > total) throw new RangeError(`RedisQueue remaining (${remaining}) must not exceed total (${total})`);
    await this.#redis.gloamingQueueUpdate(`${this.#prefix}budget`, maxConcurrency, remaining, total, resetAfter);
    this.#maxConcurrency = maxConcurrency;
  }

  /**
   * The shared budget as Redis holds it (`resetAt` in Redis's epoch milliseconds), or null
   * before the first identify or `update()`.
   *
   * @throws the error of Redis when it cannot be reached.
   */
  async budget(): Promise<{
    /** Identifies left until the reset, across every process of the queue. */
    remaining: number;
    /** Identifies a day allows (`session_start_limit.total`). */
    total: number;
    /** When the budget is full again, in Redis's epoch milliseconds. */
    resetAt: number;
    /** The `max_concurrency` the buckets are counted by. */
    maxConcurrency: number;
  } | null> {
    const budget = await this.#redis.hgetall(`${this.#prefix}budget`);
    if (budget.remaining === undefined) return null;
    return { remaining: Number(budget.remaining), total: Number(budget.total), resetAt: Number(budget.resetAt), maxConcurrency: Number(budget.maxConcurrency) };
  }

  /** Closes the connection if the queue made it from a URL. */
  async close(): Promise<void> {
    if (this.#owned) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
