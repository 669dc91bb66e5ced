// RedisSessionStore against a real redis-server: keys scoped by application id, racing saves
// never move a session back, sessions expire; a WorkerFleet keeping its sessions there and
// identifying through RedisQueue restarts with zero identifies, and the token is nowhere in Redis.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisQueue, RedisSessionStore, SESSION_TTL_MS, applicationIdOf } from '../../src/redis/index.js';
import { closeAll, createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { keepSessions } from '../../src/sessions/saver.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { Session } from '../../src/shard/session.js';
import { startGateway } from '../support/gateway.js';
import { redisPerFile } from '../support/redis.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';
import { allActive, fleetFor } from '../workers/fleet.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GlOaMi.n0t-a-real-token_but-distinctive';
const redis = redisPerFile();
const start = startGateway({ identifyInterval: 0, heartbeatInterval: 500 });
const closing: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(closing.map((part) => part.close()));
});

function store(options: { applicationId?: string; token?: string; ttlMs?: number } = {}): RedisSessionStore {
  const made = new RedisSessionStore({ redis: redis.current.url, ...(options.token === undefined ? { applicationId: '42' } : {}), ...options });
  closing.push(made);
  return made;
}

describe('RedisSessionStore', () => {
  it('scopes by application id, keeps the later sequence when saves race, forgets on null, and expires', async () => {
    const [a, b, other] = [store(), store(), store({ applicationId: '43' })];
    await a.save(new Map([[0, new Session('s0', 10, 'ws://127.0.0.1:1/r')], [1, new Session('s1', 3, null)]]));
    await Promise.all([a.save(new Map([[0, new Session('s0', 12, 'ws://127.0.0.1:1/r')]])), b.save(new Map([[0, new Session('s0', 11, 'ws://127.0.0.1:1/r')]]))]);
    await b.save(new Map([[0, new Session('s0', 9, 'ws://127.0.0.1:1/r')]])); // a save that arrives late
    await b.save(new Map([[1, null]]));
    expect(await a.load()).toEqual(new Map([[0, new Session('s0', 12, 'ws://127.0.0.1:1/r')]]));
    expect(await other.load()).toEqual(new Map());
    const client = new Redis(redis.current.url);
    const ttl = await client.pttl('gloaming:sessions:42');
    await client.quit();
    expect(ttl).toBeGreaterThan(SESSION_TTL_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(SESSION_TTL_MS);
    const short = store({ applicationId: '44', ttlMs: 200 });
    await short.save(new Map([[0, new Session('x', 1, null)]]));
    await until(async () => (await short.load()).size === 0, 3_000);
  });

  it('skips a damaged stored field, and a save replaces it', async () => {
    const sessions = store({ applicationId: '45' });
    const client = new Redis(redis.current.url);
    await client.hset('gloaming:sessions:45', '0', 'not json', '1', '{"id":1}', '2', JSON.stringify(new Session('ok', 4, null).toJSON()));
    expect(await sessions.load()).toEqual(new Map([[2, new Session('ok', 4, null)]]));
    await sessions.save(new Map([[0, new Session('new0', 1, null)], [1, new Session('new1', 2, null)]]));
    await client.quit();
    expect(await sessions.load()).toEqual(new Map([[0, new Session('new0', 1, null)], [1, new Session('new1', 2, null)], [2, new Session('ok', 4, null)]]));
  });

  it('keepSessions saves a quiet session again before it expires', async () => {
    const g = await start({ shards: 1, guilds: 1 });
    const sessions = store({ applicationId: '46', ttlMs: 1_500 });
    const shards = createRange({ start: 0, end: 1 }, 1, configFor(g));
    const keeper = keepSessions(shards, sessions);
    const read = (async () => {
      for await (const item of new ShardEventStream(shards)) void item;
    })();
    await until(async () => (await sessions.load()).size === 1);
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // nothing moves: no dispatch after GUILD_CREATE
    expect((await sessions.load()).get(0)).toEqual(shards[0]?.takenSession);
    await closeAll(shards, CloseFrame.RESUME);
    await keeper.stop();
    await read;
  });

  it('names a redis option that is not a client or a redis:// URL, without the password in it', () => {
    const bad = (redis: unknown): (() => RedisSessionStore) => () => new RedisSessionStore({ redis: redis as string, applicationId: '1' });
    expect(bad('http://bot:hunter2@10.0.0.5:6379')).toThrow('redis must be an ioredis client or a redis:// (or rediss://) URL, got "http://***@10.0.0.5:6379"');
    expect(bad('10.0.0.5:6379')).toThrow(/URL, got "10.0.0.5:6379"/);
    expect(bad({ host: '10.0.0.5' })).toThrow('redis must be an ioredis client or a redis:// URL');
  });

  it("takes the application id from the token's first part, and refuses a token without one", () => {
    expect(applicationIdOf(`Bot ${TOKEN}`)).toBe('123456789012345678');
    expect(() => new RedisSessionStore({ redis: redis.current.url, token: 'not-a-token' })).toThrow(/pass applicationId instead/);
  });

  it('a WorkerFleet on RedisQueue and RedisSessionStore restarts with zero identifies, and no key or value holds the token', async () => {
    const g = await start({ token: TOKEN, shards: 4, maxConcurrency: 2, guilds: 8, rate: 50 });
    const sessionStore = store({ token: TOKEN });
    const run = async (): Promise<void> => {
      const queue = new RedisQueue({ redis: redis.current.url, maxConcurrency: 2, intervalMs: 300, prefix: 'fleet:' });
      const fleet = fleetFor(g, { config: { token: TOKEN, intents: 513, gatewayUrl: g.url }, queue, sessionStore });
      const reading = (async () => {
        for await (const item of fleet) void item;
      })();
      await until(() => allActive(fleet));
      await until(async () => (await sessionStore.load()).size === 4); // saved while running, not only at close
      expect((await fleet.close(CloseFrame.RESUME)).size).toBe(4);
      await reading;
      await queue.close();
    };
    await run();
    expect(g.log.ofType('identify')).toHaveLength(4);
    await run();
    expect(g.log.ofType('identify')).toHaveLength(4);
    expect(g.log.ofType('resume')).toHaveLength(4);

    const client = new Redis(redis.current.url);
    const keys = await client.keys('*');
    const dump: string[] = [...keys];
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'string') dump.push((await client.get(key)) ?? '');
      else if (type === 'hash') dump.push(JSON.stringify(await client.hgetall(key)));
      else if (type === 'zset') dump.push(JSON.stringify(await client.zrange(key, '0', '-1')));
    }
    await client.quit();
    expect(keys.some((key) => key.includes('123456789012345678'))).toBe(true);
    expect(dump.filter((text) => text.includes('GlOaMi') || text.includes('n0t-a-real-token'))).toEqual([]);
  }, 40_000);
});
