// A shard that parses only what the bot handles: `eventTypes` drops every other dispatch
// as it arrives, before it is parsed — for most bots, most of what a shard would spend.
// Ctrl-C prints what reached the loop.
//   DISCORD_TOKEN=… npx tsx examples/filtered-events.ts
// Offline: GATEWAY_URL=ws://… from `npx gloaming fake-gateway --port 0 --rate 50`.
import { CloseFrame, GatewayDispatchEvents, Intents, Shard, ShardId } from '../src/index.js';

const shard = new Shard(ShardId.ONE, {
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  intents: Intents.Guilds | Intents.GuildMessages | Intents.GuildMessageTyping,
  // READY and the events the bot acts on; TYPING_START and the rest never reach the loop.
  eventTypes: [GatewayDispatchEvents.Ready, GatewayDispatchEvents.MessageCreate, GatewayDispatchEvents.InteractionCreate],
  ...(process.env.GATEWAY_URL ? { gatewayUrl: process.env.GATEWAY_URL } : {}),
});
process.once('SIGINT', () => void shard.close(CloseFrame.NORMAL));

const seen: Record<string, number> = {};
for await (const event of shard) {
  if (event.op === 'error') console.warn(event.d.code, event.d.message);
  else if (typeof event.t === 'string') seen[event.t] = (seen[event.t] ?? 0) + 1;
  if (event.t === GatewayDispatchEvents.Ready) console.log('ready');
}
console.log(`reached the loop: ${JSON.stringify(seen)}`);
