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

/**
 * Batches session changes into store saves: urgent ones (a session began, came back or
 * ended) at once, the rest on an interval. A failed save is logged and its changes are kept
 * for the next one.
 *
 * @internal
 */
export class SessionSaver {
  readonly #store: SessionStore;
  readonly #logger: Logger | null;
  #pending = new Map<number, Session | null>();
  #saving: Promise<void> = Promise.resolve();
  #urgent = false;
  readonly #timer: NodeJS.Timeout;

  constructor(store: SessionStore, intervalMs: number, logger: Logger | null) {
    this.#store = store;
    this.#logger = logger;
    this.#timer = setInterval(() => void this.flush(), intervalMs).unref();
  }

  /** Shard `shard`'s session is now `session`; `urgent` saves it without waiting for the interval. */
  changed(shard: number, session: Session | null, urgent: boolean): void {
    this.#pending.set(shard, session);
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
      } catch (error) {
        for (const [shard, session] of batch) if (!this.#pending.has(shard)) this.#pending.set(shard, session);
        this.#logger?.warn({ shards: batch.size, err: (error as Error).message }, 'saving sessions failed: retrying at the next save');
      }
    });
    return this.#saving;
  }

  /** Saves what is left and stops the interval. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
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
 * {@link CloseFrame.NORMAL} forgets it. Load them back with `resumeSessions(await store.load())`.
 *
 * @example
 * const store = new JsonFileSessionStore('sessions.json');
 * const shards = await createRecommended(config, resumeSessions(await store.load()));
 * const keeper = keepSessions(shards, store);
 * // … on shutdown:
 * await closeAll(shards, CloseFrame.RESUME);
 * await keeper.stop();
 */
export function keepSessions(shards: Iterable<Shard>, store: SessionStore, options: { readonly intervalMs?: number; readonly logger?: Logger } = {}): SessionKeeper {
  const saver = new SessionSaver(store, options.intervalMs ?? DEFAULT_SAVE_INTERVAL_MS, options.logger ?? null);
  const watched = [...shards];
  /** Per shard, the session last handed to the saver ('' for none or forgotten). */
  const saved = new Map<Shard, string>();
  /** Notes a shard's session as taken if it moved since it was last noted; a new session is saved at once. */
  const note = (shard: Shard, urgent: boolean): void => {
    const session = shard.takenSession;
    const key = session === null ? '' : `${session.id}:${session.sequence}:${session.resumeUrl ?? ''}`;
    const before = saved.get(shard);
    if (before === key && !urgent) return;
    saved.set(shard, key);
    const began = session !== null && before?.split(':')[0] !== session.id;
    saver.changed(shard.id.number, session, urgent || began);
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
        if (cause.kind === 'UserClose' && cause.code === CloseFrame.NORMAL.code) {
          saved.set(shard, '');
          saver.changed(shard.id.number, null, true);
        } else if (cause.kind === 'UserClose') note(shard, true);
      },
    }),
  );
  // Reading the sessions as taken is cheap: once a second (new sessions are saved then), the store on the saver's interval.
  const sweep = setInterval(
    () => {
      for (const shard of watched) note(shard, false);
    },
    Math.min(SWEEP_MS, options.intervalMs ?? DEFAULT_SAVE_INTERVAL_MS),
  ).unref();
  return {
    flush: () => {
      for (const shard of watched) note(shard, false);
      return saver.flush();
    },
    stop: async () => {
      clearInterval(sweep);
      for (const stop of stops) stop();
      for (const shard of watched) if (saved.get(shard) !== '') note(shard, false); // a forgotten session stays forgotten
      await saver.stop();
    },
  };
}
