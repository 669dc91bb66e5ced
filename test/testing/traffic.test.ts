// Seeded simulated traffic: repeatability, rates, 'max' throughput with backpressure, payload sizes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';
import type { Payload } from '../support/raw-client.js';

/** Every intent Discord defines (privileged ones are enabled by default in the simulator). */
const ALL_INTENTS = 53608447;
const GUILDS = 1;
const GUILD_MESSAGES = 512;

const start = startGateway({ identifyInterval: 0 });

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** The generated sequence of the gateway's only session. */
function sequenceOf(g: FakeGateway): number {
  const [session] = g.sessions();
  if (session === undefined) throw new Error('no session');
  return session.sequence;
}

/**
 * Identifies on a `'max'` gateway, reads until at least `count` dispatches (READY included)
 * arrived, then closes the gateway: a `'max'` session must not be ended from the client
 * side in-process (see the last test of this file).
 */
async function firstDispatches(g: FakeGateway, count: number, intents = ALL_INTENTS): Promise<Payload[]> {
  const client = await RawClient.connect(g.url);
  await client.ready({ intents });
  await client.waitUntil(() => client.received.length > count, 10_000);
  await g.close();
  return client.dispatches().slice(0, count);
}

/** READY without the fields that differ between any two connections (session id, port). */
function comparable(payloads: Payload[]): unknown[] {
  return payloads.map((p) => {
    if (p.t !== 'READY') return p;
    const d = { ...(p.d as Record<string, unknown>) };
    delete d.session_id;
    delete d.resume_gateway_url;
    return { ...p, d };
  });
}

describe('seeded traffic', () => {
  it('two gateways with the same seed and options send the same dispatches to clients that identify alike', async () => {
    const options = { seed: 42, guilds: 20, rate: 'max' } as const;
    const a = await firstDispatches(await start(options), 3000);
    const b = await firstDispatches(await start(options), 3000);
    expect(a.map((p) => p.t)).toEqual(b.map((p) => p.t));
    const guildCreates = (payloads: Payload[]) => payloads.filter((p) => p.t === 'GUILD_CREATE').map((p) => p.d);
    expect(guildCreates(a).length).toBeGreaterThanOrEqual(20);
    expect(guildCreates(a)).toEqual(guildCreates(b));
    // Everything else matches too, sequence numbers included.
    expect(comparable(a)).toEqual(comparable(b));
    expect(new Set(a.map((p) => p.t)).size).toBeGreaterThan(8);
  });

  it('a rate-driven gateway repeats the same order of events for the same seed', async () => {
    const options = { seed: 9, guilds: 10, rate: 400 } as const;
    const run = async (): Promise<(string | null)[]> => {
      const g = await start(options);
      const client = await RawClient.connect(g.url);
      await client.ready({ intents: ALL_INTENTS });
      await client.waitUntil(() => client.received.length > 121, 5_000); // HELLO and 121 dispatches
      await g.close();
      return client.dispatches().map((p) => p.t);
    };
    const [a, b] = [await run(), await run()];
    const common = Math.min(a.length, b.length);
    expect(common).toBeGreaterThanOrEqual(121);
    expect(a.slice(0, common)).toEqual(b.slice(0, common));
  });

  it('a different seed gives different guilds and different traffic', async () => {
    const a = await firstDispatches(await start({ seed: 42, guilds: 20, rate: 'max' }), 1000);
    const b = await firstDispatches(await start({ seed: 43, guilds: 20, rate: 'max' }), 1000);
    const guildIds = (payloads: Payload[]) => (payloads[0]?.d as { guilds: { id: string }[] }).guilds.map((guild) => guild.id);
    expect(guildIds(a)).toHaveLength(20);
    expect(guildIds(a)).not.toEqual(guildIds(b));
    expect(a.slice(21).map((p) => p.t)).not.toEqual(b.slice(21).map((p) => p.t));
  });
});

describe('traffic rate', () => {
  it('rate 50 gives roughly 50 dispatches a second to each session, all delivered in order', async () => {
    const g = await start({ seed: 1, guilds: 10, shards: 2, rate: 50 });
    const clients: RawClient[] = [];
    let guilds = 0;
    for (const shard of [0, 1]) {
      const client = await RawClient.connect(g.url);
      guilds += (await client.ready({ intents: ALL_INTENTS, shard: [shard, 2] })).guilds.length;
      clients.push(client);
    }
    expect(guilds).toBe(10);
    const before = g.sessions().map((session) => session.sequence);
    await sleep(1000);
    const after = g.sessions().map((session) => session.sequence);
    expect(before).toHaveLength(2);
    for (const [k, first] of before.entries()) {
      const produced = (after[k] as number) - first;
      expect(produced).toBeGreaterThanOrEqual(20);
      expect(produced).toBeLessThanOrEqual(100);
    }
    // Every dispatch reaches its client once, numbered 1, 2, 3, ...
    for (const client of clients) {
      client.send({ op: 1, d: null });
      await client.nextOp(11);
      const sequences = client.dispatches().map((p) => p.s);
      expect(sequences.length).toBeGreaterThan(20);
      expect(sequences).toEqual(sequences.map((_, k) => k + 1));
    }
  });

  it("'max' delivers thousands of dispatches a second to a client that keeps reading", async () => {
    const g = await start({ seed: 3, guilds: 20, rate: 'max' });
    const client = await RawClient.connect(g.url);
    await client.ready({ intents: ALL_INTENTS });
    const started = Date.now();
    await client.waitUntil(() => client.received.length >= 8000, 10_000);
    const perSecond = (client.received.length * 1000) / Math.max(1, Date.now() - started);
    expect(perSecond).toBeGreaterThan(1000);
  });

  it("'max' stops generating for a client that stops reading and goes on once it reads again", async () => {
    const g = await start({ seed: 3, guilds: 20, rate: 'max', logDispatches: false });
    const client = await RawClient.connect(g.url);
    await client.ready({ intents: ALL_INTENTS });
    await client.waitUntil(() => client.received.length >= 2000, 10_000);

    expect(typeof client.socket.pause).toBe('function');
    client.socket.pause();
    const atPause = sequenceOf(g);
    // Wait for the sequence to settle: unchanged over three polls 100 ms apart.
    let stalled = atPause;
    let unchanged = 0;
    for (const deadline = Date.now() + 8_000; unchanged < 3; ) {
      if (Date.now() > deadline) throw new Error(`sequence still growing while paused: ${atPause} -> ${sequenceOf(g)}`);
      await sleep(100);
      const now = sequenceOf(g);
      unchanged = now === stalled ? unchanged + 1 : 0;
      stalled = now;
    }
    // Bounded by what the socket buffers hold (a few MB of ~1 KB dispatches), not growing without end.
    expect(stalled - atPause).toBeLessThan(50_000);
    const receivedWhilePaused = client.received.length;
    await sleep(500);
    expect(sequenceOf(g)).toBe(stalled);
    expect(client.received.length).toBe(receivedWhilePaused);

    client.socket.resume();
    await client.waitUntil(() => client.received.length > receivedWhilePaused + 1000, 10_000);
    const deadline = Date.now() + 5_000;
    while (sequenceOf(g) <= stalled + 1000 && Date.now() < deadline) await sleep(50);
    expect(sequenceOf(g)).toBeGreaterThan(stalled + 1000);
  });
});

describe('traffic payloads', () => {
  for (const [name, intents] of [['every intent', ALL_INTENTS], ['GUILDS | GUILD_MESSAGES', GUILDS | GUILD_MESSAGES]] as const) {
    it(`traffic dispatches average 0.8 to 2 KB of JSON (${name})`, async () => {
      const g = await start({ seed: 5, guilds: 20, rate: 'max' });
      const payloads = await firstDispatches(g, 5000, intents);
      const traffic = payloads.slice(21); // READY and the 20 GUILD_CREATEs of the identify
      expect(traffic.length).toBeGreaterThan(4000);
      const mean = traffic.reduce((sum, p) => sum + Buffer.byteLength(JSON.stringify(p)), 0) / traffic.length;
      expect(mean).toBeGreaterThanOrEqual(800);
      expect(mean).toBeLessThanOrEqual(2048);
    });
  }
});

/** Runs `script` (ESM) with node against the built package; kills it after `timeoutMs`. */
function runNode(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; timedOut: boolean; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script, '--', ...args], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, timedOut, stdout });
    });
  });
}

const LEAVING_CLIENT_SCENARIO = `
import WebSocket from 'ws';
import { FakeGateway } from 'gloaming/testing';
const how = process.argv[process.argv.length - 1];
const gateway = await FakeGateway.start({ seed: 11, guilds: 20, rate: 'max', identifyInterval: 0, logDispatches: false });
const ws = new WebSocket(gateway.url + '?v=10&encoding=json');
let received = 0;
ws.on('message', () => { received += 1; });
ws.on('error', () => {});
await new Promise((open) => ws.once('open', open));
ws.send(JSON.stringify({ op: 2, d: { token: 't', intents: ${ALL_INTENTS}, properties: { os: 'linux', browser: 'test', device: 'test' } } }));
while (received < 2000) await new Promise((later) => setTimeout(later, 10));
if (how === 'close') ws.close(1000); else ws.terminate();
const left = Date.now();
await new Promise((later) => setTimeout(later, 200));
const timerLate = Date.now() - left - 200;
const settled = gateway.sessions()[0]?.sequence ?? -1;
await new Promise((later) => setTimeout(later, 300));
const grew = (gateway.sessions()[0]?.sequence ?? -1) - settled;
console.log(JSON.stringify({ timerLate, grew, connections: gateway.connections().length }));
await gateway.close();
process.exit(0);
`;

describe("'max' traffic when the client leaves", () => {
  // Regression: sends to a socket the peer is closing fail at once, and 'max' traffic used
  // to refill on each failure, spinning on process.nextTick forever. A child process turns
  // such a hang into a failed test instead of a hung test run (npm test builds dist/ first).
  it('the simulator stays responsive and stops generating after the client closes with 1000 or drops the connection', async () => {
    const ways = ['close', 'terminate'] as const;
    const results = await Promise.all(ways.map((how) => runNode(LEAVING_CLIENT_SCENARIO, [how], 10_000)));
    for (const [k, result] of results.entries()) {
      const how = ways[k] as string;
      expect(result.timedOut, `after ws.${how}() the simulator process hung: its event loop starved`).toBe(false);
      expect(result.code, how).toBe(0);
      const outcome = JSON.parse(result.stdout.trim()) as { timerLate: number; grew: number; connections: number };
      expect(outcome.timerLate, how).toBeLessThan(1_000);
      expect(outcome.grew, how).toBe(0);
      expect(outcome.connections, how).toBe(0);
    }
  });
});

describe('two shard totals at once (resharding)', () => {
  it('each traffic event reaches the owning session of both totals with the same d; /gateway/bot answers setRecommendedShards', async () => {
    const g = await start({ shards: 2, guilds: 24, rate: 100 });
    const clients = await Promise.all(
      [[0, 2], [1, 2], [0, 4], [1, 4], [2, 4], [3, 4]].map(async (shard) => {
        const client = await RawClient.connect(g.url);
        const ready = await client.ready({ intents: GUILDS | GUILD_MESSAGES, shard });
        return { client, session: ready.session_id };
      }),
    );
    await sleep(1_000);
    const owner = (guild: string | null, total: number): number => (guild === null ? 0 : Number((BigInt(guild) >> 22n) % BigInt(total)));
    const sessionOf = new Map(g.log.ofType('identify').map((entry) => [entry.session, [entry.shard, entry.numShards]]));
    const entries = g.log.entries;
    const allIdentified = entries.findLastIndex((entry) => entry.type === 'identify');
    const world = entries.slice(allIdentified).filter((entry) => entry.type === 'world');
    expect(world.length).toBeGreaterThan(100);
    for (const event of world) {
      const shards = event.sessions.map((session) => sessionOf.get(session));
      expect(shards.sort()).toEqual([[owner(event.guild, 2), 2], [owner(event.guild, 4), 4]].sort());
    }
    // What the clients received: one world event, the same d in both sessions.
    const sent = g.log.ofType('dispatch').filter((entry) => entry.world !== null);
    const byClient = new Map(clients.map(({ client, session }) => [session, client]));
    const d = (session: string, sequence: number): unknown => byClient.get(session)?.dispatches().find((p) => p.s === sequence)?.d;
    const pairs = new Map<number, unknown[]>();
    for (const entry of sent) pairs.set(entry.world as number, [...(pairs.get(entry.world as number) ?? []), d(entry.session, entry.sequence)]);
    const received = [...pairs.values()].filter((both) => both.length === 2 && both.every((x) => x !== undefined));
    expect(received.length).toBeGreaterThan(50);
    for (const [a, b] of received) expect(a).toEqual(b);

    const bot = async (): Promise<number> => ((await (await fetch(`${g.restUrl}/gateway/bot`, { headers: { authorization: 'Bot x' } })).json()) as { shards: number }).shards;
    expect(await bot()).toBe(2);
    g.setRecommendedShards(4);
    expect(await bot()).toBe(4);
    expect(() => g.setRecommendedShards(0)).toThrow(/at least 1, got 0/);
    for (const { client } of clients) client.close();
  });
});
