/**
 * Many shards read through one loop, fairly: each shard has at most one item waiting in
 * the merged stream, so a shard flooding events cannot hold back another's (twilight's
 * stream could, its issue #1999). Shards can join and leave while the loop runs.
 */
import type { ShardEvent, ShardMessage } from '../shard/events.js';
import { ShardError } from '../shard/errors.js';
import type { Shard } from '../shard/shard.js';
import type { ShardId } from '../shard/shard-id.js';

/**
 * What a {@link ShardEventStream} calls on a member: a `Shard`, or any handle that stands for
 * one elsewhere (a shard on a worker thread) with the same peek/take contract — `peekEvent`
 * resolves with the next event without taking it, `nextEvent` takes it, and both reject with
 * a `ShardError` once the shard is closed (kind `Closed`) or ended.
 */
export interface EventSource {
  /** Which shard it stands for. */
  readonly id: ShardId;
  /** The next event, left in place. */
  peekEvent(): Promise<ShardEvent>;
  /** The next event, taken. */
  nextEvent(): Promise<ShardEvent>;
  /** Optional: the next event if it is there now (taken, or left with `peek`), else undefined; throws as the others reject. Saves promises per event. */
  pollEvent?(options?: { readonly peek?: boolean }): ShardEvent | undefined;
}

/** What a {@link ShardMessageStream} calls on a member, with the contract of {@link EventSource}. */
export interface MessageSource {
  /** Which shard it stands for. */
  readonly id: ShardId;
  /** The next message, left in place. */
  peekMessage(): Promise<ShardMessage>;
  /** The next message, taken. */
  nextMessage(): Promise<ShardMessage>;
  /** Optional, as {@link EventSource.pollEvent}; `wantedOnly` polls what `nextWantedMessage` yields. */
  pollMessage?(options?: { readonly peek?: boolean; readonly wantedOnly?: boolean }): ShardMessage | undefined;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

type Settled<S, T> = { readonly shard: S; readonly value: T } | { readonly shard: S; readonly error: unknown };

/** How the engine reaches a member: wait for its next item (leaving it or taking it), and, if the member can, look without waiting. */
interface Access<S, T> {
  peek(shard: S): Promise<T>;
  take(shard: S): Promise<T>;
  /** The next item if it is there now (taken unless `peek`), else undefined; null for a member that cannot say. */
  poll(shard: S, peek: boolean): T | undefined | null;
}

/**
 * The engine of both merged streams: one outstanding peek per shard, answers served in
 * the order they arrived, taken from the shard only when served — so a shard removed
 * meanwhile keeps its item. A member that can be polled is asked without a promise first:
 * under load its next item is already buffered.
 */
class MergedStream<S, T> {
  readonly #access: Access<S, T>;
  readonly #asError: (shard: S, error: ShardError) => T;
  readonly #members = new Set<S>();
  /** Shards with a peek on the way or an answer waiting in #ready: one each at most. */
  readonly #queued = new Set<S>();
  readonly #ready: Settled<S, T>[] = [];
  /** Every `next()` waiting for an item (iterators may be asked again before they answered). */
  #waiting: (() => void)[] = [];

  constructor(shards: Iterable<S>, access: Access<S, T>, asError: (shard: S, error: ShardError) => T) {
    this.#access = access;
    this.#asError = asError;
    for (const shard of shards) this.add(shard);
  }

  get shards(): S[] {
    return [...this.#members];
  }

  add(shard: S): void {
    if (this.#members.has(shard)) return;
    this.#members.add(shard);
    this.#request(shard);
  }

  remove(shard: S): boolean {
    const removed = this.#members.delete(shard);
    this.#signal();
    return removed;
  }

  /** The next item, shaped by `shape`, or `end` once no shard is left. */
  async next<R>(shape: (shard: S, value: T) => R, end: R): Promise<R> {
    for (;;) {
      const settled = this.#ready.shift();
      if (settled !== undefined) {
        const { shard } = settled;
        this.#queued.delete(shard);
        if (!this.#members.has(shard)) continue; // removed while its item was on the way
        if ('value' in settled) {
          // The peeked item: there now, polled or (resolving at once) taken.
          const value = this.#access.poll(shard, false) ?? (await this.#access.take(shard));
          this.#request(shard);
          return shape(shard, value);
        }
        // The shard's stream ended: closed by the user (silently) or fatally (as an error item).
        this.#members.delete(shard);
        const { error } = settled;
        if (error instanceof ShardError && error.kind === 'Closed') continue;
        const shardError = error instanceof ShardError ? error : new ShardError('UNEXPECTED', `the shard's stream ended with an error that is not a ShardError: ${String(error)}`, { cause: error });
        return shape(shard, this.#asError(shard, shardError));
      }
      if (this.#members.size === 0) return end;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #request(shard: S): void {
    if (this.#queued.has(shard)) return;
    this.#queued.add(shard);
    let now: T | undefined | null;
    try {
      now = this.#access.poll(shard, true);
    } catch (error) {
      return this.#settle({ shard, error });
    }
    if (now !== undefined && now !== null) return this.#settle({ shard, value: now });
    this.#access.peek(shard).then(
      (value) => this.#settle({ shard, value }),
      (error: unknown) => this.#settle({ shard, error }),
    );
  }

  #settle(settled: Settled<S, T>): void {
    this.#ready.push(settled);
    this.#signal();
  }

  #signal(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }
}

/** One item of a merged event stream: the event and the shard it came from, to answer on. */
export interface ShardEventItem<S extends EventSource = Shard> {
  /** The member it came from: answer on it (`shard.command(…)`). */
  readonly shard: S;
  /** The event, as the member yielded it. */
  readonly event: ShardEvent;
}

/** One item of a merged message stream. */
export interface ShardMessageItem<S extends MessageSource = Shard> {
  /** The member it came from. */
  readonly shard: S;
  /** The message, as the member yielded it. */
  readonly message: ShardMessage;
}

/** What both merged streams share: membership, `next()` and iteration over wrapped items. */
class MergedShardStream<S, T, Item> implements AsyncIterable<Item> {
  readonly #stream: MergedStream<S, T>;
  readonly #wrap: (shard: S, value: T) => Item;
  readonly #result: (shard: S, value: T) => IteratorResult<Item, undefined>;

  constructor(shards: Iterable<S>, access: Access<S, T>, asError: (shard: S, error: ShardError) => T, wrap: (shard: S, value: T) => Item) {
    this.#stream = new MergedStream(shards, access, asError);
    this.#wrap = wrap;
    this.#result = (shard, value) => ({ value: wrap(shard, value), done: false });
  }

  /** The shards still in the stream. */
  get shards(): S[] {
    return this.#stream.shards;
  }

  /** Adds a shard, also while iterating; adding one twice does nothing. */
  add(shard: S): void {
    this.#stream.add(shard);
  }

  /** Takes a shard out (it keeps running and keeps what it has not handed out; close it yourself). Returns whether it was in. */
  remove(shard: S): boolean {
    return this.#stream.remove(shard);
  }

  /** The next item, or null once no shard is left. */
  next(): Promise<Item | null> {
    return this.#stream.next(this.#wrap, null);
  }

  /**
   * `next()` as an iterator result, as `for await` asks for it (no promise in between).
   *
   * @example
   * const { value, done } = await stream.nextResult();
   */
  nextResult(): Promise<IteratorResult<Item, undefined>> {
    return this.#stream.next(this.#result, DONE);
  }

  /**
   * Iterates until no shard is left; breaking out leaves the shards running. A plain
   * iterator rather than an async generator, whose every `yield` costs promises of its own.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Item, undefined> {
    const iterator: AsyncIterableIterator<Item, undefined> = {
      next: () => this.nextResult(),
      return: () => Promise.resolve(DONE),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/**
 * The events of many shards through one loop. Errors arrive as items (`event.op ===
 * 'error'`) and never end the loop; a fatally closed shard yields its error and leaves; a
 * shard closed with `close()` leaves quietly; the loop ends when no shard is left.
 *
 * @example
 * const stream = new ShardEventStream(createRange({ start: 0, end: 16 }, 16, config));
 * for await (const { shard, event } of stream) {
 *   if (event.t === 'MESSAGE_CREATE') console.log(shard.id.number, event.d.content);
 * }
 */
export class ShardEventStream<S extends EventSource = Shard> extends MergedShardStream<S, ShardEvent, ShardEventItem<S>> {
  constructor(shards: Iterable<S>) {
    super(
      shards,
      { peek: (shard) => shard.peekEvent(), take: (shard) => shard.nextEvent(), poll: (shard, peek) => (shard.pollEvent === undefined ? null : shard.pollEvent({ peek })) },
      (_shard, error) => ({ op: 'error', t: null, s: null, d: error }),
      (shard, event) => ({ shard, event }),
    );
  }
}

/** What a {@link ShardMessageStream} with `wantedOnly` calls on a member: a `Shard`'s wanted-message pair. */
export interface WantedMessageSource extends MessageSource {
  /** The next wanted message, left in place. */
  peekWantedMessage(): Promise<ShardMessage>;
  /** The next wanted message, taken. */
  nextWantedMessage(): Promise<ShardMessage>;
}

/**
 * The raw messages of many shards through one loop, with the same rules as
 * {@link ShardEventStream}. With `wantedOnly`, each shard's wanted messages only (what
 * `nextWantedMessage` yields: the dispatches its `eventTypes` let through, closes, errors),
 * for forwarding events elsewhere.
 *
 * @example
 * for await (const { shard, message } of new ShardMessageStream(shards, { wantedOnly: true })) {
 *   if (message.type === 'text') forward(shard.id.number, message.text);
 * }
 */
export class ShardMessageStream<S extends MessageSource = Shard> extends MergedShardStream<S, ShardMessage, ShardMessageItem<S>> {
  constructor(shards: Iterable<S>, options: { readonly wantedOnly?: S extends WantedMessageSource ? boolean : false } = {}) {
    const wanted = options.wantedOnly === true;
    super(
      shards,
      {
        peek: wanted ? (shard) => (shard as unknown as WantedMessageSource).peekWantedMessage() : (shard) => shard.peekMessage(),
        take: wanted ? (shard) => (shard as unknown as WantedMessageSource).nextWantedMessage() : (shard) => shard.nextMessage(),
        poll: (shard, peek) => (shard.pollMessage === undefined ? null : shard.pollMessage({ peek, wantedOnly: wanted })),
      },
      (_shard, error) => ({ type: 'error', error }),
      (shard, message) => ({ shard, message }),
    );
  }
}
