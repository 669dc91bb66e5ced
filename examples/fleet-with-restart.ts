// A whole bot's shards through one loop, restarted without spending identifies:
// sessions are saved on Ctrl-C and resumed on the next start.
//   DISCORD_TOKEN=… npx tsx examples/fleet-with-restart.ts
// Offline: run `npx gloaming fake-gateway --port 0 --shards 4` and pass its restUrl as REST_URL.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CloseFrame, GatewayDispatchEvents, Intents, ShardEventStream, closeAll, createRecommended, resumeSessions, sessionsFromJSON, sessionsToJSON } from '../src/index.js';

const FILE = 'gloaming-sessions.json'; // git ignores it
const saved = existsSync(FILE) ? sessionsFromJSON(JSON.parse(readFileSync(FILE, 'utf8'))) : new Map();

const shards = await createRecommended(
  {
    token: process.env.DISCORD_TOKEN ?? 'offline-token',
    // Message content is privileged: enable it for the bot in the Developer Portal, or messages arrive empty.
    intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent,
    ...(process.env.REST_URL ? { restUrl: process.env.REST_URL } : {}),
  },
  resumeSessions(saved),
);
console.log(`${shards.length} shards, ${saved.size} resuming`);

process.once('SIGINT', () => {
  void closeAll(shards, CloseFrame.RESUME).then((sessions) => writeFileSync(FILE, JSON.stringify(sessionsToJSON(sessions))));
});

for await (const { shard, event } of new ShardEventStream(shards)) {
  if (event.t === GatewayDispatchEvents.MessageCreate) console.log(`[shard ${shard.id.number}] ${event.d.author.username}: ${event.d.content}`);
  else if (event.op === 'error') console.warn(`[shard ${shard.id.number}] ${event.d.code}: ${event.d.message}`);
}
