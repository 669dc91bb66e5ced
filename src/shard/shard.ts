/**
 * Shard: one gateway connection you pull events from. It owns the connection's lifecycle:
 * connect, HELLO, identify through a queue or resume, heartbeats, op 1/7/9, close codes and
 * reconnects. What follows a disconnect is decided in disconnect.ts, the session rules live
 * in session-tracker.ts, the consumer's buffer in inbox.ts and what it counts for metrics in
 * counters.ts.
 */
import { setMaxListeners } from 'node:events';
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
import { shardLogObserver } from '../observability/log-observer.js';
import type { Logger } from '../observability/logger.js';
import { CloseFrame, fatalCloseAdvice } from './close-codes.js';
import { payloadTooLarge, serializeCommand } from './commands.js';
import type { GatewayCommand } from './commands.js';
import { decideReconnect, describeCause } from './disconnect.js';
import type { DisconnectCause } from './disconnect.js';
import { ShardError } from './errors.js';
import { isKnownPayload } from './events.js';
import type { ShardEvent, ShardMessage } from './events.js';
import { readBinaryFrames } from './frame-reader.js';
import { connectUrl } from './gateway-url.js';
import { identifyPayload } from './identify.js';
import { Inbox } from './inbox.js';
import { Latency } from './latency.js';
import { ShardCounters } from './counters.js';
import type { ShardCountsData } from './counters.js';
import { notify } from './observer.js';
import type { ShardObserver } from './observer.js';
import { helloProblem, isSequence, readyProblem } from './payload-checks.js';
import { CommandRatelimiter } from './ratelimiter.js';
import type { Session } from './session.js';
import { SessionTracker } from './session-tracker.js';
import { ShardId } from './shard-id.js';

/**
 * Where a shard is in its lifecycle.
 *
 * @example
 * if (shard.state.kind === 'Disconnected') console.log(`reconnect attempt ${shard.state.attempts}`);
 */
export type ShardState =
  | {
      /** No connection past HELLO: before the first read, while connecting or reconnecting, or after `close()`. */
      readonly kind: 'Disconnected';
      /** Which reconnect this is: 1 after a connection that got past HELLO, one more for each that failed before it; 0 before the first connect and after `close()`. */
      readonly attempts: number;
    }
  | {
      /** HELLO came and the shard identifies: waiting for the queue's turn or for READY. */
      readonly kind: 'Identifying';
    }
  | {
      /** HELLO came and the shard resumes its session: waiting for RESUMED. */
      readonly kind: 'Resuming';
    }
  | {
      /** READY or RESUMED arrived: events flow. */
      readonly kind: 'Active';
    }
  | {
      /** Ended for good by a close the shard must not retry (4004, 4010–4014). */
      readonly kind: 'FatallyClosed';
      /** The close code that ended the shard, or 0 when it was not a close (a last failed IDENTIFY without one). */
      readonly code: number;
    };

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
const DISPATCH = GatewayOpcodes.Dispatch as number;

/** A dispatch other than READY and RESUMED, which the shard acts on itself. */
const isOrdinaryDispatch = (op: number, t: unknown): boolean => op === DISPATCH && t !== GatewayDispatchEvents.Ready && t !== GatewayDispatchEvents.Resumed;
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
  /** Which shard of how many this is. */
  readonly id: ShardId;
  /** The config as resolved and checked (the token hidden). */
  readonly config: ResolvedShardConfig;
  /** Heartbeat round trips, over every connection of this shard. */
  readonly latency = new Latency();
  readonly #queue: Queue;
  readonly #inbox: Inbox;
  readonly #session: SessionTracker;
  #connection: Connection | null = null;
  #state: ShardState = { kind: 'Disconnected', attempts: 0 };
  /** IDENTIFY attempts in a row that ended before READY. */
  #identifyFailures = 0;
  /** Identify queue rejections in a row (not aborts). */
  #queueFailures = 0;
  #started = false;
  /** The user closed the shard: no more reconnects; the stream ends once drained. */
  #closed = false;
  #fatal: ShardError | null = null;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #activeWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #metrics: InflaterMetrics = { bytesIn: 0, bytesOut: 0, messages: 0 };
  readonly #counters = new ShardCounters();
  /** The sequence a RESUME went out from, to count what the gateway replays. */
  #resumedFrom = -1;
  #observers: ShardObserver[] = [];
  /** Whether an observer wants `sequenceChanged`, which would otherwise cost every dispatch a call. */
  #sequenceWatched = false;
  /** The config's logger with this shard's `shardId` bound, or null. */
  readonly #logger: Logger | null;

  /**
   * @throws ConfigError naming the bad option; RangeError for a bad shard id.
   */
  constructor(id: ShardId | readonly [number, number], config: ShardConfig) {
    this.id = ShardId.from(id);
    this.config = resolveShardConfig(config);
    this.#queue = this.config.queue ?? defaultQueue(config);
    this.#session = new SessionTracker(this.config.session, this.config.allowInsecureUrls, {
      sessionChanged: () => {
        const session = this.session;
        this.#inbox.push({ kind: 'session', session });
        if (this.#observers.length !== 0) notify(this.#observers, 'sessionChanged', this, session);
      },
      // On the receive path: free when nobody observes.
      sequenceChanged: (sequence) => {
        if (this.#sequenceWatched) notify(this.#observers, 'sequenceChanged', this, sequence);
      },
      resumeUrlIgnored: (url, problem) => this.#warn({ url, problem }, 'ignoring resume_gateway_url: resuming on the gateway URL'),
    });
    this.#inbox = new Inbox(
      {
        start: () => this.#ensureStarted(),
        ended: () => this.#fatal ?? (this.#closed ? new ShardError('SHARD_CLOSED', `shard ${this.id.toString()} was closed`) : null),
        parseDispatch: (text) => this.#parseDispatch(text),
        readingChanged: () => this.#applyReading(),
      },
      this.config.maxBufferedMessages,
      this.config.session,
    );
    this.#logger = this.config.logger?.child({ shardId: this.id.number }) ?? null;
    if (this.#logger !== null) this.observe(shardLogObserver(this.#logger));
  }

  /** Where the shard is: Disconnected (with reconnect attempts), Identifying, Resuming, Active or FatallyClosed. */
  get state(): ShardState {
    return this.#state;
  }

  /** The session to resume (id, last sequence, resume URL), or null before READY and after it ended. */
  get session(): Session | null {
    return this.#session.session;
  }

  /**
   * The session as of the last item taken (or peeked) by the consumer, where {@link Shard.session}
   * is as of the last message received. Resuming it receives again everything still buffered,
   * so a host that forwards events (a worker, a bus) saves this one: nothing it did not hand
   * on is lost.
   *
   * @example
   * const event = await shard.nextEvent();
   * forward(event);
   * checkpoint(shard.takenSession);
   */
  get takenSession(): Session | null {
    return this.#inbox.takenSession;
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
   * What the shard counted since it was made: dispatches by type, identifies, resumes,
   * dispatches replayed, reconnects by cause, commands sent and refused. A snapshot, cheap
   * enough for every metrics scrape.
   *
   * @example
   * const { identifies, reconnects } = shard.counts;
   */
  get counts(): ShardCountsData {
    return this.#counters.toJSON();
  }

  /** Items received and not yet taken by the consumer: how far behind it is. */
  get buffered(): number {
    return this.#inbox.buffered;
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
    this.#sequenceWatched ||= observer.sequenceChanged !== undefined;
    return () => {
      const at = this.#observers.indexOf(observer);
      if (at !== -1) this.#observers = this.#observers.filter((_, index) => index !== at);
      this.#sequenceWatched = this.#observers.some((watching) => watching.sequenceChanged !== undefined);
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
    return this.#inbox.event(true);
  }

  /**
   * The next event if one is already buffered, without waiting: what {@link Shard.nextEvent}
   * would resolve with at once, or undefined when it would have to wait. With `peek`, the
   * event stays to be taken. For loops over many shards that want no promise per event.
   *
   * @throws what {@link Shard.nextEvent} rejects with, once the shard's stream has ended.
   * @example
   * for (let event = shard.pollEvent(); event !== undefined; event = shard.pollEvent()) handle(event);
   */
  pollEvent(options: { readonly peek?: boolean } = {}): ShardEvent | undefined {
    return this.#inbox.bufferedEvent(options.peek !== true);
  }

  /**
   * The next message if one is already buffered, without waiting, as {@link Shard.pollEvent}
   * is to events: what `nextMessage` (or, with `wantedOnly`, `nextWantedMessage`) would
   * resolve with at once, or undefined.
   *
   * @throws what {@link Shard.nextEvent} rejects with, once the shard's stream has ended.
   * @example
   * const message = shard.pollMessage({ wantedOnly: true });
   * if (message?.type === 'text') forward(message.text);
   */
  pollMessage(options: { readonly peek?: boolean; readonly wantedOnly?: boolean } = {}): ShardMessage | undefined {
    return this.#inbox.bufferedMessage(options.peek !== true, options.wantedOnly === true);
  }

  /**
   * Waits for the next event like {@link Shard.nextEvent} but leaves it to be taken by the
   * next `nextEvent` call (merged streams wait on every shard this way, so an event is
   * never lost when a shard leaves the stream).
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  peekEvent(): Promise<ShardEvent> {
    return this.#inbox.event(false);
  }

  /**
   * The next raw message: a gateway message's JSON text as received, a close, or a
   * non-fatal error. Unlike `nextEvent`, it does not parse dispatches, so it cannot tell
   * the shard to receive a broken one again.
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  nextMessage(): Promise<ShardMessage> {
    return this.#inbox.message(true);
  }

  /**
   * The next item {@link Shard.nextEvent} would yield, unparsed: a wanted dispatch or other
   * payload as its JSON text, a close or an error. For forwarding events elsewhere (another
   * thread, a bus) where they are parsed once, at the far end.
   *
   * @throws the same as {@link Shard.nextEvent}.
   * @example
   * const message = await shard.nextWantedMessage();
   * if (message.type === 'text') port.postMessage(message.text);
   */
  nextWantedMessage(): Promise<ShardMessage> {
    return this.#inbox.message(true, true);
  }

  /**
   * Waits for the next item {@link Shard.nextWantedMessage} would yield but leaves it in
   * place, so a merged stream can read the shard's wanted messages.
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  peekWantedMessage(): Promise<ShardMessage> {
    return this.#inbox.message(false, true);
  }

  /**
   * Waits for the next raw message but leaves it for the next `nextMessage` call.
   *
   * @throws the same as {@link Shard.nextEvent}.
   */
  peekMessage(): Promise<ShardMessage> {
    return this.#inbox.message(false);
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
    try {
      await this.#send(json);
    } catch (error) {
      this.#counters.commandsRefused += 1;
      throw error;
    }
    this.#counters.commandsSent += 1;
  }

  async #send(json: string): Promise<void> {
    const tooLarge = payloadTooLarge(json);
    if (tooLarge !== null) throw tooLarge;
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
    let json: string;
    try {
      json = serializeCommand(command);
    } catch (error) {
      this.#counters.commandsRefused += 1;
      throw error;
    }
    await this.send(json);
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
    this.#reportClose(frame.code, frame.reason, { kind: 'UserClose', code: frame.code });
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

  /** A warning through the logger, or `process.emitWarning` without one (or when it throws). */
  #warn(fields: Record<string, unknown>, message: string): void {
    const warning = `gloaming: shard ${this.id.toString()}: ${message} ${JSON.stringify(fields)}`;
    try {
      if (this.#logger === null) process.emitWarning(warning);
      else this.#logger.warn(fields, message);
    } catch {
      process.emitWarning(warning);
    }
  }

  /** Queues an error item for the consumer and tells the observers. */
  #reportError(error: ShardError, s = -1): void {
    this.#inbox.push({ kind: 'error', error, s });
    if (this.#observers.length !== 0) notify(this.#observers, 'error', this, error);
  }

  /** Queues a close item for the consumer and tells the observers why it closed. */
  #reportClose(code: number | null, reason: string, cause: DisconnectCause): void {
    this.#inbox.push({ kind: 'close', code, reason });
    if (this.#observers.length !== 0) notify(this.#observers, 'closed', this, { code, reason, cause });
  }

  /** Reads the socket unless the consumer is behind (memory stays bounded) or this turn's budget is spent. */
  #applyReading(): void {
    const socket = this.#connection?.socket;
    if (socket === undefined) return;
    if (this.#inbox.paused) socket.pause();
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

  #whenActive(): Promise<void> {
    if (this.#fatal) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `shard ${this.id.toString()} is fatally closed`, { cause: this.#fatal }));
    if (this.#closed) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `shard ${this.id.toString()} was closed`));
    if (this.#state.kind === 'Active') return Promise.resolve();
    return new Promise((resolve, reject) => this.#activeWaiters.push({ resolve, reject }));
  }

  #rejectActiveWaiters(error: ShardError): void {
    for (const waiter of this.#activeWaiters.splice(0)) waiter.reject(new ShardError('SEND_AFTER_CLOSE', error.message, { cause: error }));
  }

  #connect(): void {
    this.#reconnectTimer = null;
    this.#resumedFrom = -1;
    const target = this.#session.connectTarget(this.config.gatewayUrl);
    const url = connectUrl(target.url, this.config.compression);
    if (this.#observers.length !== 0) notify(this.#observers, 'connecting', this, { url, resuming: this.#session.resumable });
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
    const abort = new AbortController();
    // Every command waiting for the ratelimiter listens on it: many at once is not a leak.
    setMaxListeners(0, abort.signal);
    const connection: Connection = {
      socket,
      inflater,
      usedResumeUrl: target.usedResumeUrl,
      abort,
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
        this.#reportError(new ShardError('CONNECT_FAILED', `could not connect to ${new URL(url).host}: ${error.message}`, { cause: error }));
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
    this.#inbox.spendReadBudget();
    let text: string | null;
    try {
      text = connection.inflater.push(data);
    } catch (error) {
      if (error instanceof InflatedSizeError) {
        this.#onOversized(error);
        return;
      }
      this.#reportError(new ShardError('DECOMPRESS_FAILED', `could not decompress a message: ${(error as Error).message}`, { cause: error }));
      this.#drop(connection, { kind: 'Decompression' });
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
      this.#reportError(new ShardError('SEQUENCE_INVALID', `a dispatch had no valid sequence number (s: ${String(s)}): skipped`));
      return;
    }
    if (!this.#session.advance(s)) {
      this.#reportError(new ShardError('SEQUENCE_REPEATED', `a dispatch repeated sequence ${s} (already at ${this.#session.sequence}): skipped`));
      return;
    }
    this.#counters.dispatch(t);
    this.#inbox.push({ kind: 'payload', text, payload: parsed, wanted: this.#wanted(DISPATCH, t), s });
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
      this.#reportError(new ShardError('PROTOCOL_VIOLATION', `${problem}: reconnecting`));
      this.#drop(connection, { kind: 'InvalidPayload', problem });
      return;
    }
    if (payload.op === GatewayOpcodes.Dispatch) this.#counters.dispatch(payload.t);
    const s = payload.t === GatewayDispatchEvents.Resumed && isSequence(payload.s) ? payload.s : -1;
    this.#inbox.push({ kind: 'payload', text, payload, wanted: this.#wanted(payload.op, payload.t), s });
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
    const counted = dispatch !== null && this.#session.advance(dispatch.s as number);
    if (counted) this.#counters.dispatch(dispatch.t);
    const what = dispatch === null ? '' : ` (${String(dispatch.t)}, sequence ${String(dispatch.s)})`;
    const message = `${error.message}${what}; raise maxInflatedSize to receive it`;
    this.#reportError(new ShardError('MESSAGE_TOO_LARGE', message, { cause: error }), counted ? (dispatch.s as number) : -1);
  }

  /**
   * A whole payload, or null after queueing an error (MESSAGE_NOT_JSON, NOT_A_PAYLOAD) for
   * text that is not one. Text that is not JSON at all also replaces the connection: on a compressed transport it
   * means the context may be out of step, and a resume re-sends any dispatch it hid.
   */
  #parse(connection: Connection, text: string): GatewayReceivePayload | null {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      this.#reportError(new ShardError('MESSAGE_NOT_JSON', `a message was not valid JSON: ${(error as Error).message}; reconnecting`, { cause: error }));
      this.#drop(connection, { kind: 'InvalidPayload', problem: 'a message that was not JSON' });
      return null;
    }
    if (typeof payload !== 'object' || payload === null || typeof (payload as { op?: unknown }).op !== 'number') {
      this.#reportError(new ShardError('NOT_A_PAYLOAD', 'a message was not a gateway payload (no numeric op)'));
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
    if (!isSequence(s) || this.#closed || this.#fatal) return false;
    if (this.#inbox.holds((item) => item.kind === 'payload' && item.payload?.t === GatewayDispatchEvents.Ready)) return false;
    if (!this.#session.rewindBefore(s)) return false;
    this.#inbox.dropPayloads(s - 1);
    const connection = this.#connection;
    if (connection !== null) this.#drop(connection, { kind: 'InvalidPayload', problem: 'a dispatch that was not whole JSON' });
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
        this.#drop(connection, { kind: 'Reconnect' });
        break;
      case GatewayOpcodes.InvalidSession:
        // Only an explicit `false` ends the session; anything else tries the free resume first.
        this.#drop(connection, { kind: 'InvalidSession', resumable: payload.d !== false });
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
    if (this.#observers.length !== 0) notify(this.#observers, 'hello', this, interval);
    if (this.config.ratelimitMessages) connection.ratelimiter = new CommandRatelimiter(interval);
    connection.heartbeatTimer = setTimeout(() => {
      this.#heartbeat(connection);
      connection.heartbeatTimer = setInterval(() => this.#beatOrDrop(connection), interval);
    }, interval * Math.random());
    if (this.#session.resumable) {
      this.#setState({ kind: 'Resuming' });
      if (this.#sendNow(connection, this.#session.resumePayload(this.config.token.reveal()))) {
        this.#counters.resumes += 1;
        this.#resumedFrom = this.#session.sequence;
      }
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
        if (this.#sendNow(connection, identifyPayload(this.config.token.reveal(), this.config, this.id.toJSON()))) this.#counters.identifies += 1;
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
        this.#reportError(new ShardError('QUEUE_FAILED', `the identify queue failed (${reason}): reconnecting after a backoff`, { cause: error }));
        this.#drop(connection, { kind: 'QueueFailed' });
      },
    );
  }

  #onReady(connection: Connection, sequence: number, ready: GatewayReadyDispatchData): void {
    this.#identifyFailures = 0;
    this.#session.ready(sequence, ready.session_id, ready.resume_gateway_url);
    connection.awaitingReady = false;
    this.#onActive(connection);
  }

  #onResumed(connection: Connection, sequence: unknown): void {
    // Only a RESUME this connection sent has a replay to count.
    const replayed = this.#resumedFrom < 0 ? 0 : Math.max(0, this.#session.sequence - this.#resumedFrom);
    this.#counters.resumed += 1;
    this.#counters.replayed += replayed;
    this.#session.resumed(sequence);
    this.#onActive(connection);
    if (this.#observers.length !== 0) notify(this.#observers, 'resumed', this, { replayed });
  }

  #onActive(connection: Connection): void {
    this.#clearDeadline(connection);
    this.#setState({ kind: 'Active' });
  }

  #beatOrDrop(connection: Connection): void {
    // While the consumer holds reading back, ACKs wait unread in the socket: not a zombie.
    if (!connection.acked && !this.#inbox.backlogged) {
      this.#reportError(new ShardError('ZOMBIE', 'no heartbeat ACK since the last heartbeat: reconnecting'));
      this.#drop(connection, { kind: 'Zombie' });
      return;
    }
    this.#heartbeat(connection);
  }

  #heartbeat(connection: Connection): void {
    connection.acked = false;
    this.latency.sent(performance.now());
    this.#sendNow(connection, { op: GatewayOpcodes.Heartbeat, d: this.#session.heartbeatSequence });
  }

  /** Heartbeats, IDENTIFY and RESUME skip the command queue: the ratelimiter's reserve covers them. */
  #sendNow(connection: Connection, payload: object): boolean {
    if (connection.socket.readyState !== WebSocket.OPEN) return false;
    connection.socket.send(JSON.stringify(payload));
    return true;
  }

  #deadline(connection: Connection, ms: number, what: 'HELLO' | 'READY' | 'RESUMED'): void {
    this.#clearDeadline(connection);
    connection.deadline = setTimeout(() => {
      this.#reportError(new ShardError(what === 'HELLO' ? 'HELLO_TIMEOUT' : 'READY_TIMEOUT', `no ${what} within ${ms} ms: reconnecting`));
      this.#drop(connection, { kind: 'Timeout', waitingFor: what, ms });
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
   * handshake (a zombie would never answer one).
   */
  #drop(connection: Connection, cause: DisconnectCause): void {
    this.#release(connection);
    connection.socket.terminate();
    this.#reportClose(null, 'connection dropped by the shard', cause);
    this.#reconnect(cause, connection.awaitingReady);
  }

  #onClosed(connection: Connection, code: number, reason: string): void {
    this.#release(connection);
    if (!connection.opened) {
      // A resume URL that cannot be connected to is not tried again: resume on the base URL.
      if (connection.usedResumeUrl) this.#session.resumeUrlFailed();
      this.#reconnect({ kind: 'Transport' }, false);
      return;
    }
    const cause: DisconnectCause = { kind: 'CloseCode', code, reason };
    this.#reportClose(code === 1005 || code === 1006 ? null : code, reason, cause);
    this.#reconnect(cause, connection.awaitingReady);
  }

  /**
   * Acts on a lost connection as {@link decideReconnect} decides. `identifyEnded`: an IDENTIFY
   * went out on it and READY never came, which counts towards `maxIdentifyFailures`.
   */
  #reconnect(cause: DisconnectCause, identifyEnded: boolean): void {
    if (this.#closed || this.#fatal) return;
    if (identifyEnded) this.#identifyFailures += 1;
    const attempts = this.#state.kind === 'Disconnected' ? this.#state.attempts + 1 : 1;
    const decision = decideReconnect(cause, {
      attempts,
      identifyFailures: this.#identifyFailures,
      queueFailures: this.#queueFailures,
      maxIdentifyFailures: this.config.maxIdentifyFailures,
      backoff: this.config.backoff,
    });
    if (decision.action === 'stop') return;
    if (decision.action === 'fatal') {
      this.#fail(this.#fatalError(cause, decision.reason));
      return;
    }
    this.#counters.reconnect(cause);
    if (decision.action === 'identify') this.#session.end();
    if (identifyEnded) {
      const message = `IDENTIFY ended before READY with ${describeCause(cause)} (${this.#identifyFailures} of ${this.config.maxIdentifyFailures} in a row): identifying again after a backoff`;
      this.#reportError(new ShardError('IDENTIFY_FAILED', message));
    }
    this.#setState({ kind: 'Disconnected', attempts });
    this.#reconnectTimer = setTimeout(() => this.#connect(), decision.delayMs);
    notify(this.#observers, 'reconnecting', this, { cause, delayMs: decision.delayMs, attempts });
  }

  /** The error a shard ends with: a fatal close code, or IDENTIFYs that kept failing. */
  #fatalError(cause: DisconnectCause, reason: 'closeCode' | 'identifyFailures'): ShardError {
    const closeCode = cause.kind === 'CloseCode' ? cause.code : undefined;
    if (reason === 'closeCode') return new ShardError('FATAL_CLOSE_CODE', `gateway closed with ${closeCode}: ${fatalCloseAdvice(closeCode as number)}`, { closeCode });
    const max = this.config.maxIdentifyFailures;
    const message = `${max} IDENTIFY attempts in a row ended before READY, the last with ${describeCause(cause)}: check the token, the intents and that gatewayUrl is a gateway for this bot`;
    return new ShardError('IDENTIFY_FAILURES_EXHAUSTED', message, closeCode === undefined || closeCode === 1005 || closeCode === 1006 ? undefined : { closeCode });
  }

  #fail(error: ShardError): void {
    this.#fatal = error;
    notify(this.#observers, 'error', this, error);
    this.#setState({ kind: 'FatallyClosed', code: error.closeCode ?? 0 });
    this.#rejectActiveWaiters(error);
    this.#inbox.wakeReader();
  }
}
