/**
 * Shard: one gateway connection you pull events from. It identifies through a queue or
 * resumes a session, heartbeats, follows op 1/7/9 and close codes, reconnects with
 * backoff, and hands every message to the consumer in order, exactly once.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayHelloData, GatewayReadyDispatchData, GatewayReceivePayload } from 'discord-api-types/v10';
import WebSocket from 'ws';
import type { DispatchEventName } from '../codec/event-types.js';
import { createInflater, InflatedSizeError } from '../codec/inflate.js';
import type { Inflater, InflaterMetrics } from '../codec/inflate.js';
import { peekPayload } from '../codec/peek.js';
import { resolveShardConfig } from '../config.js';
import type { ResolvedShardConfig, ShardConfig } from '../config.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { backoffDelay } from './backoff.js';
import { CloseFrame, closeAction, fatalCloseAdvice } from './close-codes.js';
import { MAX_PAYLOAD_BYTES, serializeCommand } from './commands.js';
import type { GatewayCommand } from './commands.js';
import { ShardError } from './errors.js';
import { isKnownPayload } from './events.js';
import type { ShardEvent, ShardMessage } from './events.js';
import { Fifo } from './fifo.js';
import { readBinaryFrames } from './frame-reader.js';
import { connectUrl, tokenUrlProblem } from './gateway-url.js';
import { identifyPayload } from './identify.js';
import { Latency } from './latency.js';
import { notify } from './observer.js';
import type { ShardObserver } from './observer.js';
import { helloProblem, isSequence, readyProblem } from './payload-checks.js';
import { CommandRatelimiter } from './ratelimiter.js';
import { Session } from './session.js';
import { ShardId } from './shard-id.js';

/**
 * Where a shard is in its lifecycle.
 *
 * @example
 * if (shard.state.kind === 'Disconnected') console.log(`reconnect attempt ${shard.state.attempts}`);
 */
export type ShardState =
  | { readonly kind: 'Disconnected'; readonly attempts: number }
  | { readonly kind: 'Identifying' }
  | { readonly kind: 'Resuming' }
  | { readonly kind: 'Active' }
  /** `code`: the close code that ended the shard, or 0 when it was not a close (a last failed IDENTIFY without one). */
  | { readonly kind: 'FatallyClosed'; readonly code: number };

/** What the consumer is handed next, in arrival order. */
type Item =
  /** `payload` is null for dispatches not parsed on receipt: `nextEvent` parses them if wanted. */
  | { readonly kind: 'payload'; readonly text: string; readonly payload: GatewayReceivePayload | null; readonly wanted: boolean }
  | { readonly kind: 'close'; readonly code: number | null; readonly reason: string }
  | { readonly kind: 'error'; readonly error: ShardError };

/** How the shard goes on after it drops a connection itself. */
interface Reconnect {
  /** Start a new session instead of resuming. */
  readonly identify: boolean;
  /** Wait at least this long first (op 9 `d:false` asks for 1–5 s). */
  readonly delayMs: number;
  /** Why, in a few words, for the error that ends a shard whose identifies keep failing. */
  readonly cause: string;
}

/** One live websocket and everything that belongs to it alone. */
interface Connection {
  readonly socket: WebSocket;
  readonly inflater: Inflater;
  readonly usedResumeUrl: boolean;
  /** Aborts a queue wait when this connection goes away. */
  readonly abort: AbortController;
  opened: boolean;
  /** IDENTIFY went out on this connection and READY has not come: its end is an identify failure. */
  awaitingReady: boolean;
  ratelimiter: CommandRatelimiter | null;
  heartbeatTimer: NodeJS.Timeout | null;
  /** HELLO, READY/RESUMED deadlines. */
  deadline: NodeJS.Timeout | null;
  acked: boolean;
}

const CLOSE_WAIT_MS = 5_000;
/** `#sequence` before a session's first dispatch: READY may then carry any sequence, 0 included. */
const NO_SEQUENCE = -1;
const DISPATCH = GatewayOpcodes.Dispatch as number;

/** A dispatch other than READY and RESUMED, which the shard acts on itself. */
const isOrdinaryDispatch = (op: number, t: unknown): boolean => op === DISPATCH && t !== GatewayDispatchEvents.Ready && t !== GatewayDispatchEvents.Resumed;
/**
 * Frames one shard reads per event-loop turn before it lets other sockets and timers run:
 * about five socket reads of compressed traffic, some 10 ms of work. Each time the budget
 * runs out the socket is paused and resumed; at 256 that cost 16 busy shards about 5 %
 * more CPU per event (bench, paired runs).
 */
const READ_BURST = 1024;

/** Shards built from one config object without a queue share one, as in twilight. */
const defaultQueues = new WeakMap<ShardConfig, Queue>();
function defaultQueue(config: ShardConfig): Queue {
  let queue = defaultQueues.get(config);
  if (queue === undefined) {
    queue = new InMemoryQueue(1);
    defaultQueues.set(config, queue);
  }
  return queue;
}

/**
 * One gateway connection. Create it, then pull: nothing connects until the first
 * `nextEvent`, `nextMessage` or `for await`.
 *
 * @example
 * const shard = new Shard(ShardId.ONE, { token: process.env.DISCORD_TOKEN!, intents: 513 });
 * for await (const event of shard) {
 *   if (event.t === 'MESSAGE_CREATE') console.log(event.d.content);
 * }
 */
export class Shard {
  readonly id: ShardId;
  readonly config: ResolvedShardConfig;
  readonly latency = new Latency();
  readonly #queue: Queue;
  readonly #items = new Fifo<Item>();
  /** An item a peek waited for but left in place, with its event once converted (parsed once). */
  #peeked: { readonly item: Item; readonly event: ShardEvent | undefined } | null = null;
  #wake: (() => void) | null = null;
  #connection: Connection | null = null;
  #state: ShardState = { kind: 'Disconnected', attempts: 0 };
  #sessionId: string | null;
  /** The last sequence received in this session, or {@link NO_SEQUENCE}. */
  #sequence: number;
  #resumeUrl: string | null;
  /** IDENTIFY attempts in a row that ended before READY. */
  #identifyFailures = 0;
  /** Identify queue rejections in a row (not aborts). */
  #queueFailures = 0;
  /** The sequence the shard last rewound to receive again, so a gateway that repeats a broken message cannot loop it. */
  #rewoundFor: number | null = null;
  #started = false;
  /** The user closed the shard: no more reconnects; the stream ends once drained. */
  #closed = false;
  #fatal: ShardError | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  /** The consumer is behind: the socket is not read until it catches up. */
  #backlogged = false;
  /** This event-loop turn's read budget is spent: the socket is not read until the next turn. */
  #bursting = false;
  #framesThisTurn = 0;
  #activeWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #metrics: InflaterMetrics = { bytesIn: 0, bytesOut: 0, messages: 0 };
  #observers: ShardObserver[] = [];

  /**
   * @throws ConfigError naming the bad option; RangeError for a bad shard id.
   */
  constructor(id: ShardId | readonly [number, number], config: ShardConfig) {
    this.id = ShardId.from(id);
    this.config = resolveShardConfig(config);
    this.#queue = this.config.queue ?? defaultQueue(config);
    const session = this.config.session;
    this.#sessionId = session?.id ?? null;
    this.#sequence = session?.sequence ?? NO_SEQUENCE;
    this.#resumeUrl = session?.resumeUrl ?? null;
  }

  /** Where the shard is: Disconnected (with reconnect attempts), Identifying, Resuming, Active or FatallyClosed. */
  get state(): ShardState {
    return this.#state;
  }

  /** The session to resume (id, last sequence, resume URL), or null before READY and after it ended. */
  get session(): Session | null {
    return this.#sessionId === null ? null : new Session(this.#sessionId, this.#sequence, this.#resumeUrl);
  }

  /** The current connection's command ratelimiter, or null when disconnected or disabled. */
  get ratelimiter(): CommandRatelimiter | null {
    return this.#connection?.ratelimiter ?? null;
  }

  /** Compressed bytes in, inflated bytes out and messages, over every connection of this shard. */
  get inflaterMetrics(): InflaterMetrics {
    const current = this.#connection?.inflater.metrics;
    return {
      bytesIn: this.#metrics.bytesIn + (current?.bytesIn ?? 0),
      bytesOut: this.#metrics.bytesOut + (current?.bytesOut ?? 0),
      messages: this.#metrics.messages + (current?.messages ?? 0),
    };
  }

  /**
   * Watches the shard: `observer`'s callbacks run where its state, session, connections,
   * errors and identify admission change (see {@link ShardObserver}). Returns a function that
   * stops watching. Observing the same object twice calls it twice.
   *
   * @example
   * const stop = shard.observe({ error: (shard, error) => console.warn(shard.id.number, error.code) });
   * stop();
   */
  observe(observer: ShardObserver): () => void {
    this.#observers = [...this.#observers, observer];
    return () => {
      const at = this.#observers.indexOf(observer);
      if (at !== -1) this.#observers = this.#observers.filter((_, index) => index !== at);
    };
  }

  /**
   * The next event: a gateway payload, a close, or a non-fatal error. Unknown opcodes and
   * event names, and dispatches not in `eventTypes`, are skipped here (they reach `nextMessage`).
   *
   * @throws ShardError `FatallyClosed` once the server closed with 4004 or 4010–4014;
   *   ShardError `Closed` after `close()` once everything before it was read.
   */
  nextEvent(): Promise<ShardEvent> {
    return this.#take(() => this.#pollEvent(true));
  }

  /**
   * Waits for the next event like {@link Shard.nextEvent} but leaves it to be taken by the
   * next `nextEvent` call (merged streams wait on every shard this way, so an event is
   * never lost when a shard leaves the stream).
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  peekEvent(): Promise<ShardEvent> {
    return this.#take(() => this.#pollEvent(false));
  }

  /**
   * The next raw message: a gateway message's JSON text as received, a close, or a
   * non-fatal error. Unlike `nextEvent`, it does not parse dispatches, so it cannot tell
   * the shard to receive a broken one again.
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  nextMessage(): Promise<ShardMessage> {
    return this.#take(() => this.#pollMessage(true));
  }

  /**
   * Waits for the next raw message but leaves it for the next `nextMessage` call.
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  peekMessage(): Promise<ShardMessage> {
    return this.#take(() => this.#pollMessage(false));
  }

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
          event = item.payload ?? this.#parseDispatch(item.text);
        } else if (item.kind === 'close') event = { op: 'close', t: null, s: null, d: { code: item.code, reason: item.reason } };
        else event = { op: 'error', t: null, s: null, d: item.error };
      }
      if (!consume) this.#peeked = { item: peeked.item, event };
      return event;
    }
  }

  /** The next message if one is buffered; consumes it unless peeking. */
  #pollMessage(consume: boolean): ShardMessage | undefined {
    const item = this.#peeked?.item ?? this.#shift();
    if (item === undefined) return undefined;
    this.#peeked = consume ? null : { item, event: undefined };
    switch (item.kind) {
      case 'payload':
        return { type: 'text', text: item.text };
      case 'close':
        return { type: 'close', code: item.code, reason: item.reason };
      case 'error':
        return { type: 'error', error: item.error };
    }
  }

  /**
   * Iterates events until `close()` ends the stream.
   *
   * @throws ShardError `FatallyClosed` when the server ends the shard for good.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<ShardEvent> {
    const done: IteratorReturnResult<undefined> = { value: undefined, done: true };
    const iterator: AsyncIterableIterator<ShardEvent> = {
      next: () =>
        this.nextEvent().then(
          (value): IteratorResult<ShardEvent> => ({ value, done: false }),
          (error: unknown) => {
            if (error instanceof ShardError && error.kind === 'Closed') return done;
            throw error;
          },
        ),
      return: () => Promise.resolve(done),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /**
   * Sends a raw JSON payload once the shard is identified, through the ratelimiter.
   *
   * @throws ShardError `Sending` for a payload over 4096 bytes (before anything is sent),
   *   or when the shard closes before it could be sent.
   * @example
   * await shard.send(JSON.stringify({ op: 3, d: { since: null, activities: [], status: 'idle', afk: false } }));
   */
  async send(json: string): Promise<void> {
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw new ShardError('PAYLOAD_TOO_LARGE', `payload of ${bytes} bytes exceeds Discord's ${MAX_PAYLOAD_BYTES} byte limit (the gateway would close with 4002)`);
    }
    this.#ensureStarted();
    for (;;) {
      await this.#whenActive();
      const connection = this.#connection;
      if (connection === null) continue;
      if (connection.ratelimiter !== null) {
        try {
          await connection.ratelimiter.acquire(connection.abort.signal);
        } catch {
          continue; // the connection went away while waiting: wait for the next one
        }
      }
      if (this.#connection === connection && this.#state.kind === 'Active') {
        connection.socket.send(json);
        return;
      }
    }
  }

  /**
   * Sends a command built with the builders of `commands` (presence, voice state, guild
   * members, soundboard sounds, channel info).
   *
   * @throws as {@link Shard.send}, and RangeError from serialisation for an oversized command.
   * @example
   * await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'all' }));
   */
  async command(command: GatewayCommand): Promise<void> {
    await this.send(serializeCommand(command));
  }

  /**
   * Closes the shard for good. With {@link CloseFrame.RESUME} the session stays resumable and
   * is returned, for a new Shard (in this process or the next) to resume; with
   * {@link CloseFrame.NORMAL} the session ends and null is returned. Events already received
   * can still be read; then the stream ends.
   *
   * @example
   * const session = await shard.close(CloseFrame.RESUME);
   * const next = new Shard(shard.id, { ...config, session });
   */
  async close(frame: CloseFrame = CloseFrame.NORMAL): Promise<Session | null> {
    if (this.#closed) return null;
    const session = frame.resumable ? this.session : null;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    const connection = this.#connection;
    if (connection !== null) this.#release(connection);
    // The close item goes in before `closed` is seen, so a reader gets it before the end.
    this.#report({ kind: 'close', code: frame.code, reason: frame.reason });
    this.#closed = true;
    this.#setState({ kind: 'Disconnected', attempts: 0 });
    this.#rejectActiveWaiters(new ShardError('SHARD_CLOSED', `shard ${this.id.toString()} was closed`));
    if (connection !== null) await this.#closeSocket(connection.socket, frame);
    return session;
  }

  /** Sends the close frame and waits for the handshake, a bounded time. */
  async #closeSocket(socket: WebSocket, frame: CloseFrame): Promise<void> {
    if (socket.readyState !== WebSocket.OPEN) {
      socket.terminate();
      return;
    }
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume(); // a paused socket would never read the server's close frame
    socket.close(frame.code, frame.reason);
    const timer = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  /** Takes the oldest buffered item, or undefined when none is; throws once the stream has ended. */
  #shift(): Item | undefined {
    this.#ensureStarted();
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#readIfCaughtUp();
      return item;
    }
    if (this.#fatal) throw this.#fatal;
    if (this.#closed) throw new ShardError('SHARD_CLOSED', `shard ${this.id.toString()} was closed`);
    return undefined;
  }

  /** Reads the socket again once a consumer that was behind has taken half the buffer. */
  #readIfCaughtUp(): void {
    if (this.#backlogged && this.#items.length <= this.config.maxBufferedMessages >> 1) {
      this.#backlogged = false;
      this.#applyReading();
    }
  }

  /** Queues a close or error item for the consumer and tells the observers. */
  #report(item: Extract<Item, { kind: 'close' | 'error' }>): void {
    this.#push(item);
    if (this.#observers.length === 0) return;
    if (item.kind === 'error') notify(this.#observers, 'error', this, item.error);
    else notify(this.#observers, 'closed', this, { code: item.code, reason: item.reason });
  }

  #push(item: Item): void {
    this.#items.push(item);
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
    if (!this.#backlogged && this.#items.length >= this.config.maxBufferedMessages) {
      this.#backlogged = true;
      this.#applyReading();
    }
  }

  /**
   * Counts a received frame against this event-loop turn's budget. libuv reads one socket
   * up to 32 times in a row; without a budget one flooding shard would be read megabytes
   * deep before another shard's socket — or its heartbeat timer — got a turn.
   */
  #spendReadBudget(): void {
    // The first frame of a turn schedules the budget's renewal for the turn's end.
    if (this.#framesThisTurn++ === 0) setImmediate(this.#renewReadBudget);
    if (this.#framesThisTurn < READ_BURST || this.#bursting) return;
    this.#bursting = true;
    this.#applyReading();
  }

  readonly #renewReadBudget = (): void => {
    this.#framesThisTurn = 0;
    if (!this.#bursting) return;
    this.#bursting = false;
    this.#applyReading();
  };

  /** Reads the socket unless the consumer is behind (memory stays bounded) or this turn's budget is spent. */
  #applyReading(): void {
    const socket = this.#connection?.socket;
    if (socket === undefined) return;
    if (this.#backlogged || this.#bursting) socket.pause();
    else socket.resume();
  }

  #ensureStarted(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#connect();
  }

  #setState(state: ShardState): void {
    const previous = this.#state;
    this.#state = state;
    if (state.kind === 'Active') for (const waiter of this.#activeWaiters.splice(0)) waiter.resolve();
    if (this.#observers.length !== 0) notify(this.#observers, 'stateChanged', this, state, previous);
  }

  /** Tells the observers the resume point moved; on the receive path, so free when nobody observes. */
  #sequenceMoved(): void {
    if (this.#observers.length !== 0) notify(this.#observers, 'sequenceChanged', this, this.#sequence);
  }

  #sessionMoved(): void {
    if (this.#observers.length !== 0) notify(this.#observers, 'sessionChanged', this, this.session);
  }

  #whenActive(): Promise<void> {
    if (this.#fatal) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `shard ${this.id.toString()} is fatally closed`, { cause: this.#fatal }));
    if (this.#closed) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `shard ${this.id.toString()} was closed`));
    if (this.#state.kind === 'Active') return Promise.resolve();
    return new Promise((resolve, reject) => this.#activeWaiters.push({ resolve, reject }));
  }

  #rejectActiveWaiters(error: ShardError): void {
    for (const waiter of this.#activeWaiters.splice(0)) waiter.reject(new ShardError('SEND_AFTER_CLOSE', error.message, { cause: error }));
  }

  /** The URL to connect to: the session's resume URL when resuming, unless it failed before. */
  #url(): { url: string; usedResumeUrl: boolean } {
    const usedResumeUrl = this.#sessionId !== null && this.#resumeUrl !== null;
    const url = connectUrl(usedResumeUrl ? (this.#resumeUrl as string) : this.config.gatewayUrl, this.config.compression);
    return { url, usedResumeUrl };
  }

  #connect(): void {
    this.#reconnectTimer = null;
    const { url, usedResumeUrl } = this.#url();
    let inflater: Inflater;
    try {
      inflater = createInflater(this.config.compression, this.config.maxInflatedSize);
    } catch (error) {
      this.#fail(new ShardError('DECOMPRESSOR_UNAVAILABLE', (error as Error).message, { cause: error }));
      return;
    }
    const socket = new WebSocket(url, {
      headers: { 'User-Agent': this.config.userAgent },
      handshakeTimeout: this.config.timeouts.connect,
      perMessageDeflate: false,
      maxPayload: this.config.maxInflatedSize,
    });
    const connection: Connection = {
      socket,
      inflater,
      usedResumeUrl,
      abort: new AbortController(),
      opened: false,
      awaitingReady: false,
      ratelimiter: null,
      heartbeatTimer: null,
      deadline: null,
      acked: true,
    };
    this.#connection = connection;
    const onMessage = (data: Buffer): void => {
      if (this.#connection === connection) this.#onFrame(connection, data);
    };
    socket.on('open', () => {
      connection.opened = true;
      // Compressed traffic's binary frames skip ws's receiver; the rest still arrive as 'message'.
      readBinaryFrames(socket, this.config.maxInflatedSize, onMessage);
      this.#applyReading();
      this.#deadline(connection, this.config.timeouts.hello, 'HELLO');
    });
    socket.on('message', onMessage);
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.#connection === connection) this.#onClosed(connection, code, reason.toString());
    });
    socket.on('error', (error: Error) => {
      if (this.#connection === connection && !connection.opened) {
        this.#report({ kind: 'error', error: new ShardError('CONNECT_FAILED', `could not connect to ${new URL(url).host}: ${error.message}`, { cause: error }) });
      }
    });
  }

  /**
   * The receive path, run for every message: inflate, read the envelope, track the
   * sequence, queue. Ordinary dispatches, nearly every message, go by their peeked
   * envelope: `nextEvent` parses them later, and only if wanted. Everything else is parsed
   * and checked here.
   */
  #onFrame(connection: Connection, data: Buffer): void {
    this.#spendReadBudget();
    let text: string | null;
    try {
      text = connection.inflater.push(data);
    } catch (error) {
      if (error instanceof InflatedSizeError) {
        this.#onOversized(error);
        return;
      }
      this.#report({ kind: 'error', error: new ShardError('DECOMPRESS_FAILED', `could not decompress a message: ${(error as Error).message}`, { cause: error }) });
      this.#drop(connection, { identify: false, delayMs: 0, cause: 'a message that did not decompress' });
      return;
    }
    if (text === null) return;
    const head = peekPayload(text);
    if (head !== null && isOrdinaryDispatch(head.op, head.t)) {
      this.#onDispatch(text, head.s, head.t, null);
    } else {
      this.#onControl(connection, text);
    }
  }

  /** A dispatch other than READY and RESUMED: queued if its sequence is new in the session. */
  #onDispatch(text: string, s: unknown, t: unknown, parsed: GatewayReceivePayload | null): void {
    if (!isSequence(s)) {
      this.#report({ kind: 'error', error: new ShardError('SEQUENCE_INVALID', `a dispatch had no valid sequence number (s: ${String(s)}): skipped`) });
      return;
    }
    // Sequences only grow within a session: a repeated one was delivered already.
    if (s <= this.#sequence) {
      this.#report({ kind: 'error', error: new ShardError('SEQUENCE_REPEATED', `a dispatch repeated sequence ${s} (already at ${this.#sequence}): skipped`) });
      return;
    }
    this.#sequence = s;
    this.#sequenceMoved();
    this.#push({ kind: 'payload', text, payload: parsed, wanted: this.#wanted(DISPATCH, t) });
  }

  /** Control messages, READY, RESUMED and whatever the peek could not read: parsed, checked, acted on. */
  #onControl(connection: Connection, text: string): void {
    const payload = this.#parse(connection, text);
    if (payload === null) return;
    if (isOrdinaryDispatch(payload.op, payload.t)) {
      this.#onDispatch(text, payload.s, payload.t, payload);
      return;
    }
    // Checked before anything counts or is delivered: a refused READY must not start a session.
    const problem = this.#controlProblem(connection, payload);
    if (problem !== null) {
      this.#report({ kind: 'error', error: new ShardError('PROTOCOL_VIOLATION', `${problem}: reconnecting`) });
      this.#drop(connection, { identify: false, delayMs: 0, cause: problem });
      return;
    }
    this.#push({ kind: 'payload', text, payload, wanted: this.#wanted(payload.op, payload.t) });
    this.#handle(connection, payload);
  }

  /**
   * Why the shard cannot act on a HELLO or READY, or null. Such a connection is replaced
   * (with backoff, should the server repeat it) rather than crash or run broken timers.
   */
  #controlProblem(connection: Connection, payload: GatewayReceivePayload): string | null {
    if (payload.op === GatewayOpcodes.Hello) return connection.heartbeatTimer === null ? helloProblem(payload.d) : 'a second HELLO on one connection';
    if (payload.op === GatewayOpcodes.Dispatch && payload.t === GatewayDispatchEvents.Ready) return readyProblem(payload.s, payload.d);
    return null;
  }

  /**
   * A message over `maxInflatedSize` was skipped whole; a new sequence still counts, so a
   * resume does not replay it (an old one must not move the resume point back).
   */
  #onOversized(error: InflatedSizeError): void {
    const head = peekPayload(error.head);
    const dispatch = head !== null && head.op === DISPATCH && isSequence(head.s) ? head : null;
    if (dispatch !== null && (dispatch.s as number) > this.#sequence) {
      this.#sequence = dispatch.s as number;
      this.#sequenceMoved();
    }
    const what = dispatch === null ? '' : ` (${String(dispatch.t)}, sequence ${String(dispatch.s)})`;
    this.#report({ kind: 'error', error: new ShardError('MESSAGE_TOO_LARGE', `${error.message}${what}; raise maxInflatedSize to receive it`, { cause: error }) });
  }

  /**
   * A whole payload, or null after queueing a `Deserializing` error for text that is not one.
   * Text that is not JSON at all also replaces the connection: on a compressed transport it
   * means the context may be out of step, and a resume re-sends any dispatch it hid.
   */
  #parse(connection: Connection, text: string): GatewayReceivePayload | null {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      this.#report({ kind: 'error', error: new ShardError('MESSAGE_NOT_JSON', `a message was not valid JSON: ${(error as Error).message}; reconnecting`, { cause: error }) });
      this.#drop(connection, { identify: false, delayMs: 0, cause: 'a message that was not JSON' });
      return null;
    }
    if (typeof payload !== 'object' || payload === null || typeof (payload as { op?: unknown }).op !== 'number') {
      this.#report({ kind: 'error', error: new ShardError('NOT_A_PAYLOAD', 'a message was not a gateway payload (no numeric op)') });
      return null;
    }
    return payload as GatewayReceivePayload;
  }

  /**
   * A wanted dispatch, parsed as it is taken: parsing on arrival, to know it whole before
   * its sequence counts, kept parsed objects alive in the buffer and cost about 1.2× the
   * CPU per event at 16 shards (bench/README.md). Text that is not whole JSON is an error
   * event and a rewind, so the gateway sends that dispatch again.
   */
  #parseDispatch(text: string): ShardEvent {
    try {
      return JSON.parse(text) as GatewayReceivePayload;
    } catch (error) {
      const again = this.#rewind(text);
      const message = `a dispatch was not valid JSON: ${(error as Error).message}; ${again ? 'receiving it again' : 'skipped'}`;
      return { op: 'error', t: null, s: null, d: new ShardError(again ? 'DISPATCH_NOT_JSON' : 'DISPATCH_NOT_JSON_SKIPPED', message, { cause: error }) };
    }
  }

  /**
   * Moves the resume point back to just before a dispatch that arrived broken, while its
   * session lasts: the dispatches buffered after it are dropped (closes and errors stay)
   * and the connection is replaced, so the resume replays it and all after it, in order.
   * Not done when a later READY is buffered (that session is over) or when the same
   * sequence was rewound for once already. Returns whether it rewound.
   */
  #rewind(text: string): boolean {
    const s = peekPayload(text)?.s;
    if (!isSequence(s) || s === this.#rewoundFor || this.#sessionId === null || this.#closed || this.#fatal) return false;
    if (this.#items.some((item) => item.kind === 'payload' && item.payload?.t === GatewayDispatchEvents.Ready)) return false;
    this.#rewoundFor = s;
    this.#items.retain((item) => item.kind !== 'payload');
    this.#sequence = s - 1;
    this.#sequenceMoved();
    this.#readIfCaughtUp();
    const connection = this.#connection;
    if (connection !== null) this.#drop(connection, { identify: false, delayMs: 0, cause: 'a dispatch that was not whole JSON' });
    return true;
  }

  /** Whether `nextEvent` yields a payload: a known opcode and, for dispatches, a known name in `eventTypes`. */
  #wanted(op: number, t: unknown): boolean {
    if (!isKnownPayload(op, t)) return false;
    const { eventTypes } = this.config;
    return eventTypes === null || op !== DISPATCH || eventTypes.has(t as DispatchEventName);
  }

  #handle(connection: Connection, payload: GatewayReceivePayload): void {
    switch (payload.op) {
      case GatewayOpcodes.Hello:
        this.#onHello(connection, payload.d);
        break;
      case GatewayOpcodes.Heartbeat:
        this.#heartbeat(connection);
        break;
      case GatewayOpcodes.HeartbeatAck:
        connection.acked = true;
        this.latency.acknowledged(performance.now());
        break;
      case GatewayOpcodes.Reconnect:
        this.#drop(connection, { identify: false, delayMs: 0, cause: 'op 7 (reconnect)' });
        break;
      case GatewayOpcodes.InvalidSession:
        // Only an explicit `false` ends the session; anything else tries the free resume first.
        if (payload.d === false) this.#drop(connection, { identify: true, delayMs: 1_000 + Math.random() * 4_000, cause: 'op 9 (invalid session)' });
        else this.#drop(connection, { identify: false, delayMs: 0, cause: 'op 9 (invalid session, resumable)' });
        break;
      case GatewayOpcodes.Dispatch:
        if (payload.t === GatewayDispatchEvents.Ready) this.#onReady(connection, payload.s, payload.d);
        else if (payload.t === GatewayDispatchEvents.Resumed) this.#onResumed(connection, payload.s);
        break;
    }
  }

  #onHello(connection: Connection, hello: GatewayHelloData): void {
    this.#clearDeadline(connection);
    const interval = hello.heartbeat_interval;
    if (this.config.ratelimitMessages) connection.ratelimiter = new CommandRatelimiter(interval);
    connection.heartbeatTimer = setTimeout(() => {
      this.#heartbeat(connection);
      connection.heartbeatTimer = setInterval(() => this.#beatOrDrop(connection), interval);
    }, interval * Math.random());
    if (this.#sessionId !== null) {
      this.#setState({ kind: 'Resuming' });
      this.#sendNow(connection, { op: GatewayOpcodes.Resume, d: { token: this.config.token.reveal(), session_id: this.#sessionId, seq: this.#sequence } });
      if (this.#observers.length !== 0) notify(this.#observers, 'resumeSent', this, this.session as Session);
      this.#deadline(connection, this.config.timeouts.ready, 'RESUMED');
      return;
    }
    this.#setState({ kind: 'Identifying' });
    const asked = performance.now();
    notify(this.#observers, 'identifyQueued', this);
    this.#queue.enqueue(this.id.number, connection.abort.signal).then(
      () => {
        if (this.#connection !== connection) return;
        this.#queueFailures = 0;
        this.#sendNow(connection, identifyPayload(this.config.token.reveal(), this.config, this.id.toJSON()));
        notify(this.#observers, 'identifySent', this, performance.now() - asked);
        connection.awaitingReady = true;
        this.#deadline(connection, this.config.timeouts.ready, 'READY');
      },
      (error: unknown) => {
        // An abort: the connection is gone and spent nothing. Anything else is a queue that
        // could not decide (a shared one that lost its store): reconnect after a backoff.
        if (this.#connection !== connection || connection.abort.signal.aborted) return;
        this.#queueFailures += 1;
        const reason = error instanceof Error ? error.message : String(error);
        this.#report({ kind: 'error', error: new ShardError('QUEUE_FAILED', `the identify queue failed (${reason}): reconnecting after a backoff`, { cause: error }) });
        this.#drop(connection, { identify: false, delayMs: 0, cause: 'the identify queue failed' });
      },
    );
  }

  /** A new session: its sequence starts at READY's, whatever the last session reached (some gateways count from 0). */
  #onReady(connection: Connection, sequence: number, ready: GatewayReadyDispatchData): void {
    this.#sessionId = ready.session_id;
    this.#sequence = sequence;
    this.#resumeUrl = this.#acceptableResumeUrl(ready.resume_gateway_url);
    this.#identifyFailures = 0;
    this.#sessionMoved();
    connection.awaitingReady = false;
    this.#onActive(connection);
  }

  /** RESUMED ends a resume whatever its sequence: a new one counts, an old or missing one is not an event to refuse. */
  #onResumed(connection: Connection, sequence: unknown): void {
    if (isSequence(sequence) && sequence > this.#sequence) {
      this.#sequence = sequence;
      this.#sequenceMoved();
    }
    this.#onActive(connection);
  }

  /** A resume URL is used only where the gateway URL could be, so a forged one cannot carry the token elsewhere. */
  #acceptableResumeUrl(url: string | undefined): string | null {
    if (url === undefined) return null;
    const problem = URL.canParse(url) ? tokenUrlProblem(new URL(url), 'ws:', 'wss:', this.config.allowInsecureUrls) : 'is not a valid URL';
    if (problem === null) return url;
    process.emitWarning(`gloaming: ignoring resume_gateway_url ${JSON.stringify(url)}: ${problem}; resuming on the gateway URL`);
    return null;
  }

  #onActive(connection: Connection): void {
    this.#clearDeadline(connection);
    this.#setState({ kind: 'Active' });
  }

  #beatOrDrop(connection: Connection): void {
    // While the consumer holds reading back, ACKs wait unread in the socket: not a zombie.
    if (!connection.acked && !this.#backlogged) {
      this.#report({ kind: 'error', error: new ShardError('ZOMBIE', 'no heartbeat ACK since the last heartbeat: reconnecting') });
      this.#drop(connection, { identify: false, delayMs: 0, cause: 'no heartbeat ACK' });
      return;
    }
    this.#heartbeat(connection);
  }

  #heartbeat(connection: Connection): void {
    connection.acked = false;
    this.latency.sent(performance.now());
    this.#sendNow(connection, { op: GatewayOpcodes.Heartbeat, d: this.#sequence === NO_SEQUENCE ? null : this.#sequence });
  }

  /** Heartbeats, IDENTIFY and RESUME skip the command queue: the ratelimiter's reserve covers them. */
  #sendNow(connection: Connection, payload: object): void {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(JSON.stringify(payload));
  }

  #deadline(connection: Connection, ms: number, what: 'HELLO' | 'READY' | 'RESUMED'): void {
    this.#clearDeadline(connection);
    connection.deadline = setTimeout(() => {
      this.#report({ kind: 'error', error: new ShardError(what === 'HELLO' ? 'HELLO_TIMEOUT' : 'READY_TIMEOUT', `no ${what} within ${ms} ms: reconnecting`) });
      this.#drop(connection, { identify: false, delayMs: 0, cause: `no ${what} within ${ms} ms` });
    }, ms);
  }

  #clearDeadline(connection: Connection): void {
    if (connection.deadline !== null) clearTimeout(connection.deadline);
    connection.deadline = null;
  }

  /** Stops everything that belongs to a connection; the socket is left to the caller. */
  #release(connection: Connection): void {
    if (this.#connection === connection) this.#connection = null;
    connection.abort.abort();
    this.#clearDeadline(connection);
    if (connection.heartbeatTimer !== null) clearInterval(connection.heartbeatTimer);
    connection.heartbeatTimer = null;
    const { metrics } = connection.inflater;
    this.#metrics = {
      bytesIn: this.#metrics.bytesIn + metrics.bytesIn,
      bytesOut: this.#metrics.bytesOut + metrics.bytesOut,
      messages: this.#metrics.messages + metrics.messages,
    };
    connection.inflater.close();
  }

  /**
   * Drops a connection the shard gave up on, at once and without waiting for a close
   * handshake (a zombie would never answer one), leaving the session resumable.
   */
  #drop(connection: Connection, next: Reconnect): void {
    this.#release(connection);
    connection.socket.terminate();
    this.#report({ kind: 'close', code: null, reason: 'connection dropped by the shard' });
    if (next.identify) this.#endSession();
    if (connection.awaitingReady && this.#identifyFailed(next.cause, null)) return;
    this.#scheduleReconnect(next.delayMs, next.cause);
  }

  #onClosed(connection: Connection, code: number, reason: string): void {
    this.#release(connection);
    if (!connection.opened) {
      // Could not connect: a resume URL that fails is not tried again; resume on the base URL.
      if (connection.usedResumeUrl) {
        this.#resumeUrl = null;
        this.#sessionMoved();
      }
      this.#scheduleReconnect(0, 'could not connect');
      return;
    }
    const closeCode = code === 1005 || code === 1006 ? null : code;
    this.#report({ kind: 'close', code: closeCode, reason });
    const action = closeAction(closeCode);
    if (action === 'fatal') {
      this.#fail(new ShardError('FATAL_CLOSE_CODE', `gateway closed with ${code}: ${fatalCloseAdvice(code)}`, { closeCode: code }), code);
      return;
    }
    if (action === 'identify') this.#endSession();
    const cause = `close ${code}${reason === '' ? '' : ` (${JSON.stringify(reason)})`}`;
    if (connection.awaitingReady && this.#identifyFailed(cause, closeCode)) return;
    this.#scheduleReconnect(0, cause);
  }

  /**
   * An IDENTIFY ended before READY: an error item, and a longer wait before the next
   * (see `#scheduleReconnect`); after `maxIdentifyFailures` in a row the shard ends, since a
   * gateway that refuses every IDENTIFY would otherwise spend the daily budget in a loop.
   * Returns whether the shard ended.
   */
  #identifyFailed(cause: string, closeCode: number | null): boolean {
    this.#identifyFailures += 1;
    const max = this.config.maxIdentifyFailures;
    if (this.#identifyFailures < max) {
      this.#report({ kind: 'error', error: new ShardError('IDENTIFY_FAILED', `IDENTIFY ended before READY with ${cause} (${this.#identifyFailures} of ${max} in a row): identifying again after a backoff`) });
      return false;
    }
    const message = `${max} IDENTIFY attempts in a row ended before READY, the last with ${cause}: check the token, the intents and that gatewayUrl is a gateway for this bot`;
    this.#fail(new ShardError('IDENTIFY_FAILURES_EXHAUSTED', message, closeCode === null ? undefined : { closeCode }), closeCode ?? 0);
    return true;
  }

  #endSession(): void {
    const had = this.#sessionId !== null;
    this.#sessionId = null;
    this.#sequence = NO_SEQUENCE;
    this.#resumeUrl = null;
    if (had) this.#sessionMoved();
  }

  #fail(error: ShardError, code = error.closeCode ?? 0): void {
    this.#fatal = error;
    notify(this.#observers, 'error', this, error);
    this.#setState({ kind: 'FatallyClosed', code });
    this.#rejectActiveWaiters(error);
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #scheduleReconnect(minimumDelayMs: number, cause: string): void {
    if (this.#closed || this.#fatal) return;
    const attempts = this.#state.kind === 'Disconnected' ? this.#state.attempts + 1 : 1;
    this.#setState({ kind: 'Disconnected', attempts });
    // Failed identifies and queue failures each connected, so `attempts` restarted; their own counts keep the wait growing.
    const { backoff } = this.config;
    const failures = this.#identifyFailures + this.#queueFailures;
    const delay = Math.max(minimumDelayMs, backoffDelay(attempts, backoff), backoffDelay(failures + 1, backoff));
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
    notify(this.#observers, 'reconnecting', this, { cause, delayMs: delay, attempts });
  }
}
