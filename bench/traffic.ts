/**
 * Realistic dispatches of one shard for the micro-benchmarks: FakeGateway's simulated world
 * (seed 1, 50 guilds, every intent, message content), as the JSON texts a client receives.
 */
import { receivesDispatch } from '../src/intents.js';
import { Random } from '../src/testing/random.js';
import { World } from '../src/testing/world.js';

/** `count` dispatch texts `{"t","s","op","d"}`, numbered from 1. */
export function dispatchTexts(count: number): string[] {
  const world = new World({ seed: 1, guilds: 50 });
  const rng = new Random(2);
  const all = (t: string, inGuild: boolean): boolean => receivesDispatch(0x3ffffff, t, inGuild);
  const out: string[] = [];
  for (let s = 1; out.length < count; s++) {
    const event = world.nextDispatch(0, 1, rng, all, true);
    if (event) out.push(JSON.stringify({ t: event.t, s, op: 0, d: event.d }));
  }
  return out;
}
