// The short chaos soak: 16 shards, zlib-stream, seeded random faults of every kind.
import { expect, it } from 'vitest';
import { runChaos } from './chaos-harness.js';

it('survives 20 s of chaos: nothing lost or repeated, identifies only where unavoidable, no close for a client fault, heap flat, every shard back', async () => {
  const report = await runChaos({ shards: 16, durationMs: 20_000, seed: 7, meanIntervalMs: 150, rate: 20 });
  console.info(JSON.stringify(report, null, 1));
  expect(report.problems).toEqual([]);
  expect(Object.keys(report.faults).length).toBeGreaterThanOrEqual(10);
  expect(report.resumes).toBeGreaterThan(10);
  expect(report.commands.sent).toBeGreaterThan(500);
  expect(report.commands.oversizedRefused).toBeGreaterThan(0);
}, 120_000);
