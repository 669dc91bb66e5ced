/**
 * Sessions on Redis, for fleets in many processes: one hash per application, a field per
 * shard, saved by one Lua script that never moves a session back to an older sequence.
 */
import type { Redis as RedisClient } from 'ioredis';
import { Token } from '../config.js';
import type { SessionStore } from '../sessions/store.js';
import { Session } from '../shard/session.js';
import { redisConnection } from './connection.js';
import type { RedisInput } from './connection.js';

/**
 * How long stored sessions live after the last save: Discord keeps a dropped session
 * resumable for a few minutes, so a session older than this could only cost a refused
 * RESUME. A running fleet saves at least every few seconds, renewing it.
 */
export const SESSION_TTL_MS = 10 * 60_000;

/**
 * KEYS: the sessions hash. ARGV: ttl ms, then shard, JSON (or '' to forget) pairs. A stored
 * session of the same id at a later sequence is kept.
 */
const SAVE = `
local function decoded(json)
  local ok, value = pcall(cjson.decode, json)
  if ok and type(value) == 'table' and type(value.id) == 'string' and type(value.sequence) == 'number' then return value end
  return nil
end
for i = 2, #ARGV, 2 do
  local shard, json = ARGV[i], ARGV[i + 1]
  if json == '' then
    redis.call('HDEL', KEYS[1], shard)
  else
    local new = decoded(json)
    local old = redis.call('HGET', KEYS[1], shard)
    local current = old and decoded(old)
    -- a damaged stored field is replaced
    if not (new and current and current.id == new.id and current.sequence > new.sequence) then redis.call('HSET', KEYS[1], shard, json) end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`;

/** Options of a {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** An ioredis client (left open by `close()`), or a `redis://` URL (connected, and closed by `close()`). */
  readonly redis: RedisInput;
  /** The bot's token, to scope the keys by its application id (the token's first part); the token itself is never stored. */
  readonly token?: string | Token;
  /** The application id to scope the keys by, instead of `token`. */
  readonly applicationId?: string;
  /** Put before the key; default `gloaming:sessions:`. */
  readonly prefix?: string;
  /** How long sessions live after the last save; default 10 minutes ({@link SESSION_TTL_MS}). */
  readonly ttlMs?: number;
}

/**
 * The application id a bot token belongs to: its first part, the bot's user id in base64.
 *
 * @throws TypeError when the token's first part is not a base64 snowflake (the message never holds the token).
 * @example
 * applicationIdOf(process.env.DISCORD_TOKEN!); // '123456789012345678'
 */
export function applicationIdOf(token: string | Token): string {
  const raw = token instanceof Token ? token.reveal() : token.trim().replace(/^Bot\s+/i, '');
  const id = Buffer.from(raw.split('.')[0] ?? '', 'base64').toString('utf8');
  if (!/^\d{15,21}$/.test(id)) throw new TypeError("the token's first part is not a bot's id in base64: pass applicationId instead");
  return id;
}

interface SessionScripts {
  gloamingSessionsSave(...args: (string | number)[]): Promise<number>;
}

/**
 * A {@link SessionStore} on Redis, shared by every process of a bot: keys are scoped by
 * application id (never by token), a save never moves a stored session back to an older
 * sequence even when processes race, and sessions expire 10 minutes after the last save.
 *
 * @throws TypeError (constructor) without `token` or `applicationId`, or for a bad `redis`;
 *   RangeError for a bad `ttlMs`.
 * @example
 * import { RedisSessionStore } from 'gloaming/redis';
 * const store = new RedisSessionStore({ redis: 'redis://127.0.0.1:6379', token });
 * const fleet = new WorkerFleet({ shards: { total: 16 }, config: { token, intents }, sessionStore: store });
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: RedisClient & SessionScripts;
  readonly #owned: boolean;
  readonly #key: string;
  readonly #ttlMs: number;

  constructor(options: RedisSessionStoreOptions) {
    const applicationId = options.applicationId ?? (options.token === undefined ? undefined : applicationIdOf(options.token));
    if (applicationId === undefined || !/^\d+$/.test(applicationId)) throw new TypeError('RedisSessionStore needs token or applicationId (digits), to scope its keys by application');
    this.#ttlMs = options.ttlMs ?? SESSION_TTL_MS;
    if (!Number.isSafeInteger(this.#ttlMs) || this.#ttlMs < 1) throw new RangeError(`RedisSessionStore ttlMs must be a positive integer, got ${String(options.ttlMs)}`);
    this.#key = `${options.prefix ?? 'gloaming:sessions:'}${applicationId}`;
    const { client, owned } = redisConnection(options.redis);
    client.defineCommand('gloamingSessionsSave', { numberOfKeys: 1, lua: SAVE });
    this.#redis = client as RedisClient & SessionScripts;
    this.#owned = owned;
  }

  /** How long sessions live after the last save, in milliseconds. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Every stored session of this application, by shard id; a field that is not a session is skipped.
   *
   * @throws the error of Redis when it cannot be reached.
   */
  async load(): Promise<Map<number, Session>> {
    const fields = await this.#redis.hgetall(this.#key);
    const sessions = new Map<number, Session>();
    for (const [shard, json] of Object.entries(fields)) {
      try {
        if (/^\d+$/.test(shard)) sessions.set(Number(shard), Session.fromJSON(JSON.parse(json)));
      } catch {
        // not ours, or damaged: that shard identifies
      }
    }
    return sessions;
  }

  /**
   * Saves in one script: `null` forgets a shard; a session of the same id at an older
   * sequence than the stored one is ignored.
   *
   * @throws the error of Redis when it cannot be reached.
   */
  async save(sessions: ReadonlyMap<number, Session | null>): Promise<void> {
    if (sessions.size === 0) return;
    const pairs = [...sessions].flatMap(([shard, session]) => [String(shard), session === null ? '' : JSON.stringify(session.toJSON())]);
    await this.#redis.gloamingSessionsSave(this.#key, this.#ttlMs, ...pairs);
  }

  /** Closes the connection if the store made it from a URL. */
  async close(): Promise<void> {
    if (this.#owned) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
