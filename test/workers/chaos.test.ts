// 16 shards on worker threads through FakeGateway's seeded chaos (the soak harness with a
// WorkerFleet): every sequence of every session reaches the main thread's loop exactly once
// and in order, identifies only where unavoidable, commands through every worker.
import { expect, it } from 'vitest';
import { runChaos } from '../soak/chaos-harness.js';

it.each([2, 4])(
  'survives 10 s of chaos on %i workers: nothing lost or repeated, identifies only where unavoidable, every shard back',
  async (workers) => {
    const report = await runChaos({ shards: 16, durationMs: 10_000, seed: 11, meanIntervalMs: 150, rate: 20, workers });
    console.info(JSON.stringify({ ...report, heapMb: undefined }, null, 1));
    expect(report.problems).toEqual([]);
    expect(Object.keys(report.faults).length).toBeGreaterThanOrEqual(10);
    expect(report.resumes).toBeGreaterThan(10);
    expect(report.dispatchesRead).toBeGreaterThan(3_000);
    expect(report.commands.sent).toBeGreaterThan(300);
    expect(report.commands.oversizedRefused).toBeGreaterThan(0);
  },
  120_000,
);
