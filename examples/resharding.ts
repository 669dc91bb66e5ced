// A bot that grows: the fleet asks /gateway/bot every so often and, when Discord recommends
// more shards, moves to them while it runs — no downtime, each event handled once.
//   DISCORD_TOKEN=… npx tsx examples/resharding.ts
// Without a token it runs against an in-process FakeGateway that starts recommending 4
// shards instead of 2 after three seconds, and exits once the fleet has moved.
import { GatewayDispatchEvents, Intents, ShardFleet } from '../src/index.js';
import { FakeGateway } from '../src/testing/index.js';

const token = process.env.DISCORD_TOKEN;
const gateway = token === undefined ? await FakeGateway.start({ shards: 2, guilds: 20, rate: 5, identifyInterval: 0, maxConcurrency: 4 }) : null;

const fleet = await ShardFleet.start({
  config: {
    token: token ?? 'offline-token',
    intents: Intents.Guilds | Intents.GuildMessages,
    ...(gateway === null ? {} : { restUrl: gateway.restUrl }),
  },
  // Discord's recommendation moves slowly: once an hour is plenty (a second here, offline).
  reshard: { checkInterval: gateway === null ? 3_600_000 : 1_000, threshold: 0.25 },
  onReshard: (report) => {
    console.log(`resharded ${report.from} → ${report.to}: switched after ${report.switchAfter} ms, ${report.paired} events both sets saw handed out once`);
    if (gateway !== null) void fleet.close().then(() => gateway.close());
  },
});
console.log(`running ${fleet.total} shards`);
if (gateway !== null) setTimeout(() => gateway.setRecommendedShards(4), 3_000);

let messages = 0;
for await (const { shard, event } of fleet) {
  if (event.t === GatewayDispatchEvents.MessageCreate) messages += 1;
  else if (event.op === 'error') console.warn(`[shard ${shard.id.toString()}] ${event.d.code}: ${event.d.message}`);
}
console.log(`${messages} messages read; the fleet ran ${fleet.total} shards at the end`);
