/**
 * The worker side of a WorkerFleet: builds its shards from plain data, pulls each one's
 * wanted items as text, hands them to the user's module if there is one, and forwards them
 * in batches with the sessions as taken. Identify admission and commands go through the
 * main thread, which owns the queue.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { peekPayload } from '../codec/peek.js';
import { shardConfigFromData } from '../config-data.js';
import type { Logger, LogLevel, LogMethod } from '../observability/logger.js';
import { shardStats } from '../observability/stats.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import { ShardError } from '../shard/errors.js';
import { isSequence } from '../shard/payload-checks.js';
import type { ShardEvent, ShardMessage } from '../shard/events.js';
import type { Session } from '../shard/session.js';
import { ShardId } from '../shard/shard-id.js';
import { Shard } from '../shard/shard.js';
import type { WorkerModule } from './module.js';
import type { CrossedError, CrossedItem, FleetMessage, WorkerInit, WorkerMessage } from './protocol.js';

/**
 * Items forwarded and not yet taken by the main thread's loop, past which the shards are not
 * read. 2,048 delivered 75k events/s at 16 shards on 2 cores; 8,192 only 51k (more memory to
 * sweep) and 512 65k (workers idle while the main thread catches up).
 */
const MAX_IN_FLIGHT = 2_048;
/** How often sessions that moved without a forwarded item (filtered events), and latencies, are sent. */
const TICK_MS = 1_000;

const port = parentPort;
if (port === null) throw new Error('gloaming: worker-entry runs in a WorkerFleet worker thread only');
const init = workerData as WorkerInit;

const crossed = (error: ShardError): CrossedError => ({ code: error.code, message: error.message, ...(error.closeCode === null ? {} : { closeCode: error.closeCode }) });
const post = (message: WorkerMessage): void => port.postMessage(message);

/** The fleet's identify queue, on the main thread: each wait is a ticket there; an abort takes it back. */
class RemoteQueue implements Queue {
  readonly #waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #nextTicket = 1;

  enqueue(shardId: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const ticket = this.#nextTicket++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiting.delete(ticket);
        post({ type: 'identify-abort', ticket });
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(ticket, {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      post({ type: 'identify', ticket, shard: shardId });
    });
  }

  settle(ticket: number, error: Error | null): void {
    const waiter = this.#waiting.get(ticket);
    this.#waiting.delete(ticket);
    if (error === null) waiter?.resolve();
    else waiter?.reject(error);
  }
}

/** A logger that forwards its lines to the fleet's, on the main thread; levels it does not write are not sent. */
class ForwardingLogger implements Logger {
  readonly trace = this.#method('trace');
  readonly debug = this.#method('debug');
  readonly info = this.#method('info');
  readonly warn = this.#method('warn');
  readonly error = this.#method('error');
  readonly fatal = this.#method('fatal');

  constructor(readonly bindings: Readonly<Record<string, unknown>> = {}) {}

  child(bindings: Record<string, unknown>): Logger {
    return new ForwardingLogger({ ...this.bindings, ...bindings });
  }

  isLevelEnabled(level: string): boolean {
    return init.logLevels.includes(level as LogLevel);
  }

  #method(level: LogLevel): LogMethod {
    if (!init.logLevels.includes(level)) return () => undefined;
    return (fields, msg = '') => {
      const merged = { ...this.bindings, ...fields };
      try {
        post({ type: 'log', level, fields: merged, msg });
      } catch {
        // A field that cannot be cloned: as its JSON, else the message alone.
        let fields: Record<string, unknown>;
        try {
          fields = JSON.parse(JSON.stringify(merged)) as Record<string, unknown>;
        } catch {
          fields = { ...this.bindings };
        }
        post({ type: 'log', level, fields, msg });
      }
    };
  }
}

/** What is forwarded next: the items of this turn, and which shards' sessions and statuses moved. */
class Outbox {
  #shards: number[] = [];
  #texts: (string | null)[] = [];
  #others: CrossedItem[] = [];
  readonly #moved = new Set<Shard>();
  /** Sessions to send instead of the session as taken, while an async handler holds an item taken but not forwarded. */
  readonly #pinned = new Map<Shard, Session | null>();
  readonly #statusChanged = new Set<Shard>();
  readonly #sentSessions = new Map<Shard, string>();
  readonly #sentHeartbeats = new Map<Shard, number>();
  #scheduled = false;
  #inFlight = 0;
  /** What every pump that found the outbox full waits on. */
  #room: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;

  /** Whether the main thread is too far behind for more. */
  get full(): boolean {
    return this.#inFlight >= MAX_IN_FLIGHT;
  }

  /** Resolves once the main thread has taken enough to make room. */
  room(): Promise<void> {
    if (this.#room === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#room = { promise, resolve };
    }
    return this.#room.promise;
  }

  consumed(count: number): void {
    this.#inFlight -= count;
    if (this.#inFlight < MAX_IN_FLIGHT >> 1 && this.#room !== null) {
      const room = this.#room;
      this.#room = null;
      room.resolve();
    }
  }

  push(shard: Shard, message: ShardMessage): void {
    this.#shards.push(shard.id.number);
    if (message.type === 'text') this.#texts.push(message.text);
    else {
      this.#texts.push(null);
      this.#others.push(message.type === 'close' ? { type: 'close', code: message.code, reason: message.reason } : { type: 'error', error: crossed(message.error) });
    }
    this.#inFlight += 1;
    this.moved(shard);
  }

  /** The shard's session as taken moved (an item was taken, forwarded or not). */
  moved(shard: Shard): void {
    this.#moved.add(shard);
    this.#schedule();
  }

  /** Until `unpin`, the shard's sessions go out as `session`: the item after it is still in a handler (or ended the worker). */
  pin(shard: Shard, session: Session | null): void {
    this.#pinned.set(shard, session);
    this.moved(shard); // sent soon: the session may have begun with the held item (its READY filtered out)
  }

  unpin(shard: Shard): void {
    this.#pinned.delete(shard);
  }

  statusChanged(shard: Shard): void {
    this.#statusChanged.add(shard);
    this.#schedule();
  }

  /** Marks every shard whose heartbeats or session moved since they were last sent (for the tick). */
  sweep(shards: readonly Shard[]): void {
    for (const shard of shards) {
      if (shard.latency.heartbeats !== (this.#sentHeartbeats.get(shard) ?? 0)) this.statusChanged(shard);
      const session = shard.takenSession;
      if (session !== null && `${session.id}:${session.sequence}` !== this.#sentSessions.get(shard)) this.moved(shard);
    }
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.flush);
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    const sessions = [...this.#moved].map((shard) => {
      const session = this.#pinned.has(shard) ? (this.#pinned.get(shard) as Session | null) : shard.takenSession;
      this.#sentSessions.set(shard, session === null ? '' : `${session.id}:${session.sequence}`);
      return [shard.id.number, session?.toJSON() ?? null] as const;
    });
    const statuses = [...this.#statusChanged].map((shard) => {
      const { latency } = shard;
      this.#sentHeartbeats.set(shard, latency.heartbeats);
      return [shard.id.number, shard.state, { average: latency.average, recent: [...latency.recent], heartbeats: latency.heartbeats }] as const;
    });
    if (this.#shards.length === 0 && sessions.length === 0 && statuses.length === 0) return;
    post({ type: 'batch', shards: this.#shards, texts: this.#texts, others: this.#others, sessions, statuses });
    this.#shards = [];
    this.#texts = [];
    this.#others = [];
    this.#moved.clear();
    for (const shard of this.#pinned.keys()) this.#moved.add(shard); // the rest goes once the handler is done
    this.#statusChanged.clear();
  };
}

/** The event a handler gets for a message. */
function eventOf(message: ShardMessage): ShardEvent {
  if (message.type === 'text') return JSON.parse(message.text) as ShardEvent;
  if (message.type === 'close') return { op: 'close', t: null, s: null, d: { code: message.code, reason: message.reason } };
  return { op: 'error', t: null, s: null, d: message.error };
}

/**
 * The session as taken just before `message`, given the one before the pull (`before`) and
 * after it (`after`). They differ only when the pull passed a session mark (an unwanted READY):
 * then everything of the new session before the message's sequence was taken.
 */
function sessionBefore(message: ShardMessage, before: Session | null, after: Session | null): Session | null {
  if (after === null || after.id === before?.id) return before;
  const s = message.type === 'text' ? peekPayload(message.text)?.s : undefined;
  // A dispatch of the new session moved the session as taken to its own sequence: before it is one less.
  return isSequence(s) && s === after.sequence && s > 0 ? after.withSequence(s - 1) : after;
}

/** Pulls one shard until it ends: closed (quietly) or fatally (its error is forwarded). */
async function pump(shard: Shard, outbox: Outbox, handle: WorkerModule['handleEvent']): Promise<void> {
  for (;;) {
    if (outbox.full) await outbox.room();
    // With a handler, an item is taken before the handler is done with it (it may await, or
    // throw and end the worker): until it is, the session before it is the one sent.
    const before = handle === undefined ? null : shard.takenSession;
    let message: ShardMessage;
    try {
      message = await shard.nextWantedMessage();
    } catch (error) {
      if (error instanceof ShardError && error.kind === 'FatallyClosed') outbox.push(shard, { type: 'error', error });
      return;
    }
    let event: ShardEvent | undefined;
    try {
      event = handle === undefined ? undefined : eventOf(message);
    } catch {
      event = undefined; // not whole JSON: forwarded as it is, where it becomes an error item
    }
    if (handle !== undefined && event !== undefined) {
      outbox.pin(shard, sessionBefore(message, before, shard.takenSession));
      let keep = handle(event, shard);
      if (keep instanceof Promise) keep = await keep;
      outbox.unpin(shard);
      if (keep === false) {
        outbox.moved(shard);
        continue;
      }
    }
    outbox.push(shard, message);
  }
}

const userModule = (init.module === null ? {} : await import(init.module)) as WorkerModule;
const queue = new RemoteQueue();
const outbox = new Outbox();
const logger = init.logLevels.length === 0 ? null : new ForwardingLogger();
const shards = init.shards.map(({ id, config }) => {
  const shardId = new ShardId(id, init.total);
  const own = shardConfigFromData(config);
  const configured = userModule.configureShard?.(shardId, own) ?? own;
  return new Shard(shardId, { ...configured, queue, logger: configured.logger ?? logger });
});
const byId = new Map(shards.map((shard) => [shard.id.number, shard]));

port.on('message', (message: FleetMessage) => {
  switch (message.type) {
    case 'identify-granted':
      return queue.settle(message.ticket, null);
    case 'identify-failed':
      return queue.settle(message.ticket, new Error(message.message));
    case 'consumed':
      return outbox.consumed(message.count);
    case 'stats':
      return post({ type: 'stats', request: message.request, stats: shards.map(shardStats) });
    case 'send': {
      const shard = byId.get(message.shard);
      if (shard === undefined) return post({ type: 'sent', request: message.request, error: { code: 'UNEXPECTED', message: `shard ${message.shard} is not in this worker` } });
      shard.send(message.json).then(
        () => post({ type: 'sent', request: message.request, error: null }),
        (error: unknown) => post({ type: 'sent', request: message.request, error: error instanceof ShardError ? crossed(error) : { code: 'UNEXPECTED', message: String(error) } }),
      );
      return;
    }
    case 'close':
      clearInterval(tick);
      void Promise.allSettled(shards.map((shard) => shard.close(new CloseFrame(message.code, message.reason)))).then(() => {
        outbox.sweep(shards);
        outbox.flush();
        port.close(); // nothing is left to keep the thread alive: it exits, and the fleet sees it
      });
  }
});

for (const shard of shards) shard.observe({ stateChanged: () => outbox.statusChanged(shard) });
const tick = setInterval(() => outbox.sweep(shards), TICK_MS);
// A handler that throws ends the worker as an uncaught exception would: the fleet restarts it.
const crash = (error: unknown): void =>
  process.nextTick(() => {
    throw error;
  });
for (const shard of shards) pump(shard, outbox, userModule.handleEvent?.bind(userModule)).catch(crash);
