// Fleets against FakeGateway: creating shards, identify waves, the daily budget, merged
// streams (exactly once, fair, dynamic) and restarts that resume.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, createBucket, createRange, createRecommended } from '../../src/fleet/create.js';
import { planBucket, planRange, planRecommended } from '../../src/fleet/plan.js';
import { resumeSessions, sessionsFromJSON, sessionsToJSON } from '../../src/fleet/sessions.js';
import { GatewayBotError } from '../../src/fleet/gateway-bot.js';
import { ShardEventStream, ShardMessageStream } from '../../src/fleet/merged-stream.js';
import type { EventSource, ShardEventItem } from '../../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { ShardMessage } from '../../src/shard/events.js';
import { Shard } from '../../src/shard/shard.js';
import { ShardId } from '../../src/shard/shard-id.js';
import { startGateway } from '../support/gateway.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway({ guilds: 8 });
const fleets: Shard[][] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((shards) => closeAll(shards)));
});
const track = (shards: Shard[]): Shard[] => {
  fleets.push(shards);
  return shards;
};

/** Reads a merged stream in the background, keeping every item. */
function drain(stream: ShardEventStream): { items: ShardEventItem[]; done: Promise<void> } {
  const items: ShardEventItem[] = [];
  const done = (async () => {
    for await (const item of stream) items.push(item);
  })();
  return { items, done };
}

/** Per shard and session, the sequences read: each must be 1..n. */
function expectEverySequenceOnce(items: ShardEventItem[]): void {
  const sessions = new Map<Shard, number[][]>();
  for (const { shard, event } of items) {
    if (event.op !== GatewayOpcodes.Dispatch) continue;
    const list = sessions.get(shard) ?? [];
    if (event.t === GatewayDispatchEvents.Ready) list.push([]);
    list[list.length - 1]?.push(event.s);
    sessions.set(shard, list);
  }
  for (const list of sessions.values()) {
    for (const sequences of list) expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  }
}

const fastQueue = (maxConcurrency: number, intervalMs: number): InMemoryQueue => new InMemoryQueue(maxConcurrency, 1000, 86_400_000, 1000, { intervalMs });

describe('creating shards', () => {
  it('createBucket takes every concurrency-th id; createRange a slice; both validate', async () => {
    const g = await start();
    expect(track(createBucket(1, 4, 14, configFor(g))).map((s) => s.id.number)).toEqual([1, 5, 9, 13]);
    expect(track(createRange({ start: 3, end: 6 }, 8, configFor(g))).map((s) => s.id.toJSON())).toEqual([
      [3, 8],
      [4, 8],
      [5, 8],
    ]);
    expect(() => createBucket(4, 4, 8, configFor(g))).toThrow(/bucketId 4 must be less than concurrency 4/);
    expect(() => createBucket(0, 0, 8, configFor(g))).toThrow(/concurrency/);
    expect(() => createRange({ start: 4, end: 4 }, 8, configFor(g))).toThrow(/start < end/);
    expect(() => createRange({ start: 0, end: 9 }, 8, configFor(g))).toThrow(/end <= total/);
  });

  it('plans stand for the same shards without building any: ids, one shared queue, perShard applied', async () => {
    const g = await start({ shards: 3, maxConcurrency: 3, identifyInterval: 0 });
    expect(planBucket(1, 4, 14, configFor(g)).map((plan) => plan.id.number)).toEqual([1, 5, 9, 13]);
    const range = planRange({ start: 0, end: 3 }, 3, configFor(g, { queue: undefined }), (id, config) => (id.number === 2 ? { ...config, largeThreshold: 250 } : config));
    expect(range.map((plan) => plan.id.toJSON())).toEqual([[0, 3], [1, 3], [2, 3]]);
    expect(new Set(range.map((plan) => plan.config.queue)).size).toBe(1);
    expect(range[0]!.config.queue).toBeInstanceOf(InMemoryQueue);
    expect(range.map((plan) => plan.config.largeThreshold)).toEqual([undefined, undefined, 250]);
    const recommended = await planRecommended({ ...configFor(g), queue: undefined, gatewayUrl: undefined, restUrl: g.restUrl });
    expect(recommended.map((plan) => [plan.id.toJSON(), plan.config.gatewayUrl])).toEqual([0, 1, 2].map((n) => [[n, 3], g.url]));
    expect(g.log.ofType('connect')).toHaveLength(0);
    const shards = track(recommended.map(({ id, config }) => new Shard(id, config)));
    const stream = new ShardEventStream(shards);
    const ready = new Set<number>();
    for await (const { shard, event } of stream) if (event.t === GatewayDispatchEvents.Ready && ready.add(shard.id.number).size === 3) break;
    expect(g.log.ofType('identify').map((entry) => entry.shard).sort()).toEqual([0, 1, 2]);
  });

  it('shards from one config share one queue; perShard customises one', async () => {
    const g = await start();
    const shards = track(createRange({ start: 0, end: 3 }, 3, configFor(g, { queue: undefined }), (id, config) => (id.number === 2 ? { ...config, largeThreshold: 250 } : config)));
    expect(new Set(shards.map((s) => s.config.queue)).size).toBe(1);
    expect(shards.map((s) => s.config.largeThreshold)).toEqual([50, 50, 250]);
  });

  it('createRecommended sizes the fleet and its queue from /gateway/bot and connects to its url', async () => {
    const g = await start({ shards: 3, maxConcurrency: 3, sessionStartLimit: 50, identifyInterval: 0 });
    const shards = track(await createRecommended({ ...configFor(g), queue: undefined, gatewayUrl: undefined, restUrl: g.restUrl }));
    expect(shards.map((s) => s.id.toJSON())).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(shards.every((s) => s.config.gatewayUrl === g.url)).toBe(true);
    const queue = shards[0]!.config.queue as InMemoryQueue;
    expect(queue.maxConcurrency).toBe(3);
    expect(queue.remaining).toBe(50);
    const { items } = drain(new ShardEventStream(shards));
    await until(() => items.filter((i) => i.event.t === GatewayDispatchEvents.Ready).length === 3);
  });

  it('createRecommended tells a bad token, a network failure and a malformed answer apart', async () => {
    const g = await start({ token: 'right' });
    await expect(createRecommended({ token: 'wrong', intents: 1, restUrl: g.restUrl })).rejects.toMatchObject({ kind: 'Unauthorized' });
    await expect(createRecommended({ token: 'right', intents: 1, restUrl: 'http://127.0.0.1:1/api/v10' })).rejects.toMatchObject({ kind: 'Network' });
    const odd = createServer((_request, response) => response.end('{"url":42}'));
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
    try {
      const error = await createRecommended({ token: 'right', intents: 1, restUrl: `http://127.0.0.1:${(odd.address() as AddressInfo).port}` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayBotError);
      expect(error).toMatchObject({ kind: 'Malformed' });
      expect(String((error as Error).message)).not.toContain('right');
    } finally {
      odd.close();
    }
  });
});

describe('identify admission', () => {
  it('32 shards at max_concurrency 4 identify in 8 waves, never refused for concurrency', async () => {
    const interval = 300;
    const g = await start({ shards: 32, maxConcurrency: 4, identifyInterval: interval, guilds: 0 });
    // The client spaces a bucket a little wider than the server's window, as a real bot must:
    // two identifies sent exactly one window apart can reach the server a hair closer.
    const shards = track(createRange({ start: 0, end: 32 }, 32, configFor(g, { queue: fastQueue(4, interval + 50) })));
    const { items } = drain(new ShardEventStream(shards));
    await until(() => items.filter((i) => i.event.t === GatewayDispatchEvents.Ready).length === 32, 30_000);
    const identifies = g.log.ofType('identify');
    expect(g.log.ofType('identify-rejected')).toHaveLength(0);
    const first = identifies[0]!.time;
    const waves = identifies.map((e) => ({ shard: e.shard, wave: Math.round((e.time - first) / (interval + 50)) }));
    for (const { shard, wave } of waves) expect(wave, `shard ${shard}`).toBe(Math.floor(shard / 4));
  });

  it('keeps the real 5 s between waves of a bucket', async () => {
    const g = await start({ shards: 8, maxConcurrency: 4, guilds: 0 });
    const shards = track(await createRecommended({ ...configFor(g), queue: undefined, restUrl: g.restUrl }));
    const { items } = drain(new ShardEventStream(shards));
    await until(() => items.filter((i) => i.event.t === GatewayDispatchEvents.Ready).length === 8, 15_000);
    const identifies = g.log.ofType('identify');
    const byShard = new Map(identifies.map((e) => [e.shard, e.time]));
    for (let shard = 4; shard < 8; shard++) expect(byShard.get(shard)! - byShard.get(shard - 4)!).toBeGreaterThanOrEqual(4_990);
    expect(g.log.ofType('identify-rejected')).toHaveLength(0);
  }, 20_000);

  it('stops identifying when the daily budget is spent', async () => {
    const g = await start({ shards: 5, maxConcurrency: 5, sessionStartLimit: 3, identifyInterval: 0, guilds: 0 });
    const shards = track(await createRecommended({ ...configFor(g), queue: undefined, restUrl: g.restUrl }));
    const { items } = drain(new ShardEventStream(shards));
    await until(() => items.filter((i) => i.event.t === GatewayDispatchEvents.Ready).length === 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(g.log.ofType('identify')).toHaveLength(3);
    expect(g.log.ofType('identify-rejected')).toHaveLength(0);
    expect(shards.filter((s) => s.state.kind === 'Identifying')).toHaveLength(2);
  });
});

describe('ShardEventStream', () => {
  it('delivers every sequence of every shard exactly once under injected faults', async () => {
    const g = await start({ shards: 4, rate: 100, identifyInterval: 0, heartbeatInterval: 400 });
    const shards = track(createRange({ start: 0, end: 4 }, 4, configFor(g, { queue: fastQueue(4, 0) })));
    const { items } = drain(new ShardEventStream(shards));
    await until(() => shards.every((s) => s.state.kind === 'Active') && items.length > 200);
    g.inject({ type: 'drop' }, { shard: 0 });
    g.inject({ type: 'reconnect' }, { shard: 1 });
    g.inject({ type: 'stop-acks' }, { shard: 2 });
    g.inject({ type: 'invalid-session', resumable: false }, { shard: 3 });
    await until(() => g.log.ofType('resume').length === 3 && g.log.ofType('identify').length === 5 && shards.every((s) => s.state.kind === 'Active'), 15_000);
    const settled = items.length;
    await until(() => items.length > settled + 200);
    expectEverySequenceOnce(items);
    expect(items.filter((i) => i.event.op === 'error').map((i) => (i.event.op === 'error' ? i.event.d.kind : ''))).toEqual(['Zombie']);
  });

  it('merges any EventSource, not only a Shard: items carry the handle, typed as it is', async () => {
    // The shape a handle to a shard on another thread has: id, peekEvent, nextEvent, and nothing of Shard.
    class Handle implements EventSource {
      constructor(readonly shard: Shard, readonly label: string) {}
      get id() {
        return this.shard.id;
      }
      peekEvent = () => this.shard.peekEvent();
      nextEvent = () => this.shard.nextEvent();
    }
    const g = await start({ shards: 2, identifyInterval: 0 });
    const shards = track(createRange({ start: 0, end: 2 }, 2, configFor(g, { queue: fastQueue(2, 0) })));
    const stream = new ShardEventStream(shards.map((shard) => new Handle(shard, `worker-${shard.id.number}`)));
    const ready: string[] = [];
    for await (const { shard, event } of stream) {
      if (event.t === GatewayDispatchEvents.Ready) ready.push(shard.label); // `shard` is a Handle: no cast
      if (ready.length === 2) break;
    }
    expect(ready.sort()).toEqual(['worker-0', 'worker-1']);
    await closeAll(shards);
    // What the shards buffered still arrives; then the closed shards leave quietly through their handles.
    for (let item = await stream.next(); item !== null; item = await stream.next()) expect(item.event.op).not.toBe('error');
    expect(stream.shards).toEqual([]);
  });

  it('a member whose stream ends with something other than a ShardError yields one UNEXPECTED error item and leaves', async () => {
    const broken: EventSource = { id: new ShardId(0, 1), peekEvent: () => Promise.reject(new Error('handle lost its thread')), nextEvent: () => Promise.reject(new Error('unused')) };
    const stream = new ShardEventStream([broken]);
    const item = await stream.next();
    expect(item?.shard).toBe(broken);
    expect(item?.event.op === 'error' && item.event.d).toMatchObject({ code: 'UNEXPECTED', kind: 'Unexpected', reconnecting: false, message: expect.stringContaining('handle lost its thread') });
    expect(await stream.next()).toBeNull();
  });

  it('is fair: a flooding shard does not hold back another shard or its heartbeats', async () => {
    // Heartbeats every second: shard 0's ACKs queue behind its own flood, so a shorter interval would (rightly) look like a zombie.
    const g = await start({ shards: 2, identifyInterval: 0, guilds: 0, heartbeatInterval: 1_000 });
    const shards = track(createRange({ start: 0, end: 2 }, 2, configFor(g, { queue: fastQueue(2, 0) })));
    const { items } = drain(new ShardEventStream(shards));
    await until(() => shards.every((s) => s.state.kind === 'Active'));
    const flood = 40_000;
    for (let i = 0; i < flood; i++) g.dispatch(0, 'INTERACTION_CREATE', { id: String(i) });
    g.dispatch(1, 'INTERACTION_CREATE', { id: 'quiet shard' });
    await until(() => items.some((i) => i.shard === shards[1] && i.event.t === GatewayDispatchEvents.InteractionCreate), 15_000);
    const floodBefore = items.filter((i) => i.shard === shards[0] && i.event.t === GatewayDispatchEvents.InteractionCreate).length;
    // An unfair stream would drain the whole flood first. Here shard 1's event comes once its
    // socket is read, after what the kernel had buffered for shard 0 (a few thousand), whatever the flood's size.
    expect(floodBefore).toBeLessThan(flood / 4);
    await until(() => items.filter((i) => i.shard === shards[0] && i.event.op === GatewayOpcodes.Dispatch).length >= flood, 30_000);
    // Shard 1's heartbeats went on and were acknowledged in time: no zombie, no reconnect.
    expect(g.log.ofType('heartbeat').filter((e) => e.shard === 1).every((e) => e.acked)).toBe(true);
    expect(g.log.ofType('close').filter((e) => e.shard === 1)).toHaveLength(0);
    expectEverySequenceOnce(items);
  });

  it('answers next() calls made before earlier ones answered, each with its own item, none left waiting', async () => {
    const g = await start({ shards: 2, identifyInterval: 0, guilds: 0 });
    const shards = track(createRange({ start: 0, end: 2 }, 2, configFor(g, { queue: fastQueue(2, 0) })));
    const stream = new ShardEventStream(shards);
    const iterator = stream[Symbol.asyncIterator]();
    for (let ready = 0; ready < 2; ) if ((await iterator.next()).value?.event.t === GatewayDispatchEvents.Ready) ready += 1;
    // Four reads wait at once; four events arrive one by one.
    const reads = Array.from({ length: 4 }, () => iterator.next());
    for (let n = 0; n < 4; n++) {
      g.dispatch(n % 2, 'INTERACTION_CREATE', { id: `e${n}` });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const answered = await Promise.race([Promise.all(reads), new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000))]);
    expect(answered?.map((result) => (result.value?.event.d as { id: string }).id).sort()).toEqual(['e0', 'e1', 'e2', 'e3']);
  });

  it('takes shards in and out while running, yields a fatal error as an item, and ends when none is left', async () => {
    const g = await start({ shards: 3, identifyInterval: 0, guilds: 0 });
    const [a, b, c] = createRange({ start: 0, end: 3 }, 3, configFor(g, { queue: fastQueue(3, 0) })) as [Shard, Shard, Shard];
    track([a, b, c]);
    const stream = new ShardEventStream([a]);
    const { items, done } = drain(stream);
    await until(() => items.some((i) => i.shard === a && i.event.t === GatewayDispatchEvents.Ready));
    stream.add(b);
    stream.add(c);
    await until(() => items.filter((i) => i.event.t === GatewayDispatchEvents.Ready).length === 3);
    expect(stream.remove(c)).toBe(true);
    g.dispatch(2, 'INTERACTION_CREATE', { id: 'kept for c' });
    // c left the stream, so its event waits in c for whoever reads it next
    expect((await c.nextEvent()).t).toBe(GatewayDispatchEvents.InteractionCreate);
    g.inject({ type: 'close', code: 4004 }, { shard: 1 });
    await until(() => items.some((i) => i.shard === b && i.event.op === 'error'));
    expect(items.find((i) => i.shard === b && i.event.op === 'error')?.event.d).toMatchObject({ kind: 'FatallyClosed', closeCode: 4004 });
    expect(stream.shards).toEqual([a]);
    await a.close();
    await done;
    expect(stream.shards).toEqual([]);
  });
});

describe('ShardMessageStream', () => {
  it('yields every raw message with its shard, and the close when a shard is closed', async () => {
    const g = await start({ shards: 2, identifyInterval: 0, guilds: 2 });
    const shards = track(createRange({ start: 0, end: 2 }, 2, configFor(g, { queue: fastQueue(2, 0) })));
    const items: { shard: Shard; message: ShardMessage }[] = [];
    const done = (async () => {
      for await (const item of new ShardMessageStream(shards)) items.push(item);
    })();
    await until(() => shards.every((s) => s.state.kind === 'Active'));
    g.dispatch(1, 'INTERACTION_CREATE', { id: 'raw' });
    await until(() => items.some((i) => i.message.type === 'text' && i.message.text.includes('"raw"')));
    expect(items.find((i) => i.message.type === 'text' && i.message.text.includes('"raw"'))?.shard).toBe(shards[1]);
    await closeAll(shards);
    await done;
    expect(items.filter((i) => i.message.type === 'close').map((i) => i.shard.id.number).sort()).toEqual([0, 1]);
  });
});

describe('restarts', () => {
  it('fleet sessions JSON refuses what is not sessions keyed by shard number, naming the place', () => {
    expect(() => sessionsFromJSON([])).toThrow('must be an object keyed by shard number');
    expect(() => sessionsFromJSON({ one: { id: 'a', sequence: 1, resumeUrl: null } })).toThrow('key "one" is not a shard number');
    expect(() => sessionsFromJSON({ '01': { id: 'a', sequence: 1, resumeUrl: null } })).toThrow('key "01" is not a shard number');
    expect(() => sessionsFromJSON({ 3: { id: 'a', sequence: -1, resumeUrl: null } })).toThrow(/shard 3: .*sequence/);
    expect(sessionsFromJSON({})).toEqual(new Map());
  });

  it('closing with RESUME and starting again with the sessions spends zero identifies and loses nothing', async () => {
    const g = await start({ shards: 4, rate: 50, identifyInterval: 0 });
    const config = configFor(g, { queue: fastQueue(4, 0) });
    const first = createRange({ start: 0, end: 4 }, 4, config);
    const one = drain(new ShardEventStream(first));
    await until(() => first.every((s) => s.state.kind === 'Active') && one.items.length > 100);
    const sessions = await closeAll(first, CloseFrame.RESUME);
    await one.done;
    expect([...sessions.keys()].sort()).toEqual([0, 1, 2, 3]);
    const identifies = g.log.ofType('identify').length;
    // Saved and read back as a bot keeps them across a restart.
    const stored = sessionsFromJSON(JSON.parse(JSON.stringify(sessionsToJSON(sessions))));
    expect(stored).toEqual(sessions);
    const second = track(createRange({ start: 0, end: 4 }, 4, config, resumeSessions(stored)));
    const two = drain(new ShardEventStream(second));
    await until(() => g.log.ofType('resume').length === 4 && two.items.length > 200);
    expect(g.log.ofType('identify')).toHaveLength(identifies);
    // first run and second run together: every sequence of each shard's session once
    for (let n = 0; n < 4; n++) {
      const sequences = [...one.items, ...two.items].filter((i) => i.shard.id.number === n && i.event.op === GatewayOpcodes.Dispatch).map((i) => i.event.s as number);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
    }
  });
});
