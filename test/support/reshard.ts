/**
 * The proof of a 4 → 8 reshard under traffic and chaos, for any fleet: every world event
 * (FakeGateway's own numbering) handed to the loop exactly once, the new set's session
 * starts not handed out, 8 identifies of the new set, the longest gap in delivery bounded.
 */
import { GatewayOpcodes } from 'discord-api-types/v10';
import { expect } from 'vitest';
import { peekPayload } from '../../src/codec/peek.js';
import type { ReshardReport } from '../../src/fleet/resharding.js';
import type { ShardEvent, ShardMessage } from '../../src/shard/events.js';
import type { ShardId } from '../../src/shard/shard-id.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { until } from './until.js';

/** Faults a shard survives by resuming: the sessions stay, so each (shard, total) has one. */
export const RESUMABLE_CHAOS = { drop: 10, reconnect: 8, 'request-heartbeat': 3, 'split-message': 6, 'corrupt-frame': 4, 'invalid-json': 4, 'unknown-opcode': 4, 'delay-hello': 3, 'delay-ready': 3 };

/** A dispatch as the loop got it. */
export interface Delivered {
  readonly total: number;
  readonly shard: number;
  readonly s: number;
  readonly t: string;
  readonly at: number;
}

/** What a fleet's loop hands out, read as events or as messages. */
type FleetItems =
  | AsyncIterable<{ readonly shard: { readonly id: ShardId }; readonly event: ShardEvent }>
  | AsyncIterable<{ readonly shard: { readonly id: ShardId }; readonly message: ShardMessage }>;

/** Reads `items` in the background, keeping each dispatch in `delivered`; resolves when the loop ends. */
export async function record(items: FleetItems, delivered: Delivered[]): Promise<void> {
  for await (const item of items) {
    const head = 'event' in item ? item.event : item.message.type === 'text' ? peekPayload(item.message.text) : null;
    if (head?.op === GatewayOpcodes.Dispatch) delivered.push({ total: item.shard.id.total, shard: item.shard.id.number, s: head.s as number, t: head.t as string, at: performance.now() });
  }
}

/** A fleet's items read by two `next()` calls in flight at once, over and over, until one says the end (null). */
export async function* twoReadsAtATime<T>(next: () => Promise<T | null>): AsyncGenerator<T> {
  for (;;) {
    const got = await Promise.all([next(), next()]);
    for (const item of got) if (item !== null) yield item;
    if (got.includes(null)) return;
  }
}

/** The world event (FakeGateway's number) each delivered dispatch carried, or null for a session's own. */
function worldIds(g: FakeGateway, delivered: readonly Delivered[]): (number | null)[] {
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

/**
 * Reshards with chaos on the gateway, then judges: `reshard` runs the fleet's reshard, and
 * `delivered` fills as the loop reads. Returns a line of what was measured.
 */
export async function proveReshard(g: FakeGateway, delivered: readonly Delivered[], reshard: () => Promise<ReshardReport>): Promise<string> {
  const chaos = g.chaos({ seed: 19, meanIntervalMs: 300, weights: RESUMABLE_CHAOS });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const startedAt = performance.now();
  const startedWall = Date.now();
  const report = await reshard().finally(() => {
    clearInterval(sampler);
    chaos.stop();
  });
  const doneAt = performance.now();
  const faults = g.log.ofType('fault').filter((entry) => entry.time >= startedWall).length;
  expect(report).toMatchObject({ from: 4, to: 8 });
  expect(report.paired).toBeGreaterThan(0);
  expect(faults, 'faults while resharding').toBeGreaterThanOrEqual(3);

  // Traffic runs on the new set a while; then every world event up to a cutoff is judged.
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
  expect(longestGap).toBeLessThan(5_000);
  return (
    `4 → 8 under chaos (${faults} faults): switched after ${report.switchAfter} ms, done after ${report.doneAfter} ms; ${expected.length} world events judged, ` +
    `${report.paired} paired, ${report.released} released at the switch, ${report.peakHeld} held at most; longest gap ${Math.round(longestGap)} ms; peak RSS ${Math.round(peakRss / 2 ** 20)} MB`
  );
}
