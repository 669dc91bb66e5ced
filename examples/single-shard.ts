// One shard against real Discord (DISCORD_TOKEN) or any gateway URL (GATEWAY_URL, e.g. a FakeGateway):
// prints messages, sets a presence once ready, saves its session on Ctrl-C and resumes it on the next start.
//   DISCORD_TOKEN=… npx tsx examples/single-shard.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CloseFrame, GatewayDispatchEvents, Intents, Session, Shard, ShardId, updatePresence } from '../src/index.js';

const FILE = 'gloaming-session.json'; // git ignores it
const shard = new Shard(ShardId.ONE, {
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  // Message content is privileged: enable it for the bot in the Developer Portal, or messages arrive empty.
  intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent,
  session: existsSync(FILE) ? Session.fromJSON(JSON.parse(readFileSync(FILE, 'utf8'))) : null,
  ...(process.env.GATEWAY_URL ? { gatewayUrl: process.env.GATEWAY_URL } : {}),
});

process.once('SIGINT', () => {
  void shard.close(CloseFrame.RESUME).then((session) => session && writeFileSync(FILE, JSON.stringify(session)));
});

for await (const event of shard) {
  if (event.t === GatewayDispatchEvents.MessageCreate) console.log(`${event.d.author.username}: ${event.d.content}`);
  else if (event.t === GatewayDispatchEvents.Ready || event.t === GatewayDispatchEvents.Resumed) {
    console.log(event.t === GatewayDispatchEvents.Ready ? 'identified' : 'resumed');
    if (event.t === GatewayDispatchEvents.Ready) await shard.command(updatePresence({ since: null, activities: [], status: 'idle', afk: false }));
  } else if (event.op === 'error') console.warn(event.d.code, event.d.message);
}
