/**
 * Client `gloaming-workers`: gloaming's WorkerFleet, 2 worker threads, zlib-stream; every
 * event crosses to the main thread as text and is parsed there, pulled from one loop.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { WorkerFleet } from '../../src/index.js';
import { MARKER_ID } from '../receive-shared.js';
import { Meter, ShardTally, clientArgs } from './harness.js';
import { fleetOptions, unexpected } from './gloaming.js';

const args = clientArgs();
const fleet = new WorkerFleet(fleetOptions(args, null));
const meter = new Meter();
const tallies = Array.from({ length: args.shards }, () => new ShardTally());
let ready = 0;
let done = 0;
for await (const { shard, event } of fleet) {
  if (event.op === GatewayOpcodes.Dispatch) {
    if (event.t === GatewayDispatchEvents.Ready) {
      if (++ready === args.shards) meter.start();
      continue;
    }
    (tallies[shard.id.number] as ShardTally).dispatch(event.s);
    if (event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === MARKER_ID && ++done === args.shards) {
      meter.finish(
        tallies.reduce((sum, t) => sum + t.events, 0),
        tallies.reduce((sum, t) => sum + t.seqErrors, 0),
      );
    }
  } else if (event.op === 'close' || event.op === 'error') {
    throw unexpected(event);
  }
}
