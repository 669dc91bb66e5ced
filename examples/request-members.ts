// Asking a guild for its members: Discord answers with GUILD_MEMBERS_CHUNKs of up to 1,000
// members, each carrying the request's nonce, so answers to requests made at the same
// time never mix. GUILD_MEMBERS is privileged: enable it in the Developer Portal.
//   DISCORD_TOKEN=… npx tsx examples/request-members.ts
// Offline: GATEWAY_URL=ws://… from `npx gloaming fake-gateway --port 0`.
import { CloseFrame, GatewayDispatchEvents, Intents, Shard, ShardId, requestGuildMembers } from '../src/index.js';

const shard = new Shard(ShardId.ONE, {
  token: process.env.DISCORD_TOKEN ?? 'offline-token',
  intents: Intents.Guilds | Intents.GuildMembers,
  ...(process.env.GATEWAY_URL ? { gatewayUrl: process.env.GATEWAY_URL } : {}),
});

let nonce: string | null = null;
let members = 0;
for await (const event of shard) {
  if (event.t === GatewayDispatchEvents.GuildCreate && nonce === null) {
    nonce = `members-of-${event.d.id}`; // at most 32 bytes
    // An empty query with limit 0 asks for every member.
    await shard.command(requestGuildMembers({ guildId: event.d.id, query: '', limit: 0, nonce }));
  } else if (event.t === GatewayDispatchEvents.GuildMembersChunk && event.d.nonce === nonce) {
    members += event.d.members.length;
    if (event.d.chunk_index + 1 === event.d.chunk_count) {
      console.log(`${members} members of guild ${event.d.guild_id} in ${event.d.chunk_count} chunks`);
      break;
    }
  } else if (event.op === 'error') console.warn(event.d.code, event.d.message);
}
await shard.close(CloseFrame.NORMAL);
