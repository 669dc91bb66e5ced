/**
 * The consumer side of a shard: the buffer of received messages, closes and errors; peeking
 * and taking events or raw messages in order; and the two reasons the socket stops being
 * read — a consumer that fell behind (memory stays bounded) and a spent read budget (one
 * flooding shard cannot starve the others).
 */
import type { GatewayReceivePayload } from 'discord-api-types/v10';
import type { ShardError } from './errors.js';
import type { ShardEvent, ShardMessage } from './events.js';
import { Fifo } from './fifo.js';
import type { Session } from './session.js';

/**
 * What the consumer is handed next, in arrival order. `s` is the sequence the resume point
 * moved to with the item, or -1; a `session` item is not handed out: it marks where the
 * session began, changed or ended, so the session as taken follows the consumer.
 */
export type InboxItem =
  /** `payload` is null for dispatches not parsed on receipt: they are parsed when taken, if wanted. */
  | { readonly kind: 'payload'; readonly text: string; readonly payload: GatewayReceivePayload | null; readonly wanted: boolean; readonly s: number }
  | { readonly kind: 'close'; readonly code: number | null; readonly reason: string }
  | { readonly kind: 'error'; readonly error: ShardError; readonly s: number }
  | { readonly kind: 'session'; readonly session: Session | null };

/** An item the consumer is handed: anything but a session mark. */
type Handout = Exclude<InboxItem, { kind: 'session' }>;

/** What the inbox needs from its shard. */
export interface InboxHost {
  /** The first read starts the shard. */
  start(): void;
  /** Why reading ends once the buffer is drained (closed, fatally closed), or null while it runs. */
  ended(): ShardError | null;
  /** A wanted dispatch that was not parsed on receipt, parsed as it is taken. */
  parseDispatch(text: string): ShardEvent;
  /** {@link Inbox.paused} changed: pause or resume the socket. */
  readingChanged(): void;
}

/**
 * Frames one shard reads per event-loop turn before it lets other sockets and timers run:
 * about five socket reads of compressed traffic, some 10 ms of work. Each time the budget
 * runs out the socket is paused and resumed; at 256 that cost 16 busy shards about 5 %
 * more CPU per event (bench, paired runs).
 */
const READ_BURST = 1024;

/**
 * A gateway's JSON ends with `}`. A wanted dispatch handed out as text that does not (a frame
 * cut short) is parsed here, so a broken one rewinds the shard and is received again, as
 * `nextEvent` would; corruption inside the text goes unnoticed until the far end parses it.
 */
const CLOSING_BRACE = 0x7d;

/** One shard's received items and the consumer's view of them. */
export class Inbox {
  readonly #items = new Fifo<InboxItem>();
  /** An item a peek waited for but left in place, with its event once converted (parsed once). */
  #peeked: { readonly item: Handout; readonly event: ShardEvent | undefined } | null = null;
  #wake: (() => void) | null = null;
  /** The consumer is behind: the socket is not read until it catches up. */
  #backlogged = false;
  /** This event-loop turn's read budget is spent: the socket is not read until the next turn. */
  #bursting = false;
  #framesThisTurn = 0;
  /** The session as of the last item taken (its sequence apart, as it moves with nearly every item). */
  #takenSession: Session | null;
  #takenSequence: number;
  readonly #host: InboxHost;
  readonly #maxBuffered: number;

  constructor(host: InboxHost, maxBuffered: number, session: Session | null) {
    this.#host = host;
    this.#maxBuffered = maxBuffered;
    this.#takenSession = session;
    this.#takenSequence = session?.sequence ?? -1;
  }

  /** The session as of the last item taken: resuming it receives again everything not yet taken. */
  get takenSession(): Session | null {
    const session = this.#takenSession;
    if (session === null || session.sequence === this.#takenSequence) return session;
    return (this.#takenSession = session.withSequence(this.#takenSequence));
  }

  /** Items waiting for the consumer. */
  get buffered(): number {
    return this.#items.length;
  }

  /** Whether the socket should not be read now. */
  get paused(): boolean {
    return this.#backlogged || this.#bursting;
  }

  /** Whether the consumer is behind; heartbeat ACKs then wait unread in the socket. */
  get backlogged(): boolean {
    return this.#backlogged;
  }

  /** The next wanted event, taken or (peeking) left in place; answered without a wait when one is buffered. */
  event(consume: boolean): Promise<ShardEvent> {
    return this.#take(() => this.#pollEvent(consume));
  }

  /** The next raw message, taken or (peeking) left in place; `wantedOnly` skips what `event` would. */
  message(consume: boolean, wantedOnly = false): Promise<ShardMessage> {
    return this.#take(() => this.#pollMessage(consume, wantedOnly));
  }

  /** The next wanted event if one is buffered (taken, or left in place), else undefined; throws once the stream ended. */
  bufferedEvent(consume: boolean): ShardEvent | undefined {
    return this.#pollEvent(consume);
  }

  /** The next raw message if one is buffered (taken, or left in place), else undefined; throws once the stream ended. */
  bufferedMessage(consume: boolean, wantedOnly: boolean): ShardMessage | undefined {
    return this.#pollMessage(consume, wantedOnly);
  }

  /** Queues an item and wakes a waiting reader; a full buffer stops reading. */
  push(item: InboxItem): void {
    this.#items.push(item);
    this.wakeReader();
    if (!this.#backlogged && this.#items.length >= this.#maxBuffered) {
      this.#backlogged = true;
      this.#host.readingChanged();
    }
  }

  /** Wakes a reader waiting for an item, so it sees the end of the stream. */
  wakeReader(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Counts a received frame against this event-loop turn's budget. libuv reads one socket
   * up to 32 times in a row; without a budget one flooding shard would be read megabytes
   * deep before another shard's socket — or its heartbeat timer — got a turn.
   */
  spendReadBudget(): void {
    // The first frame of a turn schedules the budget's renewal for the turn's end.
    if (this.#framesThisTurn++ === 0) setImmediate(this.#renewReadBudget);
    if (this.#framesThisTurn < READ_BURST || this.#bursting) return;
    this.#bursting = true;
    this.#host.readingChanged();
  }

  /** Whether a buffered item matches. */
  holds(predicate: (item: InboxItem) => boolean): boolean {
    return this.#items.some(predicate);
  }

  /**
   * Drops every buffered payload (the rest stays) for a rewind that will receive them again
   * after `sequence`, which the session as taken goes back to.
   */
  dropPayloads(sequence: number): void {
    this.#items.retain((item) => item.kind !== 'payload');
    this.#takenSequence = Math.min(this.#takenSequence, sequence);
    this.#readIfCaughtUp();
  }

  readonly #renewReadBudget = (): void => {
    this.#framesThisTurn = 0;
    if (!this.#bursting) return;
    this.#bursting = false;
    this.#host.readingChanged();
  };

  /**
   * Answers from the buffer without waiting when it can (the common case under load: no
   * extra promise or microtask per event), else waits for the next item.
   */
  #take<T>(poll: () => T | undefined): Promise<T> {
    try {
      const value = poll();
      if (value !== undefined) return Promise.resolve(value);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.#waitFor(poll);
  }

  async #waitFor<T>(poll: () => T | undefined): Promise<T> {
    for (;;) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      const value = poll();
      if (value !== undefined) return value;
    }
  }

  /** The next wanted event if one is buffered; consumes it unless peeking. */
  #pollEvent(consume: boolean): ShardEvent | undefined {
    for (;;) {
      let peeked = this.#peeked;
      if (peeked === null) {
        const item = this.#shift();
        if (item === undefined) return undefined;
        peeked = { item, event: undefined };
      }
      this.#peeked = null;
      let event = peeked.event;
      if (event === undefined) {
        const { item } = peeked;
        if (item.kind === 'payload') {
          if (!item.wanted) continue;
          event = item.payload ?? this.#host.parseDispatch(item.text);
        } else if (item.kind === 'close') event = { op: 'close', t: null, s: null, d: { code: item.code, reason: item.reason } };
        else event = { op: 'error', t: null, s: null, d: item.error };
      }
      if (!consume) this.#peeked = { item: peeked.item, event };
      return event;
    }
  }

  /** The next message if one is buffered; consumes it unless peeking. */
  #pollMessage(consume: boolean, wantedOnly: boolean): ShardMessage | undefined {
    for (;;) {
      const item = this.#peeked?.item ?? this.#shift();
      if (item === undefined) return undefined;
      this.#peeked = null;
      if (wantedOnly && item.kind === 'payload') {
        if (!item.wanted) continue;
        const cut = item.payload === null && item.text.charCodeAt(item.text.length - 1) !== CLOSING_BRACE ? this.#host.parseDispatch(item.text) : null;
        if (cut?.op === 'error') return { type: 'error', error: cut.d };
      }
      if (!consume) this.#peeked = { item, event: undefined };
      return item.kind === 'payload'
        ? { type: 'text', text: item.text }
        : item.kind === 'close'
          ? { type: 'close', code: item.code, reason: item.reason }
          : { type: 'error', error: item.error };
    }
  }

  /**
   * Takes the oldest item to hand out, or undefined when none is buffered; throws once the
   * stream has ended. Session marks are applied as they are passed, and so is one right
   * after the item taken (READY's), so a taken READY counts as its session's start.
   */
  #shift(): Handout | undefined {
    this.#host.start();
    for (;;) {
      const item = this.#items.shift();
      if (item === undefined) break;
      if (item.kind === 'session') {
        this.#takeSession(item.session);
        continue;
      }
      if (item.kind !== 'close' && item.s > this.#takenSequence) this.#takenSequence = item.s;
      for (let next = this.#items.peek(); next?.kind === 'session'; next = this.#items.peek()) {
        this.#takeSession(next.session);
        this.#items.shift();
      }
      this.#readIfCaughtUp();
      return item;
    }
    const ended = this.#host.ended();
    if (ended !== null) throw ended;
    return undefined;
  }

  /**
   * A mark of the same session (a resume URL that changed) keeps the sequence the items
   * taken reached: after a rewind it may be behind the mark's.
   */
  #takeSession(session: Session | null): void {
    const same = session !== null && session.id === this.#takenSession?.id;
    this.#takenSession = session;
    if (!same) this.#takenSequence = session?.sequence ?? -1;
  }

  /** Reads the socket again once a consumer that was behind has taken half the buffer. */
  #readIfCaughtUp(): void {
    if (this.#backlogged && this.#items.length <= this.#maxBuffered >> 1) {
      this.#backlogged = false;
      this.#host.readingChanged();
    }
  }
}
