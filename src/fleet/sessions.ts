/**
 * A fleet's sessions as a bot keeps them across restarts: the map `closeAll` returns, its
 * JSON form for a file or a store, and the per-shard config that resumes them.
 */
import { Session } from '../shard/session.js';
import type { SessionJSON } from '../shard/session.js';
import type { PerShardConfig } from './plan.js';

/**
 * The JSON form of a fleet's sessions, keyed by shard number: what {@link sessionsToJSON}
 * writes (a `Map` itself would stringify as `{}`).
 */
export type FleetSessionsJSON = Record<string, SessionJSON>;

/**
 * A plain object of every session by shard number, for `JSON.stringify`.
 *
 * @example
 * const sessions = await closeAll(shards, CloseFrame.RESUME);
 * await writeFile('sessions.json', JSON.stringify(sessionsToJSON(sessions)));
 */
export function sessionsToJSON(sessions: ReadonlyMap<number, Session>): FleetSessionsJSON {
  return Object.fromEntries([...sessions].map(([shard, session]) => [String(shard), session.toJSON()]));
}

/**
 * Reads back what {@link sessionsToJSON} wrote (already parsed).
 *
 * @throws TypeError naming the shard and field when `value` is not an object of sessions
 *   keyed by shard numbers.
 * @example
 * const sessions = sessionsFromJSON(JSON.parse(await readFile('sessions.json', 'utf8')));
 * const shards = await createRecommended(config, resumeSessions(sessions));
 */
export function sessionsFromJSON(value: unknown): Map<number, Session> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`fleet sessions JSON must be an object keyed by shard number, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  }
  const sessions = new Map<number, Session>();
  for (const [key, json] of Object.entries(value)) {
    if (!/^(0|[1-9]\d*)$/.test(key) || !Number.isSafeInteger(Number(key))) throw new TypeError(`fleet sessions JSON key ${JSON.stringify(key)} is not a shard number`);
    try {
      sessions.set(Number(key), Session.fromJSON(json));
    } catch (error) {
      throw new TypeError(`fleet sessions JSON, shard ${key}: ${(error as Error).message}`, { cause: error });
    }
  }
  return sessions;
}

/**
 * A per-shard config function that gives each shard its session from `sessions`, so it
 * resumes instead of identifying; shards without one identify as usual.
 *
 * @example
 * createRange({ start: 0, end: 16 }, 16, config, resumeSessions(sessions));
 */
export function resumeSessions(sessions: ReadonlyMap<number, Session>, then?: PerShardConfig): PerShardConfig {
  return (id, config) => {
    const withSession = { ...config, session: sessions.get(id.number) ?? null };
    return then ? then(id, withSession) : withSession;
  };
}
