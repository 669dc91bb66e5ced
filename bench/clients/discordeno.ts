/**
 * Client `discordeno`: @discordeno/gateway's gateway manager with zlib-stream transport
 * compression (node:zlib), every shard in its own identify bucket with no spawn delay,
 * resharding off, and `preferSnakeCase` so payloads reach the handler as parsed rather
 * than re-keyed by `camelize` (its default, which costs more).
 */
import { TransportCompression, createGatewayManager } from '@discordeno/gateway';
import { ALL_INTENTS } from '../../src/intents.js';
import { MARKER_ID, TOKEN } from '../receive-shared.js';
import { Meter, ShardTally, clientArgs, measureIdle } from './harness.js';

const args = clientArgs();
const meter = new Meter();
const tallies = Array.from({ length: args.shards }, () => new ShardTally());
let done = 0;
let counting = false;

/** With preferSnakeCase the payload is Discord's, whatever the handler's type says. */
interface RawPayload {
  t: string | null;
  s: number | null;
  d: unknown;
}

const gateway = createGatewayManager({
  token: TOKEN,
  intents: ALL_INTENTS,
  url: args.gatewayUrl,
  transportCompression: TransportCompression.zlib,
  totalShards: args.shards,
  connection: {
    url: args.gatewayUrl,
    shards: args.shards,
    sessionStartLimit: { maxConcurrency: args.shards, remaining: 1000, total: 1000, resetAfter: 86_400_000 },
  },
  spawnShardDelay: 0,
  preferSnakeCase: true,
  resharding: { enabled: false, shardsFullPercentage: 80, checkInterval: -1 },
  events: {
    message: (shard, message) => {
      if (!counting) return;
      const payload = message as unknown as RawPayload;
      if (payload.t === null || payload.t === 'READY') return;
      const tally = tallies[shard.id] as ShardTally;
      tally.dispatch(payload.s);
      if (payload.t === 'INTERACTION_CREATE' && (payload.d as { id?: unknown }).id === MARKER_ID && ++done === args.shards) {
        meter.finish(
          tallies.reduce((sum, t) => sum + t.events, 0),
          tallies.reduce((sum, t) => sum + t.seqErrors, 0),
        );
      }
    },
  },
});

if (args.mode === 'idle') {
  await measureIdle(args.shards, () => gateway.spawnShards());
} else {
  counting = true;
  // spawnShards resolves once every shard is READY.
  await gateway.spawnShards();
  meter.start();
}
