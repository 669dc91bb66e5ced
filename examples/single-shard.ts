// One shard against real Discord (DISCORD_TOKEN) or any gateway URL (GATEWAY_URL, e.g. a FakeGateway):
// prints messages, sets a presence once ready, and on Ctrl-C saves its session for a resume.
//   DISCORD_TOKEN=… npx tsx examples/single-shard.ts
import { writeFileSync } from 'node:fs';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { CloseFrame, Intents, Shard, ShardId, updatePresence } from '../src/index.js';

const shard = new Shard(ShardId.ONE, {
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  intents: Intents.Guilds | Intents.GuildMessages,
  ...(process.env.GATEWAY_URL ? { gatewayUrl: process.env.GATEWAY_URL } : {}),
});

process.once('SIGINT', () => {
  void shard.close(CloseFrame.RESUME).then((session) => writeFileSync('session.json', JSON.stringify(session)));
});

for await (const event of shard) {
  if (event.t === GatewayDispatchEvents.MessageCreate) console.log(`${event.d.author.username}: ${event.d.content}`);
  else if (event.t === GatewayDispatchEvents.Ready) await shard.command(updatePresence({ since: null, activities: [], status: 'idle', afk: false }));
  else if (event.op === 'error') console.warn(event.d.kind, event.d.message);
}
