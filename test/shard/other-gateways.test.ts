// Gateways that speak Discord's protocol without being Discord's servers (Spacebar, proxies,
// test servers): what a shard accepts from them, against FakeGateway playing each behaviour.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents, GatewayOpcodes, PresenceUpdateStatus } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ConfigError } from '../../src/config.js';
import { createRecommended } from '../../src/fleet/create.js';
import { updatePresence } from '../../src/shard/commands.js';
import { Shard } from '../../src/shard/shard.js';
import { ShardId } from '../../src/shard/shard-id.js';
import type { FakeGateway, LogEntryOf } from '../../src/testing/index.js';
import { DEFAULT_USER_AGENT } from '../../src/version.js';
import { startGateway } from '../support/gateway.js';
import { Reader, configFor, expectEverySequenceOnce, shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, heartbeatInterval: 300 });
const open = shardsPerTest();
const presence = updatePresence({ since: null, activities: [], status: PresenceUpdateStatus.Idle, afk: false });

/** The messages of the error items whose kind or code is `which`. */
const errorsOf = (reader: Reader, which: string): string[] =>
  reader.events.flatMap((event) => (event.op === 'error' && (event.d.kind === which || event.d.code === which) ? [event.d.message] : []));

/** A local `/gateway/bot` that records the headers it was asked with and points at `gateway`. */
async function gatewayBotServer(url: string): Promise<{ restUrl: string; headers: IncomingHttpHeaders[]; close: () => void }> {
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    headers.push(request.headers);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ url, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { restUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v10`, headers, close: () => server.close() };
}

describe('sequences that do not start at 1', () => {
  it('READY at s 0 starts a session: yielded, stored, Active, commands go, heartbeats carry 0', async () => {
    const g = await start({ firstSequence: 0, guilds: 0 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    expect(reader.events.find((event) => event.t === GatewayDispatchEvents.Ready)).toMatchObject({ s: 0 });
    expect(shard.session).toMatchObject({ id: g.sessions()[0]!.id, sequence: 0 });
    await shard.command(presence);
    const command = await g.log.waitFor((entry) => entry.type === 'command');
    // A beat sent before READY arrived rightly carries null; one sent after the command (the shard was Active) carries READY's 0.
    const after = g.log.entries.indexOf(command);
    const beat = await g.log.waitFor((entry): entry is LogEntryOf<'heartbeat'> => entry.type === 'heartbeat' && g.log.entries.indexOf(entry) > after);
    expect(beat.sequence).toBe(0);
    expect(errorsOf(reader, 'Deserializing')).toEqual([]);
  });

  it.each([0, 1000])('a session whose READY is %i resumes from where it was, every sequence once', async (firstSequence) => {
    const g = await start({ firstSequence, guilds: 2, rate: 100 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 10);
    g.inject({ type: 'drop' });
    await g.log.waitFor((entry) => entry.type === 'resume');
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 40);
    expectEverySequenceOnce(reader, firstSequence);
    expect(reader.sessions()).toHaveLength(1);
    expect(g.log.ofType('identify')).toHaveLength(1);
  });
});

describe('a dispatch that is not whole JSON', () => {
  it('does not count: the connection is replaced, and the dispatch with that sequence arrives once', async () => {
    const g = await start({ guilds: 1 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length === 2); // READY, GUILD_CREATE
    const guildId = g.world.guildIds[0];
    // A dispatch cut short with the sequence the gateway will give its next one.
    g.inject({ type: 'raw-frame', data: `{"op":0,"t":"MESSAGE_CREATE","s":3,"d":{"guild_id":"${guildId}","content":"cut sh` }, { shard: 0 });
    await reader.until(() => errorsOf(reader, 'DISPATCH_NOT_JSON').length > 0);
    g.dispatch(0, GatewayDispatchEvents.MessageCreate, { id: '1', channel_id: '2', guild_id: guildId, content: 'whole' });
    await reader.until(() => reader.sequences().length === 3);
    expect(reader.events.find((event) => event.s === 3)).toMatchObject({ t: GatewayDispatchEvents.MessageCreate, d: { content: 'whole' } });
    expect(errorsOf(reader, 'DISPATCH_NOT_JSON')[0]).toContain('not valid JSON');
    expectEverySequenceOnce(reader);
    expect(g.log.ofType('resume')).toHaveLength(1);
  });

  it('with good dispatches buffered after it: those are dropped and replayed after it, in order', async () => {
    const g = await start({ guilds: 1, rate: 200 });
    const shard = new Shard(ShardId.ONE, configFor(g));
    try {
      const sequences: number[] = [];
      const errors: string[] = [];
      const read = async (until: () => boolean): Promise<void> => {
        while (!until()) {
          const event = await shard.nextEvent();
          if (event.op === GatewayOpcodes.Dispatch) sequences.push(event.s);
          else if (event.op === 'error') errors.push(event.d.message);
        }
      };
      await read(() => shard.state.kind === 'Active' && sequences.length > 10);
      // Not read for a while: the broken dispatch and the real ones after it wait in the buffer.
      const next = g.sessions()[0]!.sequence + 1;
      g.inject({ type: 'raw-frame', data: `{"op":0,"t":"MESSAGE_CREATE","s":${next},"d":{"content":"cut sh` }, { shard: 0 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await read(() => sequences.length > next + 100);
      expect(sequences).toEqual(sequences.map((_, i) => i + 1));
      expect(errors).toContain(`a dispatch repeated sequence ${next} (already at ${next}): skipped`);
      expect(errors.some((message) => message.startsWith('a dispatch was not valid JSON') && message.endsWith('receiving it again'))).toBe(true);
      const resume = g.log.ofType('resume')[0]!;
      expect(resume.sequence).toBe(next - 1);
      expect(resume.replayed).toBeGreaterThan(10);
    } finally {
      await shard.close();
    }
  });

  it('broken again on the replay: skipped, not a loop', async () => {
    // A gateway whose stored copy of dispatch 2 is broken, so every replay repeats it.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    const opened: string[] = [];
    server.on('connection', (socket) => {
      socket.send(JSON.stringify({ op: 10, s: null, t: null, d: { heartbeat_interval: 60_000 } }));
      socket.on('message', (data: Buffer) => {
        const { op } = JSON.parse(data.toString()) as { op: number };
        opened.push(op === 2 ? 'identify' : op === 6 ? 'resume' : String(op));
        if (op === 2) socket.send(JSON.stringify({ op: 0, s: 1, t: 'READY', d: { session_id: 'abc', user: {}, guilds: [], v: 10 } }));
        if (op !== 2 && op !== 6) return;
        socket.send('{"op":0,"s":2,"t":"MESSAGE_CREATE","d":{"content":"cut sh');
        if (op === 6) socket.send(JSON.stringify({ op: 0, s: 3, t: 'RESUMED', d: {} }));
        if (op === 6) socket.send(JSON.stringify({ op: 0, s: 4, t: 'MESSAGE_CREATE', d: { content: 'after' } }));
      });
    });
    const shard = new Shard(ShardId.ONE, { token: 't', intents: 1, compression: null, gatewayUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const reader = new Reader(shard);
    try {
      await reader.until(() => reader.sequences().includes(4));
      expect(opened).toEqual(['identify', 'resume']);
      expect(errorsOf(reader, 'Deserializing')).toEqual([
        expect.stringMatching(/not valid JSON.*; receiving it again$/),
        expect.stringMatching(/not valid JSON.*; skipped$/),
      ]);
      expect(reader.events.flatMap((event) => (event.op === 'error' ? [[event.d.code, event.d.reconnecting]] : []))).toEqual([
        ['DISPATCH_NOT_JSON', true],
        ['DISPATCH_NOT_JSON_SKIPPED', false],
      ]);
      expect(reader.sequences()).toEqual([1, 3, 4]);
    } finally {
      await shard.close();
      server.close();
    }
  });
});

describe('HELLO', () => {
  it('a gateway that sends none is left after 10 s by default, and reconnecting costs no identify', async () => {
    const g = await start({ hello: false });
    const { reader } = open(g);
    await reader.until(() => g.log.ofType('connect').length >= 2, 12_000);
    const [first, second] = g.log.ofType('connect');
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(9_900);
    expect(second!.time - first!.time).toBeLessThan(11_000);
    expect(errorsOf(reader, 'Timeout')[0]).toBe('no HELLO within 10000 ms: reconnecting');
    expect(g.log.ofType('identify')).toHaveLength(0);
  }, 20_000);

  it('a gateway that sends none is retried with growing backoff', async () => {
    const g = await start({ hello: false });
    const { reader } = open(g, { timeouts: { hello: 100 }, backoff: { initial: 100, max: 400, jitter: false } });
    await reader.until(() => g.log.ofType('connect').length >= 5, 5_000);
    const times = g.log.ofType('connect').map((entry) => entry.time);
    // timeout, then waits of 0, 100, 200, 400 ms
    expect(times[4]! - times[3]!).toBeGreaterThanOrEqual(100 + 400 - 20);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(100 + 200 - 20);
    expect(g.log.ofType('identify')).toHaveLength(0);
  });

  it('a HELLO with fields Discord does not send is taken', async () => {
    const g = await start({ guilds: 1 });
    g.inject({ type: 'withhold-hello' });
    const { shard, reader } = open(g);
    const connect = await g.log.waitFor((entry) => entry.type === 'connect');
    const hello = '{"op":10,"s":null,"t":null,"d":{"heartbeat_interval":300,"_trace":["gateway-1"],"v":10},"extra":true}';
    g.inject({ type: 'raw-frame', data: hello }, { connection: connect.connection });
    await reader.until(() => shard.state.kind === 'Active' && shard.latency.heartbeats >= 2, 5_000);
    expect(g.log.ofType('connect')).toHaveLength(1);
  });
});

describe('heartbeat ACKs with a d', () => {
  it.each([[{}], [42], ['ok'], [[1]]])('d %j is an ACK like any other', async (heartbeatAckData) => {
    const g = await start({ heartbeatAckData, guilds: 1 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.latency.heartbeats >= 4, 5_000);
    expect(errorsOf(reader, 'Zombie')).toEqual([]);
    expect(g.log.ofType('connect')).toHaveLength(1);
    expect(shard.latency.recent.length).toBeGreaterThanOrEqual(3);
  });
});

describe('a gateway that refuses every RESUME', () => {
  it('gets one identify per drop after 1–5 s, and no loop', async () => {
    const g = await start({ resume: false, guilds: 2, rate: 100 });
    const { shard, reader } = open(g);
    for (let drops = 1; drops <= 2; drops++) {
      await reader.until(() => shard.state.kind === 'Active' && reader.sessions().length === drops && reader.sessions().at(-1)!.length > 10);
      g.inject({ type: 'drop' });
      await g.log.waitFor(() => g.log.ofType('resume-rejected').length === drops);
      await g.log.waitFor(() => g.log.ofType('identify').length === drops + 1, 7_000);
      const refused = g.log.ofType('resume-rejected')[drops - 1]!;
      const identify = g.log.ofType('identify')[drops]!;
      expect(identify.time - refused.time).toBeGreaterThanOrEqual(1_000);
      expect(refused.reason).toBe('unsupported');
    }
    await reader.until(() => shard.state.kind === 'Active' && reader.sessions().length === 3 && reader.sessions().at(-1)!.length > 10);
    expect(g.log.ofType('identify')).toHaveLength(3);
    expect(g.log.ofType('resume-rejected')).toHaveLength(2);
    expect(shard.session?.id).toBe(g.log.ofType('identify')[2]!.session);
    expectEverySequenceOnce(reader);
    expect(reader.error).toBeNull();
  }, 30_000);
});

describe('User-Agent', () => {
  it("the handshake carries gloaming's, so a gateway that requires one (as Spacebar does) lets the shard in", async () => {
    const g = await start({ requireUserAgent: true });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    expect(g.log.ofType('connect')[0]?.userAgent).toBe(DEFAULT_USER_AGENT);
    expect(g.log.ofType('close')).toHaveLength(0);
  });

  it('the config can name another, for the handshake and for /gateway/bot', async () => {
    const g = await start();
    const rest = await gatewayBotServer(g.url);
    try {
      const [shard] = await createRecommended({ token: 'test-token', intents: 1, restUrl: rest.restUrl, userAgent: 'MyBot (https://bot.example, 2.1)' });
      const reader = open(g, { userAgent: 'MyBot (https://bot.example, 2.1)' }).reader;
      await reader.until(() => reader.shard.state.kind === 'Active');
      expect(g.log.ofType('connect')[0]?.userAgent).toBe('MyBot (https://bot.example, 2.1)');
      expect(rest.headers[0]?.['user-agent']).toBe('MyBot (https://bot.example, 2.1)');
      expect(shard?.config.userAgent).toBe('MyBot (https://bot.example, 2.1)');
    } finally {
      rest.close();
    }
  });

  it('/gateway/bot gets the default one', async () => {
    const g = await start();
    const rest = await gatewayBotServer(g.url);
    try {
      await createRecommended({ token: 'test-token', intents: 1, restUrl: rest.restUrl });
      expect(rest.headers[0]?.['user-agent']).toBe(DEFAULT_USER_AGENT);
    } finally {
      rest.close();
    }
  });
});

describe('a gateway that closes every IDENTIFY before READY', () => {
  const badToken = (g: FakeGateway, overrides: Parameters<typeof open>[1] = {}) => open(g, { token: 'wrong', ...overrides });

  it('(Spacebar: a bad token is 4000) backs off more each time, reports each close, and ends with the last code', async () => {
    const g = await start({ token: 'right', invalidTokenCloseCode: 4000 });
    const { shard, reader } = badToken(g, { maxIdentifyFailures: 3, backoff: { initial: 100, max: 1_000, jitter: false } });
    await reader.done;
    expect(reader.error).toMatchObject({ kind: 'FatallyClosed', code: 'IDENTIFY_FAILURES_EXHAUSTED', closeCode: 4000 });
    const message = (reader.error as Error).message;
    expect(message).toContain('3 IDENTIFY attempts in a row ended before READY, the last with close 4000');
    expect(message).toContain('check the token');
    expect(message).not.toContain('wrong');
    expect(shard.state).toEqual({ kind: 'FatallyClosed', code: 4000 });
    expect(errorsOf(reader, 'IDENTIFY_FAILED')).toEqual([
      expect.stringContaining('close 4000 ("Authentication failed: invalid token") (1 of 3 in a row)'),
      expect.stringContaining('(2 of 3 in a row)'),
    ]);
    expect(reader.events.filter((event) => event.op === 'close').map((event) => event.d.code)).toEqual([4000, 4000, 4000]);
    const closes = g.log.ofType('close').map((entry) => entry.time);
    const connects = g.log.ofType('connect').map((entry) => entry.time);
    expect(connects).toHaveLength(3);
    expect(connects[1]! - closes[0]!).toBeGreaterThanOrEqual(100 - 5);
    expect(connects[2]! - closes[1]!).toBeGreaterThanOrEqual(200 - 5);
  });

  it('by default gives up after 10 in a row', async () => {
    const g = await start({ token: 'right', invalidTokenCloseCode: 4000 });
    const { reader } = badToken(g, { backoff: { initial: 1, max: 20, jitter: false } });
    await reader.done;
    expect((reader.error as Error).message).toContain('10 IDENTIFY attempts in a row');
    expect(g.log.ofType('connect')).toHaveLength(10);
  });

  it('counts IDENTIFYs that get no READY in time, and a READY starts the count again', async () => {
    const g = await start({ guilds: 1 });
    for (let i = 0; i < 2; i++) g.inject({ type: 'withhold-ready' }, { shard: 0 });
    const { shard, reader } = open(g, { maxIdentifyFailures: 3, timeouts: { ready: 200 }, backoff: { initial: 10, max: 50 } });
    await reader.until(() => shard.state.kind === 'Active');
    for (let i = 0; i < 2; i++) g.inject({ type: 'withhold-ready' }, { shard: 0 });
    g.inject({ type: 'invalid-session', resumable: false });
    await reader.until(() => shard.state.kind === 'Active' && g.log.ofType('identify').length === 6, 10_000);
    expect(errorsOf(reader, 'IdentifyFailed')).toHaveLength(4);
    expect(errorsOf(reader, 'IdentifyFailed').every((message) => message.includes('no READY within 200 ms'))).toBe(true);
    expect(reader.error).toBeNull();
  });
});

describe('a minimal READY', () => {
  it('without resume_gateway_url, shard or application: the session resumes on the gateway URL', async () => {
    const g = await start({ minimalReady: true, guilds: 2, rate: 100 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 10);
    const ready = reader.events.find((event) => event.t === GatewayDispatchEvents.Ready);
    expect(Object.keys(ready?.d ?? {}).sort()).toEqual(['guilds', 'session_id', 'user', 'v']);
    expect(shard.session?.resumeUrl).toBeNull();
    g.inject({ type: 'drop' });
    const resume = await g.log.waitFor((entry) => entry.type === 'resume');
    expect(g.log.ofType('connect').find((entry) => entry.connection === resume.connection)?.path).toBe('gateway');
    await reader.until(() => reader.sequences().length > 30);
    expectEverySequenceOnce(reader);
  });
});

describe('a gateway URL with a path and a query', () => {
  it('is kept as given, with v, encoding and compress added', async () => {
    const g = await start({ path: '/gateway' });
    const { shard, reader } = open(g, { gatewayUrl: `${g.url}?proxy=a` });
    await reader.until(() => shard.state.kind === 'Active');
    expect(g.log.ofType('connect')[0]?.target).toBe('/gateway?proxy=a&v=10&encoding=json&compress=zlib-stream');
  });
});

describe('the token in cleartext', () => {
  it('createRecommended refuses an http: restUrl to another host before any request', async () => {
    const error = await createRecommended({ token: 'test-token', intents: 1, restUrl: 'http://rest.example/api/v10' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ option: 'restUrl', message: expect.stringContaining('http: to rest.example would carry the token unencrypted') });
  });

  it('createRecommended refuses a ws: gateway on another host that /gateway/bot answers', async () => {
    const rest = await gatewayBotServer('ws://gateway.example');
    try {
      const error = await createRecommended({ token: 'test-token', intents: 1, restUrl: rest.restUrl }).catch((e: unknown) => e);
      expect(error).toMatchObject({ option: 'gatewayUrl', message: expect.stringContaining('ws: to gateway.example would carry the token unencrypted') });
    } finally {
      rest.close();
    }
  });
});
