// WorkerFleet against FakeGateway with real worker threads.
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { InMemorySessionStore } from '../../src/sessions/store.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { ShardMessage } from '../../src/shard/events.js';
import { Session } from '../../src/shard/session.js';
import { WorkerFleet } from '../../src/workers/worker-fleet.js';
import type { WorkerFleetItem, WorkerFleetMessageItem } from '../../src/workers/worker-fleet.js';
import { startGateway } from '../support/gateway.js';
import { until } from '../support/until.js';
import { allActive, fleetFor } from './fleet.js';

const start = startGateway({ identifyInterval: 0, guilds: 8, rate: 50 });

describe('WorkerFleet', () => {
  it('runs 16 shards over 2 workers and delivers their events to one loop', async () => {
    const g = await start({ shards: 16, maxConcurrency: 16 });
    const fleet = fleetFor(g);
    const items: WorkerFleetItem[] = [];
    for await (const item of fleet) {
      items.push(item);
      if (items.filter((i) => i.event.op === GatewayOpcodes.Dispatch && i.event.t === GatewayDispatchEvents.Ready).length === 16 && items.length > 400) break;
    }
    const sessions = await fleet.close(CloseFrame.RESUME);
    expect(sessions.size).toBe(16);
    expect(fleet.workers.map((w) => w.shardIds.length)).toEqual([8, 8]);
    expect(g.log.ofType('identify')).toHaveLength(16);
  }, 30_000);
});

describe('WorkerFleet.messages', () => {
  it('yields each payload as the text the worker received, closes and errors as a local shard does', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2, rate: 0 });
    const fleet = fleetFor(g, { workers: 1 });
    const items: WorkerFleetMessageItem[] = [];
    const reading = (async () => {
      for await (const item of fleet.messages()) items.push(item);
    })();
    const texts = (shard: number): Record<string, unknown>[] =>
      items.flatMap(({ shard: handle, message }) => (handle.id.number === shard && message.type === 'text' ? [JSON.parse(message.text) as Record<string, unknown>] : []));
    await until(() => allActive(fleet) && [0, 1].every((shard) => texts(shard).some((payload) => payload.t === GatewayDispatchEvents.Ready)), 15_000);
    g.dispatch(1, 'INTERACTION_CREATE', { id: 'sent as text' });
    await until(() => texts(1).some((payload) => payload.t === GatewayDispatchEvents.InteractionCreate));
    expect(texts(1).find((payload) => payload.t === GatewayDispatchEvents.InteractionCreate)?.d).toEqual({ id: 'sent as text' });
    g.inject({ type: 'close', code: 4000 }, { shard: 0 });
    g.inject({ type: 'close', code: 4014 }, { shard: 1 });
    const message = (shard: number, type: string): ShardMessage | undefined => items.find((item) => item.shard.id.number === shard && item.message.type === type)?.message;
    await until(() => message(0, 'close') !== undefined && message(1, 'error') !== undefined, 15_000);
    expect(message(0, 'close')).toMatchObject({ type: 'close', code: 4000 });
    const error = message(1, 'error');
    expect(error?.type === 'error' && error.error.kind).toBe('FatallyClosed');
    await until(() => fleet.shards.get(0)?.state.kind === 'Active', 15_000);
    await fleet.close();
    await reading;
    expect(g.log.ofType('resume')).toHaveLength(1);
  }, 30_000);
});

describe('WorkerFleet planning and config', () => {
  it('{ recommended: true } runs the shard count /gateway/bot answers, through a queue sized from it', async () => {
    const g = await start({ shards: 6, maxConcurrency: 3, identifyInterval: 300 });
    const fleet = new WorkerFleet({ workers: 2, shards: { recommended: true }, config: { token: 'test-token', intents: 513, restUrl: g.restUrl } });
    expect(fleet.shards.size).toBe(0);
    await fleet.ready();
    expect([...fleet.shards.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fleet.shards.get(5)?.id.total).toBe(6);
    const reading = (async () => {
      for await (const item of fleet) void item;
    })();
    await until(() => allActive(fleet), 15_000);
    await fleet.close();
    await reading;
    expect(g.log.ofType('identify-rejected')).toEqual([]);
    // Three buckets: two waves of three identifies, the second at least the (default-margined) interval later.
    const times = g.log.ofType('identify').map((entry) => entry.time).sort((a, b) => a - b);
    expect(times).toHaveLength(6);
    expect((times[3] as number) - (times[2] as number)).toBeGreaterThan(200);
  }, 30_000);

  it('{ recommended: true } with its own queue gives that queue the limits /gateway/bot answers', async () => {
    const g = await start({ shards: 4, maxConcurrency: 2 });
    const queue = new InMemoryQueue(1, 3, 1000, 3);
    const fleet = new WorkerFleet({ workers: 1, shards: { recommended: true }, queue, config: { token: 'test-token', intents: 513, restUrl: g.restUrl } });
    await fleet.ready();
    expect(queue.maxConcurrency).toBe(2);
    await fleet.close();
    expect(queue.remaining).toBeGreaterThan(3); // the fake gateway's daily budget, not the 3 it was built with
  }, 30_000);

  it('a session store that fails to load fails ready(), and close() leaves what it holds', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2 });
    const store = new InMemorySessionStore();
    await store.save(new Map([[0, new Session('kept', 9, null)]]));
    const failing = { load: () => Promise.reject(new Error('store down')), save: (sessions: ReadonlyMap<number, Session | null>) => store.save(sessions) };
    const fleet = fleetFor(g, { sessionStore: failing });
    await expect(fleet.ready()).rejects.toThrow('store down');
    await fleet.close(CloseFrame.RESUME);
    expect(await store.load()).toEqual(new Map([[0, new Session('kept', 9, null)]]));
    expect(g.log.ofType('identify')).toEqual([]);
  }, 30_000);

  it("the module's configureShard sets each shard's config in its worker; the fleet's queue replaces the one it returns", async () => {
    const g = await start({ shards: 2, maxConcurrency: 2 });
    const fleet = fleetFor(g, { workers: 1, module: new URL('./fixtures/configure.ts', import.meta.url) });
    const reading = (async () => {
      for await (const item of fleet) void item;
    })();
    await until(() => allActive(fleet), 15_000);
    await fleet.close();
    await reading;
    expect(g.log.ofType('identify').map(({ shard, intents }) => [shard, intents]).sort()).toEqual([
      [0, 1],
      [1, 513],
    ]);
  }, 30_000);
});

describe('WorkerFleet options', () => {
  const config = { token: 'test-token', intents: 513 };
  it('names a bad option before any thread starts', () => {
    expect(() => new WorkerFleet({ workers: 0, shards: { total: 2 }, config })).toThrow(/workers.*at least 1, got 0/);
    expect(() => new WorkerFleet({ shards: { total: 4, start: 3, end: 2 }, config })).toThrow(/range must satisfy/);
    expect(() => new WorkerFleet({ shards: {} as { total: number }, config })).toThrow(/shards/);
    expect(() => new WorkerFleet({ shards: { total: 2 }, config: { ...config, intents: -1 } })).toThrow(/intents/);
    expect(() => new WorkerFleet({ shards: { total: 2 }, config, module: 'handler.js' })).toThrow(/module.*must be a URL/);
    expect(() => new WorkerFleet({ shards: { total: 2 }, config, restarts: { max: -1 } })).toThrow(/restarts.max/);
  });

  it('closes with await using', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2 });
    let fleet: WorkerFleet;
    {
      await using scoped = fleetFor(g, { workers: 1 });
      fleet = scoped;
      for await (const { event } of scoped) if (event.op === GatewayOpcodes.Dispatch && event.t === GatewayDispatchEvents.Ready) break;
    }
    expect(fleet.workers.map((worker) => worker.thread)).toEqual([null]);
    expect(g.log.ofType('close').filter((entry) => entry.by === 'client').map((entry) => entry.code)).toEqual([1000, 1000]);
  });
});
