// The worker module of examples/worker-fleet.ts: runs in every worker thread, next to the
// shards. "!ping" is answered here, on the worker's core, and not forwarded to the main thread.
import { GatewayDispatchEvents } from '../src/index.js';
import type { Shard, ShardEvent } from '../src/index.js';

export function handleEvent(event: ShardEvent, shard: Shard): boolean {
  if (event.t !== GatewayDispatchEvents.MessageCreate || event.d.content !== '!ping') return true;
  // A real bot would POST a reply to /channels/{event.d.channel_id}/messages here.
  console.log(`[worker, shard ${shard.id.number}] pong to ${event.d.author.username}`);
  return false;
}
