// gloaming/metrics against FakeGateway: /metrics scraped over HTTP during a chaos run agrees
// with the gateway's log (identifies, resumes, replays, dispatches per shard) and parses as
// Prometheus text; /healthz turns 503 while a shard is held down and 200 once it is back.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { collectMetrics, serveMetrics } from '../../src/metrics/index.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { Shard } from '../../src/shard/shard.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { byLabel, parseExposition, scrape } from '../support/prometheus.js';
import { configFor } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, heartbeatInterval: 300 });

function fleetOn(g: FakeGateway, shards: number): { shards: Shard[]; read: Promise<void> } {
  const queue = new InMemoryQueue(shards, 1000, 86_400_000, 1000, { intervalMs: 0 });
  const fleet = createRange({ start: 0, end: shards }, shards, configFor(g, { queue, backoff: { initial: 50, max: 200 }, timeouts: { hello: 1_000, ready: 2_000 } }));
  const read = (async () => {
    for await (const item of new ShardEventStream(fleet)) void item;
  })();
  return { shards: fleet, read };
}

/** Per shard, the dispatches the gateway delivered: every sequence of each session (replays once), up to where the shard ended it. */
function deliveredPerShard(g: FakeGateway, last: Map<string, number>): Map<string, number> {
  const delivered = new Map<string, number>();
  for (const { shard, session } of g.log.ofType('identify')) {
    const until = last.get(session) ?? Infinity;
    const sequences = new Set(g.log.sequencesSent(session).filter((s) => s <= until));
    delivered.set(String(shard), (delivered.get(String(shard)) ?? 0) + sequences.size);
  }
  return delivered;
}

/** How often each shard id occurs, for every one of `shards` shards (zeros included, as the metrics list every shard). */
const countBy = (values: readonly number[], shards = 4): Map<string, number> => {
  const counts = new Map(Array.from({ length: shards }, (_, shard) => [String(shard), 0]));
  for (const value of values) counts.set(String(value), (counts.get(String(value)) ?? 0) + 1);
  return counts;
};

describe('metrics', () => {
  it('/metrics during chaos agrees with the gateway log and parses as Prometheus text', async () => {
    const g = await start({ shards: 4, guilds: 8, rate: 100 });
    const { shards, read } = fleetOn(g, 4);
    const server = await serveMetrics(shards, { port: 0 });
    try {
      await until(() => shards.every((shard) => shard.state.kind === 'Active'));
      const chaos = g.chaos({
        seed: 16,
        meanIntervalMs: 150,
        // Faults after which the shard keeps every sequence it was sent or gets it replayed.
        weights: { drop: 10, close: 6, reconnect: 6, 'request-heartbeat': 3, 'stop-acks': 2, 'corrupt-frame': 3, 'split-message': 4, 'unknown-event': 3 },
      });
      await until(() => g.log.ofType('resume').length >= 12, 20_000);
      const during = await scrape(server.url); // mid-chaos: it answers and parses
      expect(during.get('gloaming_shard_state')?.type).toBe('GAUGE');
      chaos.stop();
      await until(() => shards.every((shard) => shard.state.kind === 'Active'));
      const sessions = await Promise.all(shards.map((shard) => shard.close(CloseFrame.RESUME)));
      await read;

      await Promise.all([scrape(server.url), scrape(server.url)]); // overlapping scrapes observe each wait and round trip once
      const families = await scrape(server.url);
      const last = new Map(sessions.flatMap((session) => (session === null ? [] : [[session.id, session.sequence] as const])));
      expect(byLabel(families.get('gloaming_identifies_total'), 'shard')).toEqual(countBy(g.log.ofType('identify').map((entry) => entry.shard)));
      expect(byLabel(families.get('gloaming_resumes_total'), 'shard')).toEqual(countBy(g.log.ofType('resume').map((entry) => entry.shard)));
      const replayed = countBy([]);
      for (const { shard, replayed: count } of g.log.ofType('resume')) replayed.set(String(shard), (replayed.get(String(shard)) ?? 0) + count);
      expect(byLabel(families.get('gloaming_replayed_dispatches_total'), 'shard')).toEqual(replayed);
      expect(byLabel(families.get('gloaming_dispatches_total'), 'shard')).toEqual(deliveredPerShard(g, last));
      const reconnects = [...byLabel(families.get('gloaming_reconnects_total'), 'cause').values()].reduce((sum, count) => sum + count, 0);
      expect(reconnects).toBe(g.log.ofType('identify').length + g.log.ofType('resume').length - 4);
      const byType = byLabel(families.get('gloaming_dispatches_by_type_total'), 'type');
      expect(byType.get('READY')).toBe(g.log.ofType('identify').length);
      expect(byType.get('GUILD_CREATE')).toBeGreaterThan(0);
      expect(families.get('gloaming_heartbeat_latency_seconds')?.type).toBe('HISTOGRAM');
      expect(Number(families.get('gloaming_heartbeat_latency_seconds')?.metrics[0]?.count)).toBeGreaterThan(0);
      expect(Number(families.get('gloaming_identify_wait_seconds')?.metrics[0]?.count)).toBe(g.log.ofType('identify').length);
      const bytes = byLabel(families.get('gloaming_received_bytes_total'), 'stage');
      expect(bytes.get('inflated')).toBeGreaterThan(bytes.get('compressed') ?? Infinity);
      expect(families.get('gloaming_shard_state')?.metrics.map((metric) => metric.labels)).toEqual(['0', '1', '2', '3'].map((shard) => ({ shard, state: 'Disconnected' })));
    } finally {
      await server.close();
    }
  }, 60_000);

  it('/healthz is 503 naming the shard while it is held disconnected, 200 once it is back', async () => {
    const g = await start({ shards: 2, guilds: 2, rate: 0 });
    const { shards, read } = fleetOn(g, 2);
    const server = await serveMetrics(shards, { port: 0, graceMs: 300 });
    try {
      const health = async (): Promise<{ status: number; body: { healthy: boolean; unhealthy: { shard: number; state: string; reason: string }[] } }> => {
        const response = await fetch(`${server.url}/healthz`);
        return { status: response.status, body: (await response.json()) as never };
      };
      await until(() => shards.every((shard) => shard.state.kind === 'Active'));
      expect((await health()).status).toBe(200);
      // Shard 1's next connections get no HELLO: it stays away past the grace period.
      for (let i = 0; i < 3; i++) g.inject({ type: 'withhold-hello' });
      g.inject({ type: 'drop' }, { shard: 1 });
      await until(() => shards[1]!.state.kind === 'Disconnected');
      await new Promise((resolve) => setTimeout(resolve, 800));
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body.healthy).toBe(false);
      expect(down.body.unhealthy).toEqual([{ shard: 1, state: 'Disconnected', reason: expect.stringContaining('reconnecting'), since: expect.any(Number) }]);
      await until(() => shards[1]!.state.kind === 'Active', 15_000);
      expect((await health()).status).toBe(200);
    } finally {
      await server.close();
      await Promise.all(shards.map((shard) => shard.close()));
      await read;
    }
  }, 30_000);

  it('collectMetrics registers in a registry of yours and stops cleanly; the exposition parses', async () => {
    const g = await start({ shards: 1, guilds: 2, rate: 0 });
    const { shards, read } = fleetOn(g, 1);
    const registry = new Registry();
    const collected = collectMetrics(shards[0]!, { registry, prefix: 'bot_' });
    await until(() => shards[0]!.state.kind === 'Active');
    const families = parseExposition(await registry.metrics());
    expect([...families.keys()].sort()).toEqual([...collected.names].sort());
    expect(byLabel(families.get('bot_shard_state'), 'state')).toEqual(new Map([['Active', 1]]));
    expect(() => collectMetrics(shards[0]!, { registry, prefix: 'bot_' })).toThrow(/already been registered/);
    collected.stop();
    expect(await registry.metrics()).toBe('\n');
    await shards[0]!.close();
    await read;
  });
});
