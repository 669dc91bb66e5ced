// A gateway service and a bot consuming its events through Redis, against FakeGateway:
//   redis-server --port 6379 &   # or REDIS_URL=redis://…
//   npx tsx examples/service-and-consumer.ts
// In production the service is its own process (`gloaming run --redis URL --workers 2`, the
// token in DISCORD_TOKEN) and bots run only the consumer part; deploying a bot then
// reconnects no shard.
import { GatewayDispatchEvents, Intents, updatePresence } from '../src/index.js';
import { GatewayConsumer, GatewayService } from '../src/redis/index.js';
import { FakeGateway } from '../src/testing/index.js';

const redis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const gateway = await FakeGateway.start({ shards: 2, guilds: 4, rate: 5 });

const service = await GatewayService.start({
  token: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.example.offline-token', // a real one comes from DISCORD_TOKEN
  intents: Intents.Guilds | Intents.GuildMessages,
  redis,
  total: 2,
  gatewayUrl: gateway.url,
  allowInsecureUrls: true, // ws:// on loopback
  events: [GatewayDispatchEvents.MessageCreate, GatewayDispatchEvents.GuildCreate],
});

// A queue new to Redis cannot know what identified in the last 5 s, so the first identifies wait one window.
while (!service.active) await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`shards ${service.shardIds.join(', ')} of ${service.total} active`);

const consumer = new GatewayConsumer({ redis, group: 'example-bot', consumer: `bot-${process.pid}`, events: [GatewayDispatchEvents.MessageCreate] });
setTimeout(() => void consumer.close(), 5_000);

let handled = 0;
for await (const { shardId, event, ack } of consumer) {
  if (event.t === GatewayDispatchEvents.MessageCreate) {
    console.log(`[shard ${shardId}] #${event.s} ${event.d.content}`);
    // Commands go back through Redis to the service that owns the guild's shard.
    if (++handled === 1 && event.d.guild_id !== undefined) await consumer.command(event.d.guild_id, updatePresence({ status: 'online', activities: [], afk: false, since: null }));
  }
  await ack();
}
console.log(`${handled} messages handled; ${service.published} events published`);
await service.stop();
await gateway.close();
