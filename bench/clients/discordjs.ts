/**
 * The @discordjs/ws clients (`discordjs-zlib-sync`, `discordjs-node-zlib`): a
 * WebSocketManager with the given compression, REST pointed at the bench server's
 * `/gateway/bot`, its own session store, no identify wait, dispatches counted in its
 * `dispatch` event.
 */
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type { CompressionMethod, IShardingStrategy, SessionInfo } from '@discordjs/ws';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { ALL_INTENTS } from '../../src/intents.js';
import { MARKER_ID, TOKEN } from '../receive-shared.js';
import { Meter, ShardTally, clientArgs, fail, measureIdle } from './harness.js';

/** `strategy`: how the manager spreads its shards (default: all in this thread). */
export async function runDiscordjs(compression: CompressionMethod, strategy?: (manager: WebSocketManager, shards: number) => IShardingStrategy): Promise<void> {
  const args = clientArgs();
  const sessions = new Map<number, SessionInfo>();
  const rest = new REST({ api: args.restApi, version: '10' }).setToken(TOKEN);
  const manager = new WebSocketManager({
    token: TOKEN,
    intents: ALL_INTENTS,
    rest,
    shardCount: args.shards,
    compression,
    buildIdentifyThrottler: () => ({ waitForIdentify: () => Promise.resolve() }),
    retrieveSessionInfo: (shardId) => sessions.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => {
      if (info === null) sessions.delete(shardId);
      else sessions.set(shardId, info);
    },
    ...(strategy === undefined ? {} : { buildStrategy: (manager: WebSocketManager) => strategy(manager, args.shards) }),
  });
  manager.on(WebSocketShardEvents.Error, (error) => fail(error));
  manager.on(WebSocketShardEvents.Closed, (code, shardId) => fail(new Error(`shard ${shardId} closed with ${code}`)));
  // The REST round trip happens before any measurement.
  await manager.fetchGatewayInformation();

  if (args.mode === 'idle') {
    await measureIdle(args.shards, () => manager.connect());
    return;
  }
  const meter = new Meter();
  const tallies = Array.from({ length: args.shards }, () => new ShardTally());
  let done = 0;
  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    if (payload.t === GatewayDispatchEvents.Ready) return;
    const tally = tallies[shardId] as ShardTally;
    tally.dispatch(payload.s);
    if (payload.t === GatewayDispatchEvents.InteractionCreate && payload.d.id === MARKER_ID && ++done === args.shards) {
      meter.finish(
        tallies.reduce((sum, t) => sum + t.events, 0),
        tallies.reduce((sum, t) => sum + t.seqErrors, 0),
      );
    }
  });
  await manager.connect();
  meter.start();
}
