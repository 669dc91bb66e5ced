/**
 * Keeping a fleet's sessions in a store while it runs: saved when a session begins or comes
 * back (READY, RESUMED), when it ends, and otherwise at most every few seconds with where it
 * got to — never once per event.
 */
import type { Logger } from '../observability/logger.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { Session } from '../shard/session.js';
import type { Shard } from '../shard/shard.js';
import type { SessionStore } from './store.js';

/** How often moved sessions are saved while nothing else calls for a save. */
export const DEFAULT_SAVE_INTERVAL_MS = 5_000;
/** How often `keepSessions` looks at the sessions as taken. */
const SWEEP_MS = 1_000;
/** How long the last save at a stop may take: a store that hangs must not hang a shutdown. */
const STOP_SAVE_TIMEOUT_MS = 10_000;

/**
 * `intervalMs` checked: a positive integer.
 *
 * @throws RangeError naming a bad interval.
 */
export function saveInterval(intervalMs: number | undefined): number {
  const interval = intervalMs ?? DEFAULT_SAVE_INTERVAL_MS;
  if (!Number.isSafeInteger(interval) || interval < 1) throw new RangeError(`the session save interval must be a positive integer of milliseconds, got ${String(intervalMs)}`);
  return interval;
}

/**
 * Batches session changes into store saves: urgent ones (a session began, came back or
 * ended) at once, the rest on an interval, and every session again each third of the
 * store's `ttlMs` so a quiet one does not expire. A failed save is logged (or, without a
 * logger, a process warning once per run of failures) and its changes are kept for the
 * next one.
 *
 * @internal
 */
export class SessionSaver {
  readonly #store: SessionStore;
  readonly #logger: Logger | null;
  #pending = new Map<number, Session | null>();
  /** The last session handed over per shard: what a refresh saves again. */
  readonly #latest = new Map<number, Session>();
  #saving: Promise<void> = Promise.resolve();
  #urgent = false;
  #failing = false;
  readonly #timers: NodeJS.Timeout[];

  constructor(store: SessionStore, intervalMs: number, logger: Logger | null) {
    this.#store = store;
    this.#logger = logger;
    this.#timers = [setInterval(() => void this.flush(), saveInterval(intervalMs)).unref()];
    const ttl = store.ttlMs;
    if (ttl !== undefined && Number.isFinite(ttl) && ttl > 0) this.#timers.push(setInterval(() => this.#refresh(), Math.max(1, Math.floor(ttl / 3))).unref());
  }

  /** Shard `shard`'s session is now `session`; `urgent` saves it without waiting for the interval. */
  changed(shard: number, session: Session | null, urgent: boolean): void {
    this.#pending.set(shard, session);
    if (session === null) this.#latest.delete(shard);
    else this.#latest.set(shard, session);
    if (urgent && !this.#urgent) {
      this.#urgent = true;
      queueMicrotask(() => void this.flush()); // one save for everything that changed in this turn
    }
  }

  /** Saves what changed since the last save; resolves once it is stored (or the failure logged). */
  flush(): Promise<void> {
    this.#urgent = false;
    this.#saving = this.#saving.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = this.#pending;
      this.#pending = new Map();
      try {
        await this.#store.save(batch);
        if (this.#failing) this.#logger?.info({ shards: batch.size }, 'saving sessions works again');
        this.#failing = false;
      } catch (error) {
        for (const [shard, session] of batch) if (!this.#pending.has(shard)) this.#pending.set(shard, session);
        this.#failed(`saving sessions failed: retrying at the next save (${(error as Error).message})`, { shards: batch.size, err: (error as Error).message });
      }
    });
    return this.#saving;
  }

  /** Saves what is left (waiting at most 10 s for the store) and stops the timers. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_SAVE_TIMEOUT_MS)));
    const late = await Promise.race([this.flush().then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) this.#failed(`the last save of sessions did not finish within ${STOP_SAVE_TIMEOUT_MS} ms: they may be lost`, { timeoutMs: STOP_SAVE_TIMEOUT_MS });
  }

  /** Hands every known session over again, renewing it in a store whose sessions expire. */
  #refresh(): void {
    for (const [shard, session] of this.#latest) if (!this.#pending.has(shard)) this.#pending.set(shard, session);
  }

  #failed(message: string, fields: Record<string, unknown>): void {
    if (this.#logger !== null) this.#logger.warn(fields, message);
    else if (!this.#failing) process.emitWarning(message, 'GloamingSessionWarning');
    this.#failing = true;
  }
}

/** What {@link keepSessions} returns. */
export interface SessionKeeper {
  /** Saves every change so far now. */
  flush(): Promise<void>;
  /** Stops watching the shards, after a last save: call it after `closeAll`. */
  stop(): Promise<void>;
}

/**
 * Keeps `shards`' sessions in `store` while they run: each shard's session as taken by your
 * loop (so a restart replays what it had not read yet) is saved on READY and RESUMED, when
 * the session ends, and every `intervalMs` (default 5 s) while it moves; a close with
 * {@link CloseFrame.NORMAL} forgets it. Stores whose sessions expire (`ttlMs`) get every
 * session again each third of it. Load them back with `resumeSessions(await store.load())`.
 * A failed save is logged (or a process warning without `logger`) and retried at the next.
 *
 * @throws RangeError for an `intervalMs` that is not a positive integer.
 * @example
 * const store = new JsonFileSessionStore('sessions.json');
 * const shards = await createRecommended(config, resumeSessions(await store.load()));
 * const keeper = keepSessions(shards, store);
 * // … on shutdown:
 * await closeAll(shards, CloseFrame.RESUME);
 * await keeper.stop();
 */
export function keepSessions(shards: Iterable<Shard>, store: SessionStore, options: { readonly intervalMs?: number; readonly logger?: Logger } = {}): SessionKeeper {
  const interval = saveInterval(options.intervalMs);
  const saver = new SessionSaver(store, interval, options.logger ?? null);
  const watched = [...shards];
  /** Per shard, the session last handed to the saver ('' for none or forgotten). */
  const saved = new Map<Shard, string>();
  /** Per shard, the id of a session closed with NORMAL: it stays forgotten until another begins. */
  const forgotten = new Map<Shard, string>();
  /** Notes a shard's session as taken if it moved since it was last noted; a new session is saved at once. */
  const note = (shard: Shard, urgent: boolean): void => {
    const session = shard.takenSession;
    if (session !== null && forgotten.get(shard) === session.id) return;
    forgotten.delete(shard);
    const key = session === null ? '' : `${session.id}:${session.sequence}:${session.resumeUrl ?? ''}`;
    const before = saved.get(shard);
    if (before === key && !urgent) return;
    saved.set(shard, key);
    const began = session !== null && before?.split(':')[0] !== session.id;
    saver.changed(shard.id.number, session, urgent || began);
  };
  const forget = (shard: Shard): void => {
    const id = shard.takenSession?.id ?? shard.session?.id;
    if (id !== undefined) forgotten.set(shard, id);
    saved.set(shard, '');
    saver.changed(shard.id.number, null, true);
  };
  const stops = watched.map((shard) =>
    shard.observe({
      sessionChanged: (_shard, session) => {
        if (session === null) {
          saved.set(shard, '');
          saver.changed(shard.id.number, null, true);
        }
      },
      stateChanged: (_shard, state) => {
        // RESUMED: the session as taken is whole again. After READY it is the new session once
        // the loop takes READY, which the next sweep sees.
        if (state.kind === 'Active') note(shard, true);
      },
      closed: (_shard, { cause }) => {
        if (cause.kind === 'UserClose' && cause.code === CloseFrame.NORMAL.code) forget(shard);
        else if (cause.kind === 'UserClose') note(shard, true);
      },
    }),
  );
  // Reading the sessions as taken is cheap: once a second (new sessions are saved then), the store on the saver's interval.
  const sweep = setInterval(
    () => {
      for (const shard of watched) note(shard, false);
    },
    Math.min(SWEEP_MS, interval),
  ).unref();
  return {
    flush: () => {
      for (const shard of watched) note(shard, false);
      return saver.flush();
    },
    stop: async () => {
      clearInterval(sweep);
      for (const stop of stops) stop();
      for (const shard of watched) note(shard, false);
      await saver.stop();
    },
  };
}
