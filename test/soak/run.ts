// The long chaos soak: `npm run soak -- --minutes N [--shards 16] [--seed 1] [--preset discord|spacebar]`; exits 1 on any problem.
import { parseArgs } from 'node:util';
import type { FakeGatewayPreset } from '../../src/testing/index.js';
import { runChaos } from './chaos-harness.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, shards: { type: 'string' }, seed: { type: 'string' }, preset: { type: 'string' } } });
const preset = (values.preset ?? 'discord') as FakeGatewayPreset;
if (preset !== 'discord' && preset !== 'spacebar') throw new Error(`--preset takes discord or spacebar, got ${String(values.preset)}`);
const minutes = Number(values.minutes ?? 30);
const report = await runChaos({
  shards: Number(values.shards ?? 16),
  durationMs: minutes * 60_000,
  seed: Number(values.seed ?? 1),
  meanIntervalMs: 250,
  rate: 20,
  preset,
  progress: (line) => console.log(line),
});
console.log(JSON.stringify(report, null, 2));
process.exitCode = report.problems.length === 0 ? 0 : 1;
