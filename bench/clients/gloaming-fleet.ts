/**
 * Client `gloaming-fleet`: gloaming's ShardFleet (every shard through one merged loop, able
 * to reshard), zlib-stream, every event parsed: what a ShardFleet costs over shards read
 * one by one (`gloaming-full`).
 */
import { ALL_INTENTS, ShardFleet } from '../../src/index.js';
import { TOKEN } from '../receive-shared.js';
import { Meter, clientArgs } from './harness.js';
import { measureMerged } from './gloaming.js';

const args = clientArgs();
const fleet = await ShardFleet.start({
  config: { token: TOKEN, intents: ALL_INTENTS, gatewayUrl: args.gatewayUrl, allowInsecureUrls: true, compression: 'zlib-stream', queue: { enqueue: () => Promise.resolve() } },
  shards: args.shards,
});
await measureMerged(fleet, args.shards, new Meter());
