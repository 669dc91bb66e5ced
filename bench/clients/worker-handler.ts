/**
 * The worker module of `gloaming-workers-handler`: counts each shard's dispatches in the
 * worker, keeps every event there, and posts each shard's READY and final count.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { Shard, ShardEvent } from '../../src/index.js';
import { MARKER_ID } from '../receive-shared.js';
import { ShardTally } from './harness.js';
import { TALLY_CHANNEL } from './worker-tally.js';
import type { HandlerTally } from './worker-tally.js';

const channel = new BroadcastChannel(TALLY_CHANNEL);
const tallies = new Map<number, ShardTally>();

export function handleEvent(event: ShardEvent, shard: Shard): boolean {
  if (event.op !== GatewayOpcodes.Dispatch) return event.op === 'close' || event.op === 'error';
  const id = shard.id.number;
  if (event.t === GatewayDispatchEvents.Ready) {
    tallies.set(id, new ShardTally());
    channel.postMessage({ kind: 'ready', shard: id } satisfies HandlerTally);
    return false;
  }
  const tally = tallies.get(id) as ShardTally;
  tally.dispatch(event.s);
  if (event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === MARKER_ID) {
    channel.postMessage({ kind: 'done', shard: id, events: tally.events, seqErrors: tally.seqErrors } satisfies HandlerTally);
  }
  return false;
}
