// Resharding a WorkerFleet: the new set on workers of its own, read through the same loop,
// events and messages alike; the same proof as for ShardFleet.
import { afterEach, describe, expect, it } from 'vitest';
import type { ReshardReport } from '../../src/fleet/resharding.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { InMemorySessionStore } from '../../src/sessions/store.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { WorkerFleet } from '../../src/workers/worker-fleet.js';
import type { WorkerFleetItem } from '../../src/workers/worker-fleet.js';
import { startGateway } from '../support/gateway.js';
import { proveReshard, record, twoReadsAtATime } from '../support/reshard.js';
import type { Delivered } from '../support/reshard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, maxConcurrency: 4, guilds: 40 });
const fleets: WorkerFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((fleet) => fleet.close()));
});

function fleetOn(g: FakeGateway, reports: ReshardReport[]): WorkerFleet {
  const fleet = new WorkerFleet({
    workers: 2,
    shards: { total: g.options.shards },
    config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl },
    // Identifies 400 ms apart: the sets overlap for seconds, with chaos hitting both.
    queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 400 }),
    onReshard: (report) => reports.push(report),
  });
  fleets.push(fleet);
  return fleet;
}

const allActive = (fleet: WorkerFleet): boolean => [...fleet.shards.values()].every((shard) => shard.state.kind === 'Active');

describe('WorkerFleet.reshard', () => {
  it('4 → 8 shards under traffic and chaos, read as events: every world event once, 8 identifies, the gap bounded', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const reports: ReshardReport[] = [];
    const fleet = fleetOn(g, reports);
    const delivered: Delivered[] = [];
    const done = record(fleet, delivered);
    await until(() => allActive(fleet) && delivered.length > 200, 15_000);
    const workersBefore = fleet.workers.map((worker) => worker.threadId);
    console.log(`WorkerFleet reshard ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    expect(fleet.total).toBe(8);
    expect(fleet.shards.size).toBe(8);
    expect(reports).toHaveLength(1);
    expect(fleet.workers).toHaveLength(2);
    expect(fleet.workers.map((worker) => worker.threadId)).not.toEqual(workersBefore); // the old set's threads are gone
    const stats = await fleet.stats();
    expect(stats.shards.map((shard) => shard.shardId).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await fleet.close();
    await done;
  }, 90_000);

  it('read by two next() calls at a time while resharding: still every world event once', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const fleet = fleetOn(g, []);
    const delivered: Delivered[] = [];
    const done = record(twoReadsAtATime<WorkerFleetItem>(() => fleet.next().then((result) => (result.done === true ? null : result.value))), delivered);
    await until(() => allActive(fleet) && delivered.length > 200, 15_000);
    console.log(`WorkerFleet reshard, two reads at a time: ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    await fleet.close();
    await done;
  }, 90_000);

  it('read as messages (as gloaming run reads it): the same, each payload its text', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const reports: ReshardReport[] = [];
    const fleet = fleetOn(g, reports);
    const delivered: Delivered[] = [];
    const done = record(fleet.messages(), delivered);
    await until(() => allActive(fleet) && delivered.length > 200, 15_000);
    console.log(`WorkerFleet.messages reshard ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    expect(fleet.total).toBe(8);
    await fleet.close();
    await done;
  }, 90_000);

  it("a sessionStore keeps the old set's sessions until it closes, then the new set's: the next fleet resumes all of them", async () => {
    const g = await start({ shards: 2, rate: 5 });
    const store = new InMemorySessionStore();
    const options = { workers: 1, config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl }, queue: new InMemoryQueue(4, 1000, 86_400_000, 1000, { intervalMs: 0 }), sessionStore: store };
    const fleet = new WorkerFleet({ ...options, shards: { total: 2 } });
    fleets.push(fleet);
    const reading = (async () => {
      for await (const item of fleet) void item;
    })();
    await until(async () => (await store.load()).size === 2, 15_000);
    await fleet.reshard(4);
    const ofTotal = (total: number): Map<number, string> => new Map(g.sessions().filter((session) => session.numShards === total && session.state !== 'ended').map((session) => [session.shard, session.id]));
    await until(async () => {
      const stored = await store.load();
      return stored.size === 4 && [...stored].every(([shard, session]) => ofTotal(4).get(shard) === session.id);
    }, 15_000);
    await fleet.close(CloseFrame.RESUME);
    await reading;
    const next = new WorkerFleet({ ...options, shards: { total: 4 } });
    fleets.push(next);
    await until(() => allActive(next), 15_000);
    expect(g.log.ofType('identify')).toHaveLength(6); // 2, then 4 for the new set; the next fleet resumed them
    expect(g.log.ofType('resume').filter((entry) => ofTotal(4).get(entry.shard) === entry.session)).toHaveLength(4);
  }, 60_000);

  it('a fleet of a range of the shards refuses to reshard alone', async () => {
    const g = await start({ shards: 4, rate: 0 });
    const fleet = new WorkerFleet({ workers: 1, shards: { total: 4, start: 0, end: 2 }, config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl } });
    fleets.push(fleet);
    await expect(fleet.reshard(8)).rejects.toMatchObject({ kind: 'Partial' });
  });
});
