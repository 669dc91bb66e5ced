// A small bot to test: "!status idle" (or online, dnd, invisible) in any channel sets the
// bot's presence. It takes its gateway URL, so a test can point it at FakeGateway.
import { GatewayDispatchEvents, Intents, Shard, ShardId, updatePresence } from '../../src/index.js';
import type { PresenceUpdateStatus } from 'discord-api-types/v10';

const STATUSES = new Set(['online', 'idle', 'dnd', 'invisible']);

/** Runs the bot until the returned `stop()`. */
export function startBot(options: { token: string; gatewayUrl?: string }): { readonly shard: Shard; stop(): Promise<void> } {
  const shard = new Shard(ShardId.ONE, {
    token: options.token,
    intents: Intents.Guilds | Intents.GuildMessages | Intents.MessageContent,
    ...(options.gatewayUrl === undefined ? {} : { gatewayUrl: options.gatewayUrl }),
  });
  const running = (async () => {
    for await (const event of shard) {
      if (event.t !== GatewayDispatchEvents.MessageCreate) continue;
      const [command, status] = event.d.content.split(' ');
      if (command === '!status' && status !== undefined && STATUSES.has(status)) {
        await shard.command(updatePresence({ status: status as PresenceUpdateStatus, activities: [], afk: false, since: null }));
      }
    }
  })();
  return {
    shard,
    stop: async () => {
      await shard.close();
      await running;
    },
  };
}

