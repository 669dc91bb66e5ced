// Resharding a ShardFleet against FakeGateway serving two shard totals at once: every world
// event exactly once across the switch (judged by the simulator's own numbering of events),
// the identifies it takes, the budget refusal and the automatic mode.
import { GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { ReshardError } from '../../src/fleet/resharding.js';
import type { ReshardReport } from '../../src/fleet/resharding.js';
import { ShardFleet } from '../../src/fleet/shard-fleet.js';
import type { ShardFleetOptions } from '../../src/fleet/shard-fleet.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, maxConcurrency: 4, guilds: 40 });
const fleets: ShardFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((fleet) => fleet.close()));
});

/** Faults a shard survives by resuming: the sessions stay, so each (shard, total) has one. */
const RESUMABLE_CHAOS = { drop: 10, reconnect: 8, 'request-heartbeat': 3, 'split-message': 6, 'corrupt-frame': 4, 'invalid-json': 4, 'unknown-opcode': 4, 'delay-hello': 3, 'delay-ready': 3 };

interface Delivered {
  readonly total: number;
  readonly shard: number;
  readonly s: number;
  readonly t: string;
  readonly at: number;
}

/** A fleet on `g`, read in the background; every dispatch it hands out is kept. */
async function readFleet(g: FakeGateway, options: Partial<ShardFleetOptions> = {}, identifyEvery = 0): Promise<{ fleet: ShardFleet; delivered: Delivered[]; done: Promise<void> }> {
  const fleet = await ShardFleet.start({
    config: { token: 'test-token', intents: 513, gatewayUrl: g.url, restUrl: g.restUrl, queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: identifyEvery }) },
    shards: g.options.shards,
    ...options,
  });
  fleets.push(fleet);
  const delivered: Delivered[] = [];
  const done = (async () => {
    for await (const { shard, event } of fleet) {
      if (event.op === GatewayOpcodes.Dispatch) delivered.push({ total: shard.id.total, shard: shard.id.number, s: event.s, t: event.t, at: performance.now() });
    }
  })();
  return { fleet, delivered, done };
}

/** The world event (FakeGateway's number) each delivered dispatch carried, or null for a session's own. */
function worldIds(g: FakeGateway, delivered: Delivered[]): (number | null)[] {
  const sessionOf = new Map<string, string>();
  for (const identify of g.log.ofType('identify')) {
    const key = `${identify.numShards}/${identify.shard}`;
    expect(sessionOf.has(key), `shard ${key} identified twice`).toBe(false);
    sessionOf.set(key, identify.session);
  }
  const world = new Map<string, number | null>();
  for (const sent of g.log.ofType('dispatch')) world.set(`${sent.session}/${sent.sequence}`, sent.world);
  return delivered.map(({ total, shard, s }) => world.get(`${sessionOf.get(`${total}/${shard}`)}/${s}`) ?? null);
}

describe('ShardFleet.reshard', () => {
  it('4 → 8 shards under traffic and chaos: every world event once, 8 identifies, the gap in delivery bounded', async () => {
    const g = await start({ shards: 4, rate: 25 });
    const reports: ReshardReport[] = [];
    // Identifies 400 ms apart: the sets overlap for seconds, with chaos hitting both.
    const { fleet, delivered, done } = await readFleet(g, { onReshard: (report) => reports.push(report) }, 400);
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active') && delivered.length > 200, 15_000);
    const chaos = g.chaos({ seed: 19, meanIntervalMs: 300, weights: RESUMABLE_CHAOS });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const startedAt = performance.now();
    const startedWall = Date.now();
    const report = await fleet.reshard(8);
    const doneAt = performance.now();
    const faults = g.log.ofType('fault').filter((entry) => entry.time >= startedWall).length;
    clearInterval(sampler);
    chaos.stop();
    expect(fleet.total).toBe(8);
    expect(report).toMatchObject({ from: 4, to: 8 });
    expect(reports).toEqual([report]);
    expect(report.paired).toBeGreaterThan(0);
    expect(faults, 'faults while resharding').toBeGreaterThanOrEqual(3);

    // Let traffic run on the new set, then judge every world event up to a cutoff.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cutoff = g.log.ofType('world').at(-1)?.id ?? 0;
    const expected = g.log.ofType('world').filter((event) => event.id <= cutoff && event.sessions.length > 0).map((event) => event.id);
    const arrived = (): boolean => {
      const got = new Set(worldIds(g, delivered));
      return expected.every((id) => got.has(id));
    };
    await until(arrived, 15_000).catch(() => undefined); // the assertions below name what is missing
    const ids = worldIds(g, delivered);
    const counts = new Map<number, number>();
    for (const id of ids) if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts].filter(([, count]) => count > 1), 'world events handed out twice').toEqual([]);
    expect(expected.filter((id) => !counts.has(id)), 'world events never handed out').toEqual([]);
    expect(expected.length).toBeGreaterThan(300);

    // The new set's READYs and startup GUILD_CREATEs are its session's start, not events.
    const fromNewSet = delivered.map((item, index) => ({ ...item, world: ids[index] })).filter((item) => item.total === 8);
    expect(fromNewSet.filter((item) => item.world === null && (item.t === 'READY' || item.t === 'GUILD_CREATE'))).toEqual([]);
    const identifies = g.log.ofType('identify');
    expect(identifies.filter((entry) => entry.numShards === 8)).toHaveLength(8);
    expect(identifies.filter((entry) => entry.numShards === 4)).toHaveLength(4);

    // The longest wait between two dispatches handed out while resharding.
    const during = delivered.filter((item) => item.at >= startedAt && item.at <= doneAt).map((item) => item.at);
    let longestGap = 0;
    for (let i = 1; i < during.length; i++) longestGap = Math.max(longestGap, (during[i] as number) - (during[i - 1] as number));
    console.log(
      `reshard 4 → 8 under chaos (${faults} faults): switched after ${report.switchAfter} ms, done after ${report.doneAfter} ms; ${expected.length} world events judged, ` +
        `${report.paired} paired, ${report.released} released at the switch, ${report.peakHeld} held at most; longest gap ${Math.round(longestGap)} ms; peak RSS ${Math.round(peakRss / 2 ** 20)} MB`,
    );
    expect(longestGap).toBeLessThan(5_000);
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
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(g.log.ofType('identify')).toHaveLength(4);
  }, 30_000);

  it('automatic mode: reshards once /gateway/bot recommends more shards', async () => {
    const g = await start({ shards: 2, rate: 10 });
    const reports: ReshardReport[] = [];
    const { fleet } = await readFleet(g, { reshard: { checkInterval: 1_000, threshold: 0.5 }, onReshard: (report) => reports.push(report) });
    await until(() => fleet.shards.every((shard) => shard.state.kind === 'Active'), 15_000);
    g.setRecommendedShards(3); // not more than 2 × 1.5
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(fleet.resharding).toBeNull();
    g.setRecommendedShards(4);
    await until(() => reports.length === 1, 20_000);
    expect(reports[0]).toMatchObject({ from: 2, to: 4 });
    expect(fleet.total).toBe(4);
    expect(g.log.ofType('identify').filter((entry) => entry.numShards === 4)).toHaveLength(4);
  }, 40_000);
});
