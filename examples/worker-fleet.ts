// A bot's shards on worker threads, read through one loop on the main thread: replies to
// "!ping" in the workers (examples/worker-handler.ts), everything else reaches the loop.
// Sessions are saved on Ctrl-C and resumed on the next start.
//   DISCORD_TOKEN=… npx tsx examples/worker-fleet.ts
// Offline: run `npx gloaming fake-gateway --port 0 --shards 4` and pass its restUrl as REST_URL.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CloseFrame, GatewayDispatchEvents, Intents, WorkerFleet, sessionsFromJSON, sessionsToJSON } from '../src/index.js';

const FILE = 'gloaming-worker-sessions.json'; // git ignores it
const sessions = existsSync(FILE) ? sessionsFromJSON(JSON.parse(readFileSync(FILE, 'utf8'))) : new Map();

const fleet = new WorkerFleet({
  workers: 2,
  shards: { recommended: true }, // GET /gateway/bot
  config: {
    token: process.env.DISCORD_TOKEN ?? 'offline-token',
    // Message content is privileged: enable it for the bot in the Developer Portal, or messages arrive empty.
    intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent,
    ...(process.env.REST_URL ? { restUrl: process.env.REST_URL } : {}),
  },
  sessions,
  module: new URL('./worker-handler.ts', import.meta.url),
});
await fleet.ready();
console.log(`${fleet.shards.size} shards on ${fleet.workers.length} workers, ${sessions.size} resuming`);

process.once('SIGINT', () => {
  void fleet.close(CloseFrame.RESUME).then((saved) => writeFileSync(FILE, JSON.stringify(sessionsToJSON(saved))));
});

for await (const { shard, event } of fleet) {
  if (event.t === GatewayDispatchEvents.MessageCreate) console.log(`[shard ${shard.id.number}, worker ${shard.worker}] ${event.d.author.username}: ${event.d.content}`);
  else if (event.op === 'error') console.warn(`[shard ${shard.id.number}] ${event.d.code}: ${event.d.message}`);
}
