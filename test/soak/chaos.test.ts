// The short chaos soak: 16 shards, zlib-stream, seeded random faults of every kind, against
// FakeGateway playing Discord and playing a gateway without RESUME that counts from 0.
import { expect, it } from 'vitest';
import { runChaos } from './chaos-harness.js';

it.each(['discord', 'spacebar'] as const)(
  'survives 20 s of chaos from the %s preset: nothing lost or repeated, identifies only where unavoidable, no close for a client fault, heap flat, every shard back, an observer that agrees with the gateway',
  async (preset) => {
    const report = await runChaos({ shards: 16, durationMs: 20_000, seed: 7, meanIntervalMs: 150, rate: 20, preset });
    console.info(JSON.stringify(report, null, 1));
    expect(report.problems).toEqual([]);
    expect(Object.keys(report.faults).length).toBeGreaterThanOrEqual(10);
    // Spacebar refuses every RESUME: the shards identify instead, and every refusal is counted.
    if (preset === 'discord') expect(report.resumes).toBeGreaterThan(10);
    else expect(report.identifyCauses['resume refused']).toBeGreaterThan(10);
    expect(report.commands.sent).toBeGreaterThan(500);
    expect(report.commands.oversizedRefused).toBeGreaterThan(0);
    expect(report.observed?.sessions).toBeGreaterThanOrEqual(16);
    expect(report.observed?.sequences).toBeGreaterThan(1_000);
  },
  120_000,
);
