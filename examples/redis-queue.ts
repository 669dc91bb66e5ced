// One bot over several processes (or machines): each runs a range of the shards, and all
// identify through one queue in Redis, so Discord's max_concurrency buckets and the daily
// session budget hold across them. Start one per range:
//   REDIS_URL=redis://10.0.0.5:6379 TOTAL=8 SHARDS=0-3 DISCORD_TOKEN=… npx tsx examples/redis-queue.ts
//   REDIS_URL=redis://10.0.0.5:6379 TOTAL=8 SHARDS=4-7 DISCORD_TOKEN=… npx tsx examples/redis-queue.ts
// Offline: GATEWAY_URL=ws://… from `npx gloaming fake-gateway --port 0 --shards 8`, and
// IDENTIFY_INTERVAL_MS=… when the simulator allows identifies closer than Discord's 5 s.
import { CloseFrame, GatewayDispatchEvents, Intents, ShardEventStream, closeAll, createRange } from '../src/index.js';
import { RedisQueue } from '../src/redis/index.js';

const [start, end] = (process.env.SHARDS ?? '0-0').split('-').map(Number) as [number, number];
const queue = new RedisQueue({
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  maxConcurrency: Number(process.env.MAX_CONCURRENCY ?? 1), // /gateway/bot's session_start_limit.max_concurrency
  ...(process.env.IDENTIFY_INTERVAL_MS ? { intervalMs: Number(process.env.IDENTIFY_INTERVAL_MS) } : {}),
});
const shards = createRange({ start, end: end + 1 }, Number(process.env.TOTAL ?? 1), {
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  intents: Intents.Guilds | Intents.GuildMessages,
  queue,
  ...(process.env.GATEWAY_URL ? { gatewayUrl: process.env.GATEWAY_URL } : {}),
});
process.once('SIGINT', () => void closeAll(shards, CloseFrame.NORMAL).then(() => queue.close()));

for await (const { shard, event } of new ShardEventStream(shards)) {
  if (event.t === GatewayDispatchEvents.Ready) console.log(`shard ${shard.id.toString()} ready`);
  else if (event.op === 'error') console.warn(`shard ${shard.id.toString()}: ${event.d.code} ${event.d.message}`);
}
