/**
 * A bot process's side of the event bus: the events a gateway service published, read
 * through a Redis consumer group (at least once; what a dead consumer left pending is
 * claimed by the others), each handed out once per (shard, session, sequence) within a
 * window, and commands sent back to the service that owns a shard.
 */
import { randomUUID } from 'node:crypto';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Redis as RedisClient } from 'ioredis';
import type { DispatchEventName } from '../codec/event-types.js';
import { isDispatchEventName } from '../codec/event-types.js';
import type { Logger } from '../observability/logger.js';
import { serializeCommand } from '../shard/commands.js';
import type { GatewayCommand } from '../shard/commands.js';
import { COMMAND_CAP, DEFAULT_BUS_PREFIX, busKeys, entryFields, fieldsOf, parseEntry, shardOfGuild } from './event-bus.js';
import type { BusKeys } from './event-bus.js';
import { redisConnection } from './connection.js';
import type { RedisInput } from './connection.js';

/** How long a hand-out is remembered: a replay comes within minutes of the original (a resume), never later. */
const HANDED_TTL_MS = 15 * 60_000;
const DEAD_LETTER_CAP = 100_000;
const RETRY_MS = 1_000;

/**
 * KEYS: the stream, then the hand-out sets the entries need (one per shard and session).
 * ARGV: group, window, ttl ms, then per entry its hand-out set's index among KEYS, its
 * sequence and its entry id. Returns per entry 1 (hand it out) or 0 (another entry of the
 * same shard, session and sequence was handed out: acked here, skipped).
 */
const HAND_OUT = `
local stream, group, window, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out, touched = {}, {}
for i = 1, (#ARGV - 3) / 3 do
  local handed, seq, id = KEYS[tonumber(ARGV[3 * i + 1])], ARGV[3 * i + 2], ARGV[3 * i + 3]
  local seen = redis.call('ZRANGEBYSCORE', handed, seq, seq, 'LIMIT', 0, 1)[1]
  if not seen then
    redis.call('ZADD', handed, seq, id)
    touched[handed] = true
    out[i] = 1
  elseif seen == id then
    out[i] = 1 -- this entry again, never acked (its consumer died): at least once
  else
    redis.call('XACK', stream, group, id)
    out[i] = 0
  end
end
for key in pairs(touched) do
  redis.call('ZREMRANGEBYRANK', key, 0, -window - 1)
  redis.call('PEXPIRE', key, ttl)
end
return out
`;

/**
 * KEYS: a stream, the group's dead-letter stream. ARGV: group, consumer, idle ms, max
 * deliveries, count, dead-letter cap. Entries idle that long and delivered `max` times go to
 * the dead-letter stream (acked, with where they came from); the rest are claimed.
 * Returns {claimed entries, dead-lettered count}.
 */
const CLAIM = `
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[5])
local dead = 0
for _, p in ipairs(pending) do
  if tonumber(p[4]) >= tonumber(ARGV[4]) then
    local entry = redis.call('XRANGE', KEYS[1], p[1], p[1])[1]
    local fields = entry and entry[2] or {}
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'stream', KEYS[1], 'id', p[1], 'deliveries', tostring(p[4]), unpack(fields))
    redis.call('XACK', KEYS[1], ARGV[1], p[1])
    dead = dead + 1
  end
end
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[5])
return {claimed[2], dead}
`;

type StreamEntry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: StreamEntry[]][] | null;

interface ConsumerScripts {
  gloamingHandOut(...args: (string | number)[]): Promise<number[]>;
  gloamingClaim(...args: (string | number)[]): Promise<[StreamEntry[], number]>;
}

/** Options of a {@link GatewayConsumer}. */
export interface GatewayConsumerOptions {
  /** An ioredis client, or a `redis://` URL (then the consumer owns its connections). */
  readonly redis: RedisInput;
  /** The consumer group: every consumer of one group shares the events, each handed to one of them. */
  readonly group: string;
  /** This consumer's name in the group; a consumer restarted with the same name reads what it left pending first. */
  readonly consumer: string;
  /** The event types to read (their streams). */
  readonly events: Iterable<DispatchEventName>;
  /** The bus's key prefix, as the service's; default `gloaming:bus:`. */
  readonly prefix?: string;
  /** How long an entry stays pending with a consumer before another claims it; default 30 s. */
  readonly claimIdleMs?: number;
  /** Deliveries after which an entry goes to the dead-letter stream instead of again to a consumer; default 5. */
  readonly maxDeliveries?: number;
  /** How many sequences per shard and session are remembered for recognising a replay; default 10,000. */
  readonly dedupeWindow?: number;
  /** Entries read per round trip; default 256. */
  readonly batch?: number;
  /** Where a group is created for a stream it does not exist on yet: `'$'` (new events, default) or `'0'` (every kept one). */
  readonly from?: '$' | '0';
  /** Where Redis failures are reported (reads are retried). */
  readonly logger?: Logger | null;
}

/** One event from the bus. */
export interface ConsumedEvent {
  /** The shard that received it. */
  readonly shardId: number;
  /** The session it was received in. */
  readonly sessionId: string;
  /** The dispatch, typed as a shard yields it (`s` is the session's sequence). */
  readonly event: GatewayDispatchPayload;
  /** The stream entry's id. */
  readonly entryId: string;
  /** Tells the group it was handled, so it is not delivered again. Batched with other acks; safe to destructure. */
  readonly ack: () => Promise<void>;
}

/** Why a command from a consumer failed: `code` is the shard's error code, or one of the consumer's. */
export class GatewayCommandError extends Error {
  /** Always `'GatewayCommandError'`. */
  override readonly name = 'GatewayCommandError';
  constructor(
    /** `TIMEOUT`, `PAYLOAD_TOO_LARGE`, `NO_SHARD_TOTAL`, `CONSUMER_CLOSED`, or the shard's (`SEND_AFTER_CLOSE`, `WORKER_EXITED`, …). */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Waiting {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const positive = (name: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`GatewayConsumer ${name} must be a positive integer, got ${String(value)}`);
  return value;
};

/**
 * Reads the events a gateway service (`gloaming run`) publishes, as one of a consumer
 * group, and sends commands to the shards.
 *
 * What it guarantees: every event the service published is handed out until a consumer of
 * the group acks it. An entry of the same shard, session and sequence as one handed out
 * before (a resume's replay after the service restarted, a batch sent twice) is acked and
 * skipped, as long as that sequence is among the last `dedupeWindow` of its session and
 * within 15 minutes. An event handed to a consumer that died before acking is handed out
 * again after `claimIdleMs` (at least once: make handlers idempotent, or ack first for at
 * most once); one delivered `maxDeliveries` times goes to the dead-letter stream
 * (`<prefix>dead:<group>`), never dropped. Events trimmed by the streams' cap before any
 * consumer read them are gone: size the cap above the longest backlog you accept.
 *
 * @throws RangeError or TypeError (constructor) naming a bad option.
 * @example
 * const consumer = new GatewayConsumer({ redis: 'redis://127.0.0.1:6379', group: 'bot', consumer: 'bot-1', events: ['MESSAGE_CREATE'] });
 * for await (const { event, ack } of consumer) {
 *   if (event.t === 'MESSAGE_CREATE' && event.d.content === '!ping') await consumer.command(event.d.guild_id ?? 0, updatePresence({ status: 'online', activities: [], afk: false, since: null }));
 *   await ack();
 * }
 */
export class GatewayConsumer implements AsyncIterable<ConsumedEvent> {
  readonly #client: RedisClient & ConsumerScripts;
  readonly #owned: boolean;
  /** Blocking reads wait on their own connections. */
  readonly #reader: RedisClient;
  #replyReader: RedisClient | null = null;
  readonly #keys: BusKeys;
  readonly #group: string;
  readonly #consumer: string;
  readonly #streams: string[];
  readonly #claimIdleMs: number;
  readonly #maxDeliveries: number;
  readonly #window: number;
  readonly #batch: number;
  readonly #from: '$' | '0';
  readonly #logger: Logger | null;
  readonly #items: ConsumedEvent[] = [];
  #itemAt = 0;
  #started: Promise<void> | null = null;
  /** Read this consumer's own pending entries first (from an earlier life), then new ones. */
  #ownPendingDone = false;
  #lastClaim = 0;
  #closed = false;
  readonly #acks = new Map<string, { ids: string[]; done: (() => void)[]; failed: ((error: Error) => void)[] }>();
  #ackScheduled = false;
  readonly #replies: string;
  readonly #waiting = new Map<string, Waiting>();
  #nextRequest = 1;
  /** Entries moved to the dead-letter stream by this consumer's claims. */
  deadLettered = 0;

  constructor(options: GatewayConsumerOptions) {
    for (const name of ['group', 'consumer'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`GatewayConsumer ${name} must be a non-empty string, got ${JSON.stringify(options[name])}`);
    }
    const events = [...options.events];
    const bad = events.find((event) => !isDispatchEventName(event));
    if (events.length === 0 || bad !== undefined) throw new TypeError(`GatewayConsumer events must be dispatch event names (MESSAGE_CREATE, …), got ${JSON.stringify(bad ?? events)}`);
    this.#claimIdleMs = positive('claimIdleMs', options.claimIdleMs ?? 30_000);
    this.#maxDeliveries = positive('maxDeliveries', options.maxDeliveries ?? 5);
    this.#window = positive('dedupeWindow', options.dedupeWindow ?? 10_000);
    this.#batch = positive('batch', options.batch ?? 256);
    this.#from = options.from ?? '$';
    this.#group = options.group;
    this.#consumer = options.consumer;
    this.#logger = options.logger ?? null;
    this.#keys = busKeys(options.prefix ?? DEFAULT_BUS_PREFIX);
    this.#streams = [...new Set(events)].map((event) => this.#keys.events(event));
    this.#replies = this.#keys.replies(this.#group, `${this.#consumer}:${randomUUID()}`);
    const { client, owned } = redisConnection(options.redis);
    client.defineCommand('gloamingHandOut', { lua: HAND_OUT });
    client.defineCommand('gloamingClaim', { numberOfKeys: 2, lua: CLAIM });
    this.#client = client as RedisClient & ConsumerScripts;
    this.#owned = owned;
    this.#reader = this.#connection();
  }

  /** The next event; done once the consumer is closed. */
  async next(): Promise<IteratorResult<ConsumedEvent, undefined>> {
    while (!this.#closed) {
      const item = this.#items[this.#itemAt];
      if (item !== undefined) {
        this.#items[this.#itemAt++] = undefined as unknown as ConsumedEvent;
        if (this.#itemAt === this.#items.length) {
          this.#items.length = 0;
          this.#itemAt = 0;
        }
        return { value: item, done: false };
      }
      try {
        await this.#fill();
      } catch (error) {
        if (this.#closed) break;
        this.#logger?.warn({ err: (error as Error).message, retryMs: RETRY_MS }, 'reading events from Redis failed: retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    return { value: undefined, done: true };
  }

  /** Iterates the events until the consumer is closed; breaking out does not close it. */
  [Symbol.asyncIterator](): AsyncIterator<ConsumedEvent, undefined> {
    return { next: () => this.next(), return: () => Promise.resolve({ value: undefined, done: true }) };
  }

  /**
   * Sends `command` to a shard through the service that owns it: `target` is a shard id, or a
   * guild id (a string), routed to `(guild_id >> 22) % total`. Resolves once the shard wrote
   * it to its connection (through its ratelimiter).
   *
   * @throws TypeError for a command without an integer `op`; GatewayCommandError
   *   `PAYLOAD_TOO_LARGE` (over 4096 bytes: nothing sent), `NO_SHARD_TOTAL` (a guild
   *   id and no service has said the total), `TIMEOUT` (no answer in `timeoutMs`, default
   *   10 s: no service owns the shard, or it could not send in time), or the shard's reason.
   * @example
   * await consumer.command('81384788765712384', requestGuildMembers({ guildId: '81384788765712384', query: '', limit: 0 }));
   */
  async command(target: number | string, command: GatewayCommand, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) throw new GatewayCommandError('CONSUMER_CLOSED', 'the consumer was closed');
    let json: string;
    try {
      json = serializeCommand(command);
    } catch (error) {
      // serializeCommand's one RangeError is a payload over Discord's limit.
      if (error instanceof RangeError) throw new GatewayCommandError('PAYLOAD_TOO_LARGE', error.message);
      throw error;
    }
    const timeoutMs = positive('command timeoutMs', options.timeoutMs ?? 10_000);
    const shard = typeof target === 'number' ? target : shardOfGuild(target, await this.#shardTotal());
    if (!Number.isSafeInteger(shard) || shard < 0) throw new RangeError(`a command's target must be a shard id or a guild id, got ${String(target)}`);
    this.#readReplies();
    const request = `${this.#nextRequest++}`;
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(request);
        reject(new GatewayCommandError('TIMEOUT', `no service answered a command for shard ${shard} within ${timeoutMs} ms (is a service running shard ${shard}?)`));
      }, timeoutMs);
      this.#waiting.set(request, { resolve, reject, timer });
    });
    await this.#client.xadd(this.#keys.commands(shard), 'MAXLEN', '~', COMMAND_CAP, '*', 'request', request, 'reply', this.#replies, 'json', json);
    return answered;
  }

  /** Stops reading, sends the acks given so far and closes the connections it made. Unacked events stay pending for the group. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.disconnect();
    this.#replyReader?.disconnect();
    for (const [request, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new GatewayCommandError('CONSUMER_CLOSED', 'the consumer was closed before the command was answered'));
      this.#waiting.delete(request);
    }
    await this.#flushAcks();
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }

  #connection(): RedisClient {
    const connection = this.#client.duplicate();
    connection.on('error', () => undefined); // failures surface where a read fails
    return connection;
  }

  async #fill(): Promise<void> {
    this.#started ??= this.#createGroups();
    await this.#started;
    if (Date.now() - this.#lastClaim >= this.#claimIdleMs / 2) {
      this.#lastClaim = Date.now();
      // Every stream's claim at once: one round trip, not one per event type.
      const claims = await Promise.all(this.#streams.map((stream) => this.#client.gloamingClaim(stream, this.#keys.deadLetter(this.#group), this.#group, this.#consumer, this.#claimIdleMs, this.#maxDeliveries, this.#batch, DEAD_LETTER_CAP)));
      for (const [at, [claimed, dead]] of claims.entries()) {
        const stream = this.#streams[at] as string;
        this.deadLettered += dead;
        if (dead !== 0) this.#logger?.warn({ stream, entries: dead, maxDeliveries: this.#maxDeliveries }, 'events delivered too often moved to the dead-letter stream');
        await this.#handOut(stream, claimed);
      }
      if (this.#items.length !== 0) return;
    }
    const own = !this.#ownPendingDone;
    const ids = this.#streams.map(() => (own ? '0' : '>'));
    const args = ['GROUP', this.#group, this.#consumer, 'COUNT', this.#batch, ...(own ? [] : ['BLOCK', Math.min(1_000, this.#claimIdleMs)]), 'STREAMS', ...this.#streams, ...ids];
    const reply = (await (this.#reader.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(...args)) as ReadReply;
    let read = 0;
    for (const [stream, entries] of reply ?? []) {
      read += entries.length;
      await this.#handOut(stream, entries);
    }
    if (own && read === 0) this.#ownPendingDone = true;
  }

  async #createGroups(): Promise<void> {
    for (const stream of this.#streams) {
      await this.#client.xgroup('CREATE', stream, this.#group, this.#from, 'MKSTREAM').catch((error: Error) => {
        if (!error.message.includes('BUSYGROUP')) throw error;
      });
    }
  }

  /** Entries read from `stream`, through the hand-out script; those it passes become items. */
  async #handOut(stream: string, entries: readonly StreamEntry[]): Promise<void> {
    const keys: string[] = [stream];
    const keyAt = new Map<string, number>();
    const args: (string | number)[] = [this.#group, this.#window, HANDED_TTL_MS];
    const candidates: { id: string; entry: NonNullable<ReturnType<typeof parseEntry>> }[] = [];
    const damaged: StreamEntry[] = [];
    for (const [id, fields] of entries) {
      const entry = fields === null ? null : parseEntry(fields);
      if (entry === null) {
        if (fields !== null) damaged.push([id, fields]);
        else void this.#client.xack(stream, this.#group, id).catch(() => undefined); // trimmed by the cap before it was read; a failed ack only leaves it pending
        continue;
      }
      const handed = this.#keys.handed(this.#group, entry.shard, entry.session);
      let at = keyAt.get(handed);
      if (at === undefined) keyAt.set(handed, (at = keys.push(handed)));
      args.push(at, entry.sequence, id);
      candidates.push({ id, entry });
    }
    for (const [id, fields] of damaged) await this.#deadLetter(stream, id, fields as string[]);
    if (candidates.length === 0) return;
    const passed = await this.#client.gloamingHandOut(keys.length, ...keys, ...args);
    candidates.forEach(({ id, entry }, at) => {
      if (passed[at] !== 1) return;
      let d: unknown;
      try {
        d = JSON.parse(entry.data);
      } catch {
        void this.#deadLetter(stream, id, entryFields(entry.shard, entry.session, entry.sequence, entry.type, entry.data));
        return;
      }
      const event = { op: 0, t: entry.type, s: entry.sequence, d } as GatewayDispatchPayload;
      this.#items.push({ shardId: entry.shard, sessionId: entry.session, event, entryId: id, ack: () => this.#ack(stream, id) });
    });
  }

  /** An entry that is not an event of ours, or whose `d` is not JSON: kept in the dead-letter stream, not dropped. */
  async #deadLetter(stream: string, id: string, fields: string[]): Promise<void> {
    this.#logger?.warn({ stream, id }, 'an entry that is not a gateway event moved to the dead-letter stream');
    this.deadLettered += 1;
    // Failing, it stays pending: claimed later, it comes back here.
    await this.#client
      .multi()
      .xadd(this.#keys.deadLetter(this.#group), 'MAXLEN', '~', DEAD_LETTER_CAP, '*', 'stream', stream, 'id', id, 'deliveries', '1', ...fields)
      .xack(stream, this.#group, id)
      .exec()
      .catch(() => undefined);
  }

  #ack(stream: string, id: string): Promise<void> {
    let batch = this.#acks.get(stream);
    if (batch === undefined) this.#acks.set(stream, (batch = { ids: [], done: [], failed: [] }));
    batch.ids.push(id);
    const acked = new Promise<void>((resolve, reject) => {
      batch.done.push(resolve);
      batch.failed.push(reject);
    });
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      setImmediate(() => void this.#flushAcks());
    }
    return acked;
  }

  async #flushAcks(): Promise<void> {
    this.#ackScheduled = false;
    const batches = [...this.#acks];
    this.#acks.clear();
    await Promise.all(
      batches.map(async ([stream, { ids, done, failed }]) => {
        try {
          await this.#client.xack(stream, this.#group, ...ids);
          for (const resolve of done) resolve();
        } catch (error) {
          for (const reject of failed) reject(error as Error);
        }
      }),
    );
  }

  /** The shard total as the services wrote it, read for every command routed by guild: right after a reshard too. */
  async #shardTotal(): Promise<number> {
    const value = Number(await this.#client.get(this.#keys.total));
    if (!Number.isSafeInteger(value) || value < 1) throw new GatewayCommandError('NO_SHARD_TOTAL', 'no gateway service has written the shard total yet: route by shard id, or start a service');
    return value;
  }

  /** Reads this consumer's reply stream while commands wait for answers. */
  #readReplies(): void {
    if (this.#replyReader !== null) return;
    const reader = (this.#replyReader = this.#connection());
    void (async () => {
      let last = '0-0';
      while (!this.#closed) {
        try {
          const reply = (await reader.xread('COUNT', 256, 'BLOCK', 1_000, 'STREAMS', this.#replies, last)) as ReadReply;
          for (const [, entries] of reply ?? []) {
            for (const [id, fields] of entries) {
              last = id;
              this.#answer(fields ?? []);
            }
          }
        } catch (error) {
          if (this.#closed) return;
          this.#logger?.warn({ err: (error as Error).message }, 'reading command answers from Redis failed: retrying');
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    })();
  }

  #answer(fields: readonly string[]): void {
    const { request, error, message } = fieldsOf(fields);
    const waiting = request === undefined ? undefined : this.#waiting.get(request);
    if (waiting === undefined || request === undefined) return;
    this.#waiting.delete(request);
    clearTimeout(waiting.timer);
    if (error === undefined) waiting.resolve();
    else waiting.reject(new GatewayCommandError(error, message ?? error));
  }
}
