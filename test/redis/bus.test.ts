// The gateway service and GatewayConsumer in one process, against a real redis-server and
// FakeGateway: what is published (fields, types, cap), what consumers are handed (once per
// shard, session and sequence; claimed from a dead consumer; dead-lettered after too many
// deliveries) and commands routed back to the right shard.
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayCommandError, GatewayConsumer, GatewayService } from '../../src/redis/index.js';
import type { ConsumedEvent, GatewayServiceOptions } from '../../src/redis/index.js';
import { EventPublisher } from '../../src/redis/event-publisher.js';
import { requestGuildMembers, updatePresence } from '../../src/shard/commands.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { redisPerFile } from '../support/redis.js';
import { until } from '../support/until.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GlOaMi.n0t-a-real-token_but-distinctive';
const redis = redisPerFile();
const start = startGateway({ identifyInterval: 0, guilds: 4, rate: 0 });
const open: { close?(): Promise<void>; stop?(): Promise<void> }[] = [];
afterEach(async () => {
  for (const part of open.splice(0).reverse()) await (part.stop ?? part.close)?.call(part);
});
let prefixes = 0;

async function service(g: FakeGateway, options: Partial<GatewayServiceOptions> = {}): Promise<GatewayService> {
  const made = await GatewayService.start({ token: TOKEN, intents: 513, redis: redis.current.url, total: g.options.shards, gatewayUrl: g.url, maxConcurrency: g.options.maxConcurrency, identifyIntervalMs: 0, allowInsecureUrls: true, ...options });
  open.push(made);
  await until(() => made.active, 10_000);
  return made;
}

function consumer(prefix: string, name: string, options: Partial<ConstructorParameters<typeof GatewayConsumer>[0]> = {}): GatewayConsumer {
  const made = new GatewayConsumer({ redis: redis.current.url, group: 'bot', consumer: name, events: [GatewayDispatchEvents.MessageCreate], prefix, from: '0', ...options });
  open.push(made);
  return made;
}

/** Reads `count` events from `from` (or until `ms` pass), acking each unless told not to. */
async function take(from: GatewayConsumer, count: number, { ack = true, ms = 10_000 } = {}): Promise<ConsumedEvent[]> {
  const taken: ConsumedEvent[] = [];
  const deadline = Date.now() + ms;
  while (taken.length < count && Date.now() < deadline) {
    const next = await Promise.race([from.next(), new Promise<null>((resolve) => setTimeout(() => resolve(null), Math.max(1, deadline - Date.now())))]);
    if (next === null || next.done === true) break;
    taken.push(next.value);
    if (ack) await next.value.ack();
  }
  return taken;
}

const message = (guild: string, n: number): object => ({ id: String(n), channel_id: '2', guild_id: guild, content: `m${n}` });

describe('the event bus', () => {
  it('publishes each wanted dispatch with its shard, session, sequence and type, in a capped stream per type', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2 });
    const prefix = `p${++prefixes}:`;
    const s = await service(g, { prefix, events: [GatewayDispatchEvents.MessageCreate], cap: 50 });
    const reader = consumer(prefix, 'c1');
    for (let n = 0; n < 300; n++) g.dispatch(n % 2, 'MESSAGE_CREATE', message('3', n));
    g.dispatch(0, 'TYPING_START', { channel_id: '2', user_id: '5', timestamp: 1 });
    await until(() => s.published === 300, 10_000);
    const client = new Redis(redis.current.url);
    const keys = (await client.keys(`${prefix}events:*`)).sort();
    const length = await client.xlen(`${prefix}events:MESSAGE_CREATE`);
    const [[, fields]] = (await client.xrevrange(`${prefix}events:MESSAGE_CREATE`, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    expect(await client.get(`${prefix}total`)).toBe('2');
    await client.quit();
    expect(keys).toEqual([`${prefix}events:MESSAGE_CREATE`]); // TYPING_START was not wanted
    expect(length).toBeLessThan(300); // MAXLEN ~ 50 trims whole nodes
    // The newest entry is one of the last two sent (the shards' order through the service is not fixed).
    expect(fields.filter((_, at) => at % 2 === 0)).toEqual(['shard', 'session', 'seq', 't', 'd']);
    const field = (name: string): string => fields[fields.indexOf(name) + 1] as string;
    const sent = g.log.ofType('dispatch').find((entry) => entry.session === field('session') && entry.sequence === Number(field('seq')));
    expect(sent).toMatchObject({ shard: Number(field('shard')), t: 'MESSAGE_CREATE' });
    const n = Number((JSON.parse(field('d')) as { id: string }).id);
    expect(field('d')).toBe(JSON.stringify(message('3', n))); // d as the gateway sent it
    expect(n).toBeGreaterThanOrEqual(298);
    expect(n % 2).toBe(sent?.shard);
    const [first] = await take(reader, 1);
    expect(first?.event).toMatchObject({ op: 0, t: 'MESSAGE_CREATE', d: { guild_id: '3' } });
    expect(first?.event.s).toBeGreaterThan(1);
  });

  it('appends entries batch after batch, each to its type\'s stream in the order published, and confirms a checkpoint once all before it are in', async () => {
    const prefix = `p${++prefixes}:`;
    const confirmed: string[] = [];
    const publisher = new EventPublisher<string>({ redis: redis.current.url, prefix }, (checkpoint) => confirmed.push(checkpoint));
    const types = ['MESSAGE_CREATE', 'TYPING_START'];
    // 1,300 entries: more than two batches, the types interleaved, `d` with text that is not ASCII.
    for (let n = 0; n < 1_300; n++) {
      publisher.publish(n % 3, 'session', n + 1, types[n % 2] as string, JSON.stringify({ n, content: `é ✨ ${n}` }));
      if (n === 999) publisher.checkpoint('after 1000');
    }
    await publisher.flush();
    expect(confirmed).toEqual(['after 1000']);
    expect(publisher.published).toBe(1_300);
    await publisher.close();
    const client = new Redis(redis.current.url);
    for (const [at, type] of types.entries()) {
      const entries = (await client.xrange(`${prefix}events:${type}`, '-', '+')) as [string, string[]][];
      expect(entries.map(([, fields]) => fields)).toEqual(
        Array.from({ length: 650 }, (_, k) => 2 * k + at).map((n) => ['shard', String(n % 3), 'session', 'session', 'seq', String(n + 1), 't', type, 'd', JSON.stringify({ n, content: `é ✨ ${n}` })]),
      );
    }
    await client.quit();
  });

  it('hands each event to one consumer of a group once, and skips an entry of the same shard, session and sequence', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2 });
    const prefix = `p${++prefixes}:`;
    const s = await service(g, { prefix });
    const [a, b] = [consumer(prefix, 'a', { batch: 10 }), consumer(prefix, 'b', { batch: 10 })];
    for (let n = 0; n < 200; n++) g.dispatch(n % 2, 'MESSAGE_CREATE', message('3', n));
    await until(() => s.published >= 200, 10_000);
    // The same events published again, as a resume's replay after a restart would.
    const again = new EventPublisher({ redis: redis.current.url, prefix });
    for (const entry of g.log.ofType('dispatch').filter((e) => e.t === 'MESSAGE_CREATE').slice(0, 50)) again.publish(entry.shard, entry.session, entry.sequence, entry.t, '{}');
    await again.close();
    const [fromA, fromB] = await Promise.all([take(a, 250, { ms: 2_500 }), take(b, 250, { ms: 2_500 })]);
    const keys = [...fromA, ...fromB].map(({ shardId, sessionId, event }) => `${shardId}:${sessionId}:${event.s}`);
    expect(keys).toHaveLength(200);
    expect(new Set(keys).size).toBe(200);
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
  });

  it('claims what a dead consumer left pending, and dead-letters an entry delivered too often', async () => {
    const g = await start({ shards: 1, maxConcurrency: 1 });
    const prefix = `p${++prefixes}:`;
    const s = await service(g, { prefix, events: [GatewayDispatchEvents.MessageCreate] });
    const dying = consumer(prefix, 'dying', { claimIdleMs: 300 });
    for (let n = 0; n < 10; n++) g.dispatch(0, 'MESSAGE_CREATE', message('3', n));
    await until(() => s.published === 10);
    const unacked = await take(dying, 10, { ack: false });
    expect(unacked).toHaveLength(10);
    await dying.close();
    const heir = consumer(prefix, 'heir', { claimIdleMs: 300, maxDeliveries: 3 });
    // Claimed once (second delivery), then again without an ack (third), then dead-lettered.
    const claimed = await take(heir, 10, { ack: false, ms: 3_000 });
    expect(claimed.map((item) => item.event.s)).toEqual(unacked.map((item) => item.event.s));
    const again = await take(heir, 10, { ack: false, ms: 3_000 });
    expect(again.map((item) => item.event.s)).toEqual(unacked.map((item) => item.event.s));
    await take(heir, 1, { ms: 1_500 }); // its next claim pass moves them
    expect(heir.deadLettered).toBe(10);
    const client = new Redis(redis.current.url);
    const dead = (await client.xrange(`${prefix}dead:bot`, '-', '+')) as [string, string[]][];
    const pending = (await client.xpending(`${prefix}events:MESSAGE_CREATE`, 'bot')) as [number];
    await client.quit();
    expect(dead).toHaveLength(10);
    expect(dead[0]?.[1].slice(0, 6)).toEqual(['stream', `${prefix}events:MESSAGE_CREATE`, 'id', unacked[0]?.entryId, 'deliveries', '3']);
    expect(pending[0]).toBe(0);
  });

  it('moves an entry that is not an event, or whose d is not JSON, to the dead-letter stream and goes on', async () => {
    const prefix = `p${++prefixes}:`;
    const c = consumer(prefix, 'c');
    const client = new Redis(redis.current.url);
    const stream = `${prefix}events:MESSAGE_CREATE`;
    await client.xgroup('CREATE', stream, 'bot', '0', 'MKSTREAM');
    await client.xadd(stream, '*', 'foreign', 'entry');
    await client.xadd(stream, '*', 'shard', '0', 'session', 's', 'seq', '1', 't', 'MESSAGE_CREATE', 'd', '{not json');
    await client.xadd(stream, '*', 'shard', '0', 'session', 's', 'seq', '2', 't', 'MESSAGE_CREATE', 'd', '{"content":"ok"}');
    const [good] = await take(c, 1);
    expect(good?.event).toEqual({ op: 0, t: 'MESSAGE_CREATE', s: 2, d: { content: 'ok' } });
    const dead = (await client.xrange(`${prefix}dead:bot`, '-', '+')) as [string, string[]][];
    const pending = (await client.xpending(stream, 'bot')) as [number];
    await client.quit();
    expect(dead.map(([, fields]) => fields.slice(6))).toEqual([['foreign', 'entry'], ['shard', '0', 'session', 's', 'seq', '1', 't', 'MESSAGE_CREATE', 'd', '{not json']]);
    expect(c.deadLettered).toBe(2);
    expect(pending[0]).toBe(0);
  });

  it('routes commands by shard or guild to the owning shard, and names why one failed', async () => {
    const g = await start({ shards: 4, maxConcurrency: 4 });
    const prefix = `p${++prefixes}:`;
    await service(g, { prefix, range: [0, 2] }); // shards 2 and 3 have no service
    const c = consumer(prefix, 'c');
    await c.command(1, updatePresence({ status: 'idle', activities: [], afk: false, since: null }));
    const guild = String((5n << 22n) + 17n); // (guild >> 22) % 4 = 1
    await c.command(guild, requestGuildMembers({ guildId: guild, query: '', limit: 0 }));
    const commands = g.log.ofType('command');
    expect(commands.map((entry) => [entry.shard, entry.op])).toEqual([
      [1, 3],
      [1, 8],
    ]);
    await expect(c.command(2, updatePresence({ status: 'idle', activities: [], afk: false, since: null }), { timeoutMs: 500 })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('shard 2') });
    const huge = { op: 8, d: { guild_id: guild, query: 'x'.repeat(5000), limit: 0 } };
    await expect(c.command(0, huge)).rejects.toThrow(GatewayCommandError);
    await expect(c.command(0, huge)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('routes a guild by the shard total the services wrote last, also right after it changed (a reshard)', async () => {
    const g = await start({ shards: 4, maxConcurrency: 4 });
    const prefix = `p${++prefixes}:`;
    await service(g, { prefix });
    const c = consumer(prefix, 'c');
    const guild = String(6n << 22n); // shard 2 of 4, shard 0 of 2
    await c.command(guild, requestGuildMembers({ guildId: guild, query: '', limit: 0 }));
    const client = new Redis(redis.current.url);
    await client.set(`${prefix}total`, '2'); // what a reshard to 2 writes
    await client.quit();
    await c.command(guild, requestGuildMembers({ guildId: guild, query: '', limit: 0 }));
    expect(g.log.ofType('command').map((entry) => entry.shard)).toEqual([2, 0]);
  });
});

describe('a service sized by /gateway/bot', () => {
  it('runs the shard count and gateway URL the REST API recommends, and refuses a REST URL that would carry the token in clear', async () => {
    const g = await start({ shards: 3, maxConcurrency: 3 });
    const prefix = `p${++prefixes}:`;
    const s = await GatewayService.start({ token: TOKEN, intents: 513, redis: redis.current.url, restUrl: g.restUrl, prefix, identifyIntervalMs: 0 });
    open.push(s);
    await until(() => s.active, 10_000);
    expect(g.log.ofType('identify').map((entry) => [entry.shard, entry.numShards]).sort()).toEqual([[0, 3], [1, 3], [2, 3]]);
    const refused = GatewayService.start({ token: TOKEN, intents: 513, redis: redis.current.url, restUrl: 'http://gateway.example/api/v10', prefix: `p${++prefixes}:` });
    await expect(refused).rejects.toMatchObject({ name: 'ConfigError', message: expect.stringMatching(/restUrl.*unencrypted/) });
  });
});
