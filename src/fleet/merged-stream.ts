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
  readonly id: ShardId;
  /** The next event, left in place. */
  peekEvent(): Promise<ShardEvent>;
  /** The next event, taken. */
  nextEvent(): Promise<ShardEvent>;
}

/** What a {@link ShardMessageStream} calls on a member, with the contract of {@link EventSource}. */
export interface MessageSource {
  readonly id: ShardId;
  /** The next message, left in place. */
  peekMessage(): Promise<ShardMessage>;
  /** The next message, taken. */
  nextMessage(): Promise<ShardMessage>;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * An async iterator over `next()` until it gives null. A plain object rather than an async
 * generator: a generator's yield costs promises of its own on every item of a hot loop.
 */
export function untilNull<T>(next: () => Promise<T | null>): AsyncIterableIterator<T, undefined> {
  const iterator: AsyncIterableIterator<T, undefined> = {
    next: () => next().then((item): IteratorResult<T, undefined> => (item === null ? DONE : { value: item, done: false })),
    return: () => Promise.resolve(DONE),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

type Settled<S, T> = { readonly shard: S; readonly value: T } | { readonly shard: S; readonly error: unknown };

/**
 * The engine of both merged streams: one outstanding peek per shard, answers served in
 * the order they arrived, taken from the shard only when served — so a shard removed
 * meanwhile keeps its item.
 */
class MergedStream<S, T> {
  readonly #peek: (shard: S) => Promise<T>;
  readonly #take: (shard: S) => Promise<T>;
  readonly #asError: (shard: S, error: ShardError) => T;
  readonly #members = new Set<S>();
  readonly #pulling = new Set<S>();
  readonly #ready: Settled<S, T>[] = [];
  /** Every `next()` waiting for an item (iterators may be asked again before they answered). */
  #waiting: (() => void)[] = [];

  constructor(
    shards: Iterable<S>,
    access: { peek: (shard: S) => Promise<T>; take: (shard: S) => Promise<T> },
    asError: (shard: S, error: ShardError) => T,
  ) {
    this.#peek = access.peek;
    this.#take = access.take;
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

  /** The next item, or null once no shard is left. */
  async next(): Promise<{ shard: S; value: T } | null> {
    for (;;) {
      const settled = this.#ready.shift();
      if (settled !== undefined) {
        const { shard } = settled;
        if (!this.#members.has(shard)) continue; // removed while its item was on the way
        if ('value' in settled) {
          const value = await this.#take(shard); // the peeked item: resolves at once
          this.#request(shard);
          return { shard, value };
        }
        // The shard's stream ended: closed by the user (silently) or fatally (as an error item).
        this.#members.delete(shard);
        const { error } = settled;
        if (error instanceof ShardError && error.kind === 'Closed') continue;
        const shardError = error instanceof ShardError ? error : new ShardError('UNEXPECTED', `the shard's stream ended with an error that is not a ShardError: ${String(error)}`, { cause: error });
        return { shard, value: this.#asError(shard, shardError) };
      }
      if (this.#members.size === 0) return null;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #request(shard: S): void {
    if (this.#pulling.has(shard)) return;
    this.#pulling.add(shard);
    this.#peek(shard).then(
      (value) => this.#settle({ shard, value }),
      (error: unknown) => this.#settle({ shard, error }),
    );
  }

  #settle(settled: Settled<S, T>): void {
    this.#pulling.delete(settled.shard);
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
  readonly shard: S;
  readonly event: ShardEvent;
}

/** One item of a merged message stream. */
export interface ShardMessageItem<S extends MessageSource = Shard> {
  readonly shard: S;
  readonly message: ShardMessage;
}

/** What both merged streams share: membership, `next()` and iteration over wrapped items. */
class MergedShardStream<S, T, Item> implements AsyncIterable<Item> {
  readonly #stream: MergedStream<S, T>;
  readonly #wrap: (shard: S, value: T) => Item;

  constructor(
    shards: Iterable<S>,
    access: { peek: (shard: S) => Promise<T>; take: (shard: S) => Promise<T> },
    asError: (shard: S, error: ShardError) => T,
    wrap: (shard: S, value: T) => Item,
  ) {
    this.#stream = new MergedStream(shards, access, asError);
    this.#wrap = wrap;
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
    return this.#stream.next().then((next) => (next === null ? null : this.#wrap(next.shard, next.value)));
  }

  /** Iterates until no shard is left; breaking out leaves the shards running. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Item, undefined> {
    return untilNull(() => this.next());
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
      { peek: (shard) => shard.peekEvent(), take: (shard) => shard.nextEvent() },
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
      wanted
        ? { peek: (shard) => (shard as unknown as WantedMessageSource).peekWantedMessage(), take: (shard) => (shard as unknown as WantedMessageSource).nextWantedMessage() }
        : { peek: (shard) => shard.peekMessage(), take: (shard) => shard.nextMessage() },
      (_shard, error) => ({ type: 'error', error }),
      (shard, message) => ({ shard, message }),
    );
  }
}
