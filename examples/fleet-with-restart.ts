// A whole bot's shards through one loop, restarted without spending identifies:
// sessions are saved on Ctrl-C and resumed on the next start.
//   DISCORD_TOKEN=… npx tsx examples/fleet-with-restart.ts
// Offline: run `npx gloaming fake-gateway --port 0 --shards 4` and pass its restUrl as REST_URL.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { CloseFrame, Intents, Session, ShardEventStream, closeAll, createRecommended, resumeSessions } from '../src/index.js';

const FILE = 'sessions.json';
const saved = new Map<number, Session>(
  existsSync(FILE) ? Object.entries(JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>).map(([id, json]) => [Number(id), Session.fromJSON(json)]) : [],
);

const shards = await createRecommended(
  {
    token: process.env.DISCORD_TOKEN ?? 'offline-token',
    intents: Intents.Guilds | Intents.GuildMessages,
    ...(process.env.REST_URL ? { restUrl: process.env.REST_URL } : {}),
  },
  resumeSessions(saved),
);

process.once('SIGINT', () => {
  void closeAll(shards, CloseFrame.RESUME).then((sessions) => {
    writeFileSync(FILE, JSON.stringify(Object.fromEntries(sessions)));
  });
});

for await (const { shard, event } of new ShardEventStream(shards)) {
  if (event.t === GatewayDispatchEvents.MessageCreate) console.log(`[shard ${shard.id.number}] ${event.d.content}`);
  else if (event.op === 'error') console.warn(`[shard ${shard.id.number}] ${event.d.kind}: ${event.d.message}`);
}
