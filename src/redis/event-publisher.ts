/**
 * The service's side of the event bus: dispatches appended to their type's stream in
 * batches, one script call for hundreds of XADDs (one command for ioredis to build and one
 * reply to read, where a pipeline has one of each per entry), each stream capped with
 * `MAXLEN ~`. A batch Redis did not take is sent again, in order, until it is; a checkpoint
 * given with a batch is reported once everything before it is in Redis, so sessions are
 * saved only as far as their events were published.
 */
import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { DEFAULT_BUS_PREFIX, DEFAULT_STREAM_CAP, ENTRY_FIELD_NAMES, busKeys, entryValues } from './event-bus.js';
import type { BusKeys } from './event-bus.js';
import { redisConnection } from './connection.js';
import type { RedisInput } from './connection.js';

/** Entries sent in one script call at most. */
const BATCH_SIZE = 512;
/** Entries waiting behind the batch in flight before `full` asks the caller to wait. */
const HIGH_WATER = 8 * BATCH_SIZE;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2_000;

/** Options of an {@link EventPublisher}. */
export interface EventPublisherOptions {
  /** An ioredis client, or a `redis://` URL (then the publisher owns the connection). */
  readonly redis: RedisInput;
  /** The bus's key prefix; default `gloaming:bus:`. */
  readonly prefix?: string;
  /** About how many entries each event stream keeps; default 100,000. */
  readonly cap?: number;
  /** Where failed batches are reported (each is retried until Redis takes it). */
  readonly logger?: Logger | null;
}

/**
 * KEYS: per entry, its stream. ARGV: the cap, then per entry the values of its fields.
 * Appends every entry (capped), in order; returns how many.
 */
const APPEND = `
local cap, values = ARGV[1], ${ENTRY_FIELD_NAMES.length}
for i = 1, #KEYS do
  local at = (i - 1) * values + 1
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', cap, '*', ${ENTRY_FIELD_NAMES.map((name, at) => `'${name}', ARGV[at + ${at + 1}]`).join(', ')})
end
return #KEYS
`;

/** One entry: its stream's key and its field values, in the order of ENTRY_FIELD_NAMES. */
type Entry = readonly [stream: string, values: readonly string[]];

interface PublisherScripts {
  gloamingAppend(...args: (string | number)[]): Promise<number>;
}

interface Batch<C> {
  readonly entries: Entry[];
  readonly checkpoint: C | null;
}

/**
 * Publishes dispatches to the event bus. `publish` only buffers; batches go out on the next
 * turn of the event loop or once 512 wait.
 *
 * @typeParam C - what a checkpoint carries (the service: the sessions as far as published).
 * @throws RangeError (constructor) for a cap that is not a positive integer.
 * @example
 * const publisher = new EventPublisher({ redis: 'redis://127.0.0.1:6379' }, (sessions) => save(sessions));
 * publisher.publish(0, session.id, event.s, event.t, JSON.stringify(event.d));
 * if (publisher.full) await publisher.room();
 */
export class EventPublisher<C = unknown> {
  readonly #redis: RedisClient & PublisherScripts;
  readonly #owned: boolean;
  readonly #keys: BusKeys;
  readonly #cap: string;
  readonly #logger: Logger | null;
  readonly #confirmed: (checkpoint: C) => void;
  #buffer: Entry[] = [];
  #checkpoint: C | null = null;
  #queue: Batch<C>[] = [];
  #sending: Promise<void> | null = null;
  #scheduled = false;
  #waiting: (() => void)[] = [];
  #closed = false;
  /** Entries Redis has taken, since the publisher was made. */
  published = 0;

  constructor(options: EventPublisherOptions, confirmed: (checkpoint: C) => void = () => undefined) {
    const cap = options.cap ?? DEFAULT_STREAM_CAP;
    if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`the stream cap must be a positive integer of entries, got ${String(options.cap)}`);
    this.#cap = String(cap);
    this.#keys = busKeys(options.prefix ?? DEFAULT_BUS_PREFIX);
    this.#logger = options.logger ?? null;
    this.#confirmed = confirmed;
    const { client, owned } = redisConnection(options.redis);
    client.defineCommand('gloamingAppend', { lua: APPEND });
    this.#redis = client as RedisClient & PublisherScripts;
    this.#owned = owned;
  }

  /** Entries handed in and not yet taken by Redis. */
  get pending(): number {
    return this.#buffer.length + this.#queue.reduce((sum, batch) => sum + batch.entries.length, 0);
  }

  /** Whether the caller should wait for {@link EventPublisher.room} before publishing more. */
  get full(): boolean {
    return this.pending >= HIGH_WATER;
  }

  /** Buffers one dispatch for its type's stream. */
  publish(shard: number, session: string, sequence: number, type: string, data: string): void {
    this.#buffer.push([this.#keys.events(type), entryValues(shard, session, sequence, type, data)]);
    if (this.#buffer.length >= BATCH_SIZE) this.#cut();
    else this.#schedule();
  }

  /** Reports `checkpoint` once every entry published before this call is in Redis. */
  checkpoint(checkpoint: C): void {
    this.#checkpoint = checkpoint;
    this.#schedule();
  }

  /** Resolves once fewer than the high-water mark of entries wait. */
  room(): Promise<void> {
    return this.full ? new Promise((resolve) => this.#waiting.push(resolve)) : Promise.resolve();
  }

  /** Resolves once everything published so far is in Redis (or the publisher was closed). */
  async flush(): Promise<void> {
    this.#cut();
    while (this.#sending !== null) await this.#sending;
  }

  /** Sends what is left, then closes the connection if the publisher made it. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake();
    if (this.#owned) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#cut();
    });
  }

  /** Ends the batch being filled and makes sure one is being sent. */
  #cut(): void {
    if (this.#buffer.length !== 0 || this.#checkpoint !== null) {
      this.#queue.push({ entries: this.#buffer, checkpoint: this.#checkpoint });
      this.#buffer = [];
      this.#checkpoint = null;
    }
    this.#sending ??= this.#send().finally(() => (this.#sending = null));
  }

  async #send(): Promise<void> {
    let delay = RETRY_MIN_MS;
    for (let batch = this.#queue[0]; batch !== undefined && !this.#closed; batch = this.#queue[0]) {
      try {
        if (batch.entries.length !== 0) await this.#write(batch.entries);
      } catch (error) {
        // Some entries may be in Redis already: sent again, consumers recognise them by (shard, session, sequence).
        this.#logger?.warn({ entries: batch.entries.length, retryMs: delay, err: (error as Error).message }, 'publishing events to Redis failed: retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        continue;
      }
      delay = RETRY_MIN_MS;
      this.#queue.shift();
      this.published += batch.entries.length;
      if (batch.checkpoint !== null) this.#confirmed(batch.checkpoint);
      if (!this.full) for (const wake of this.#waiting.splice(0)) wake();
    }
  }

  async #write(entries: readonly Entry[]): Promise<void> {
    const args: string[] = [String(entries.length)];
    for (const [stream] of entries) args.push(stream);
    args.push(this.#cap);
    for (const [, values] of entries) args.push(...values);
    await this.#redis.gloamingAppend(...args);
  }
}
