/**
 * Where a bot keeps its shards' sessions between runs, so a restart resumes instead of
 * identifying: the interface, and stores in memory and in a JSON file. The Redis one, for
 * many processes, is in `gloaming/redis`.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { sessionsFromJSON, sessionsToJSON } from '../fleet/sessions.js';
import type { Session } from '../shard/session.js';

/**
 * Sessions by shard id, kept somewhere that outlives the process.
 *
 * @example
 * const store = new JsonFileSessionStore('sessions.json');
 * const shards = createRange({ start: 0, end: 16 }, 16, config, resumeSessions(await store.load()));
 * keepSessions(shards, store);
 */
export interface SessionStore {
  /** Every stored session, by shard id. Rejects when the store cannot be read. */
  load(): Promise<Map<number, Session>>;
  /**
   * Stores these sessions; `null` forgets a shard's. A session of the same id is never
   * replaced by one at an older sequence (two processes may race), so what is stored only
   * moves forward. Rejects when the store cannot be written.
   */
  save(sessions: ReadonlyMap<number, Session | null>): Promise<void>;
  /**
   * How long a stored session lives without being saved again, for a store whose sessions
   * expire; `keepSessions` and `WorkerFleet` save every session again each third of it, so a
   * quiet session is not lost while its shard runs.
   */
  readonly ttlMs?: number;
}

/**
 * `stored` updated with `changes` (`null` deletes), moving no session of the same id back to
 * an older sequence: the rule every store keeps, for a store of your own.
 *
 * @example
 * const next = mergeSessions(await readMine(), changes);
 */
export function mergeSessions(stored: ReadonlyMap<number, Session>, changes: ReadonlyMap<number, Session | null>): Map<number, Session> {
  const merged = new Map(stored);
  for (const [shard, session] of changes) {
    const current = merged.get(shard);
    if (session === null) merged.delete(shard);
    else if (current === undefined || current.id !== session.id || current.sequence <= session.sequence) merged.set(shard, session);
  }
  return merged;
}

/**
 * Sessions in this process's memory: for tests, and for restarting fleets inside one process.
 *
 * @example
 * const store = new InMemorySessionStore();
 */
export class InMemorySessionStore implements SessionStore {
  #sessions = new Map<number, Session>();

  /** A copy of what was saved. */
  load(): Promise<Map<number, Session>> {
    return Promise.resolve(new Map(this.#sessions));
  }

  /** Merges `sessions` into memory, by the rule of {@link mergeSessions}. */
  save(sessions: ReadonlyMap<number, Session | null>): Promise<void> {
    this.#sessions = mergeSessions(this.#sessions, sessions);
    return Promise.resolve();
  }
}

/**
 * Sessions in a JSON file (the shape of `sessionsToJSON`), written whole to a temporary file
 * and renamed, so a crash mid-write leaves the old file. For one process: processes sharing
 * sessions need a shared store, such as `RedisSessionStore`.
 *
 * @example
 * const store = new JsonFileSessionStore('gloaming-sessions.json');
 */
export class JsonFileSessionStore implements SessionStore {
  readonly #path: string;
  /** Saves run one after another: each reads what the last wrote. */
  #last: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError(`JsonFileSessionStore needs a file path, got ${JSON.stringify(path)}`);
    this.#path = path;
  }

  /**
   * The file's sessions; none when it does not exist yet.
   *
   * @throws TypeError naming the file when it is not a sessions file.
   */
  async load(): Promise<Map<number, Session>> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    try {
      return sessionsFromJSON(JSON.parse(text));
    } catch (error) {
      throw new TypeError(`${this.#path} is not a sessions file: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Merges `sessions` into the file (by the rule of {@link mergeSessions}), one save after
   * another.
   *
   * @throws the file system's error when the file cannot be read or written; TypeError
   *   naming the file when it is not a sessions file.
   */
  save(sessions: ReadonlyMap<number, Session | null>): Promise<void> {
    const saving = this.#last.catch(() => undefined).then(async () => {
      const merged = mergeSessions(await this.load(), sessions);
      const temporary = `${this.#path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(sessionsToJSON(merged), null, 2)}\n`);
      await rename(temporary, this.#path);
    });
    this.#last = saving;
    return saving;
  }
}
