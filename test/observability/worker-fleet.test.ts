// A WorkerFleet observed from the main thread: its shards' lifecycle lines forwarded from the
// workers, its own worker crash and restart lines, and metrics summed over every worker,
// counting on across a restart.
import { describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/metrics/index.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { startGateway } from '../support/gateway.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { byLabel, scrape } from '../support/prometheus.js';
import { until } from '../support/until.js';
import { allActive, fleetFor } from '../workers/fleet.js';

const start = startGateway({ identifyInterval: 0, heartbeatInterval: 300 });

describe('an observed WorkerFleet', () => {
  it('logs through one logger, and its metrics add up over workers and across a restart', async () => {
    const g = await start({ shards: 4, guilds: 8, rate: 50 });
    const logger = new MemoryLogger([], {}, 'debug');
    const fleet = fleetFor(g, { logger });
    const reading = (async () => {
      for await (const item of fleet) void item;
    })();
    await fleet.ready();
    const server = await serveMetrics(fleet, { port: 0 });
    try {
      await until(() => allActive(fleet));
      await scrape(server.url); // as Prometheus would, now and then: what a worker counted up to here outlives it
      const restarted = fleet.workers[0]!.shardIds;
      await fleet.workers[0]!.thread!.terminate();
      await until(() => fleet.workers[0]!.restarts === 1 && g.log.ofType('resume').length === restarted.length && allActive(fleet), 15_000);
      await until(() => logger.find('resumed').length === restarted.length);

      // Each shard's lines come from its worker, with both ids bound; nothing below the logger's level crossed.
      for (const id of [0, 1, 2, 3]) expect(logger.find('identify sent', { shardId: id })).toHaveLength(1);
      expect(logger.find('identify sent', { shardId: 1 })[0]).toMatchObject({ worker: 1, waitMs: expect.any(Number) });
      // The two shards resume side by side: in either order.
      expect(logger.find('resumed').map((line) => [line.worker, line.shardId]).sort()).toEqual(restarted.map((id) => [0, id]).sort());
      expect(logger.lines.some((line) => line.level === 'trace')).toBe(false); // the logger says trace is off: the workers never sent it
      expect(logger.find('worker exited unasked')).toEqual([expect.objectContaining({ level: 'error', worker: 0, code: 1, exits: 1 })]);
      expect(logger.find('restarting worker')).toEqual([expect.objectContaining({ level: 'warn', worker: 0, attempt: 1, delayMs: 0 })]);
      expect(logger.find('worker started').map((line) => line.worker)).toEqual([0, 1, 0]);
      expect(JSON.stringify(logger.lines)).not.toContain('test-token');

      const families = await scrape(server.url);
      const perShard = (entries: readonly { shard: number }[]): Map<string, number> => new Map(['0', '1', '2', '3'].map((shard) => [shard, entries.filter((entry) => String(entry.shard) === shard).length]));
      // The restarted worker's shards counted their identify in their first life, read by the first scrape: still counted.
      expect(byLabel(families.get('gloaming_identifies_total'), 'shard')).toEqual(perShard(g.log.ofType('identify')));
      expect(byLabel(families.get('gloaming_resumes_total'), 'shard')).toEqual(perShard(g.log.ofType('resume')));
      expect(byLabel(families.get('gloaming_worker_restarts_total'), 'worker')).toEqual(new Map([['0', 1], ['1', 0]]));
      expect(Number(families.get('gloaming_identify_wait_seconds')?.metrics[0]?.count)).toBe(4);
      expect(byLabel(families.get('gloaming_shard_state'), 'shard')).toEqual(new Map(['0', '1', '2', '3'].map((shard) => [shard, 1])));
      expect(families.get('gloaming_shard_state')?.metrics.every((metric) => metric.labels?.state === 'Active')).toBe(true);
      const dispatches = byLabel(families.get('gloaming_dispatches_total'), 'shard');
      for (const shard of ['0', '1', '2', '3']) expect(dispatches.get(shard)).toBeGreaterThan(0);
      expect(families.has('gloaming_fleet_buffered_messages')).toBe(true);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
      await fleet.close(CloseFrame.NORMAL);
      await reading;
    }
  }, 40_000);
});
