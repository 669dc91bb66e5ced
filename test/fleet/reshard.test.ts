// Resharding a ShardFleet against FakeGateway serving two shard totals at once: every world
// event exactly once across the switch (judged by the simulator's own numbering of events),
// the identifies it takes, the budget refusal and the automatic mode.
import { GatewayOpcodes } from 'discord-api-types/v10';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ReshardError } from '../../src/fleet/resharding.js';
import type { ReshardReport } from '../../src/fleet/resharding.js';
import { ShardFleet } from '../../src/fleet/shard-fleet.js';
import type { ShardFleetOptions } from '../../src/fleet/shard-fleet.js';
import { Registry } from 'prom-client';
import { collectMetrics } from '../../src/metrics/index.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { InMemorySessionStore } from '../../src/sessions/store.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { proveReshard, record, twoReadsAtATime } from '../support/reshard.js';
import type { Delivered } from '../support/reshard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, maxConcurrency: 4, guilds: 40 });
const fleets: ShardFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((fleet) => fleet.close()));
});

/** A fleet on `g`, read in the background; every dispatch it hands out is kept. */
async function readFleet(g: FakeGateway, options: Partial<ShardFleetOptions> = {}, identifyEvery = 0, as: 'events' | 'messages' | 'none' = 'events'): Promise<{ fleet: ShardFleet; delivered: Delivered[]; done: Promise<void> }> {
  const fleet = await ShardFleet.start({
    config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl, queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: identifyEvery }) },
    shards: g.options.shards,
    ...options,
  });
  fleets.push(fleet);
  const delivered: Delivered[] = [];
  const done = as === 'none' ? Promise.resolve() : record(as === 'messages' ? fleet.messages() : fleet, delivered);
  return { fleet, delivered, done };
}

describe('ShardFleet.reshard', () => {
  it('4 → 8 shards under traffic and chaos: every world event once, 8 identifies, the gap in delivery bounded', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const reports: ReshardReport[] = [];
    // Identifies 400 ms apart: the sets overlap for seconds, with chaos hitting both.
    const { fleet, delivered, done } = await readFleet(g, { onReshard: (report) => reports.push(report) }, 400);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active') && delivered.length > 200, 15_000);
    console.log(`ShardFleet reshard ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    expect(fleet.total).toBe(8);
    expect(reports).toHaveLength(1);
    await fleet.close();
    await done;
  }, 90_000);

  it('read as messages (as gloaming run reads it): the same proof', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const { fleet, delivered, done } = await readFleet(g, {}, 400, 'messages');
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active') && delivered.length > 200, 15_000);
    console.log(`ShardFleet.messages reshard ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    expect(() => fleet.next()).toThrow(/read as messages: read a fleet one way/);
    await fleet.close();
    await done;
  }, 90_000);

  it('read by two next() calls at a time while resharding: still every world event once', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const { fleet } = await readFleet(g, {}, 400, 'none');
    const delivered: Delivered[] = [];
    const done = record(twoReadsAtATime(() => fleet.next()), delivered);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active') && delivered.length > 200, 15_000);
    console.log(`ShardFleet reshard, two reads at a time: ${await proveReshard(g, delivered, () => fleet.reshard(8))}`);
    await fleet.close();
    await done;
  }, 90_000);

  it('refuses up front, changing nothing, when the daily budget cannot cover the new set; and names the other refusals', async () => {
    const g = await start({ shards: 4, sessionStartLimit: 6, rate: 0 });
    const { fleet } = await readFleet(g);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active'), 15_000);
    const refusal = await fleet.reshard(8).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ReshardError);
    expect(refusal).toMatchObject({ kind: 'Budget', message: expect.stringMatching(/needs 8 identifies, and 2 of today's session_start_limit remain/) as unknown });
    expect(fleet.total).toBe(4);
    expect(fleet.resharding).toBeNull();
    await expect(fleet.reshard(4)).rejects.toMatchObject({ kind: 'Unchanged' });
    await expect(fleet.reshard(0)).rejects.toThrow(/at least 1, got 0/);
    const part = await ShardFleet.start({ config: { token: 't', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl, queue: new InMemoryQueue(4) }, shards: { total: 4, start: 0, end: 2 } });
    fleets.push(part);
    expect(part.shards.map((shard) => shard.id.toString())).toEqual(['[0, 4]', '[1, 4]']);
    await expect(part.reshard(8)).rejects.toMatchObject({ kind: 'Partial' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(g.log.ofType('identify')).toHaveLength(4);
  }, 30_000);

  it('a new shard that closes fatally before the switch: NewSetFailed, the old set keeps serving', async () => {
    const g = await start({ shards: 2, rate: 20 });
    const { fleet, delivered, done } = await readFleet(g, {}, 1_000);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active'), 15_000);
    const resharding = fleet.reshard(4).catch((error: unknown) => error);
    const newConnection = (): number | undefined => g.connections().find((c) => g.sessions().find((session) => session.id === c.session)?.numShards === 4)?.id;
    await until(() => newConnection() !== undefined, 15_000);
    g.inject({ type: 'close', code: 4014 }, { connection: newConnection() as number });
    expect(await resharding).toMatchObject({ kind: 'NewSetFailed', message: expect.stringMatching(/the 2 shards keep serving/) as unknown });
    expect(fleet.total).toBe(2);
    expect(fleet.resharding).toBeNull();
    const before = delivered.length;
    await until(() => delivered.length > before + 20, 10_000); // still serving
    expect(fleet.shards.every((shard) => shard.state.kind === 'Active')).toBe(true);
    await until(() => g.sessions().filter((session) => session.numShards === 4 && session.state !== 'ended').length === 0, 10_000);
    await fleet.close();
    await done;
  }, 30_000);

  it('closed mid-reshard: reshard() rejects with Closed, and nothing the new set holds reaches the loop', async () => {
    const g = await start({ shards: 2, rate: 10 });
    const fleet = await ShardFleet.start({ config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl, queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 1_000 }) }, shards: 2 });
    fleets.push(fleet);
    const totals: number[] = [];
    let reading = true;
    const loop = (async () => {
      for (;;) {
        while (!reading) await new Promise((resolve) => setTimeout(resolve, 10));
        const item = await fleet.next();
        if (item === null) return;
        if (item.event.op === GatewayOpcodes.Dispatch) totals.push(item.shard.id.total);
      }
    })();
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active'), 15_000);
    const resharding = fleet.reshard(4).catch((error: unknown) => error);
    reading = false; // the new set's READY, GUILD_CREATEs and traffic wait in its shards
    await until(() => g.log.ofType('dispatch').filter((entry) => entry.t === 'GUILD_CREATE' && g.sessions().find((session) => session.id === entry.session)?.numShards === 4).length > 0, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const closing = fleet.close();
    reading = true;
    await closing;
    await loop;
    expect(await resharding).toMatchObject({ kind: 'Closed' });
    expect(totals.filter((total) => total === 4)).toEqual([]);
    expect(totals.length).toBeGreaterThan(0);
  }, 30_000);

  it('automatic mode: reshards once /gateway/bot recommends more shards', async () => {
    const g = await start({ shards: 2, rate: 10 });
    const reports: ReshardReport[] = [];
    const { fleet } = await readFleet(g, { reshard: { checkInterval: 1_000, threshold: 0.5 }, onReshard: (report) => reports.push(report) }, 300);
    const registry = new Registry();
    collectMetrics(fleet, { registry });
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active'), 15_000);
    g.setRecommendedShards(3); // not more than 2 × 1.5
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(fleet.resharding).toBeNull();
    g.setRecommendedShards(4);
    await until(() => fleet.resharding !== null, 5_000);
    expect(await registry.metrics()).toMatch(/gloaming_reshard_in_progress\{from="2",to="4",phase="identifying"\} 1/);
    await until(() => reports.length === 1, 20_000);
    expect(reports[0]).toMatchObject({ from: 2, to: 4 });
    expect(fleet.total).toBe(4);
    const scraped = await registry.metrics();
    expect(scraped).toMatch(/gloaming_reshards_total 1/);
    expect(scraped).not.toMatch(/gloaming_reshard_in_progress\{/);
    expect(scraped).toMatch(/gloaming_shard_state\{shard="3",state="Active"\} 1/); // the new set's shards
    expect(g.log.ofType('identify').filter((entry) => entry.numShards === 4)).toHaveLength(4);
  }, 40_000);

  it('a sessionStore follows the reshard: it holds the new set\'s sessions after, and the next fleet resumes them all', async () => {
    const g = await start({ shards: 2, rate: 10 });
    const store = new InMemorySessionStore();
    const { fleet, delivered } = await readFleet(g, { sessionStore: store }, 100);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active') && delivered.length > 20, 15_000);
    await until(async () => (await store.load()).size === 2, 5_000);
    await fleet.reshard(4);
    const sessions = await fleet.close(CloseFrame.RESUME);
    const stored = await store.load();
    expect([...stored.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect([...stored].map(([id, session]) => [id, session.id])).toEqual([...sessions].map(([id, session]) => [id, session.id]).sort(([a], [b]) => (a as number) - (b as number)));
    expect(g.log.ofType('identify').filter((entry) => entry.numShards === 4)).toHaveLength(4);
    // The next fleet, given only the store, resumes every shard of the new count: no identify.
    const identifies = g.log.ofType('identify').length;
    const next = await readFleet(g, { sessionStore: store, shards: 4 });
    await until(() => g.log.ofType('resume').filter((entry) => stored.get(entry.shard)?.id === entry.session).length === 4, 10_000);
    expect(g.log.ofType('identify')).toHaveLength(identifies);
    await next.fleet.close();
  }, 40_000);
});
