/**
 * Client `gloaming-interactions`: gloaming's Shard with `eventTypes: ['INTERACTION_CREATE']`,
 * a rare event (about 2 % of the traffic): it receives and inflates everything and
 * delivers only interactions. It reads until the end marker (itself an interaction) and
 * checks with `inflaterMetrics` that every message of the stream went through.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { Shard } from '../../src/index.js';
import { MARKER_ID } from '../receive-shared.js';
import { Meter, clientArgs, fail } from './harness.js';
import { makeShards, unexpected } from './gloaming.js';

const args = clientArgs();
if (args.mode !== 'throughput') fail(new Error('gloaming-interactions has no idle mode'));
const shards = makeShards(args, [GatewayDispatchEvents.InteractionCreate]);
const meter = new Meter();
let seqErrors = 0;

async function consume(shard: Shard): Promise<void> {
  for (;;) {
    const event = await shard.nextEvent();
    if (event.op === GatewayOpcodes.Dispatch) {
      if (event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === MARKER_ID) {
        // READY is s 1, so the marker (the last of `events` dispatches) is s events + 1;
        // HELLO and READY are the two messages before the dispatches.
        if (event.s !== args.events + 1) seqErrors += 1;
        if (shard.inflaterMetrics.messages !== args.events + 2) seqErrors += 1;
        return;
      }
    } else if (event.op === 'close' || event.op === 'error') {
      throw unexpected(event);
    }
  }
}

// READY is filtered out of nextEvent here, so readiness is read from the shards' state.
const consumers = Promise.all(shards.map((shard) => consume(shard)));
const poll = setInterval(() => {
  if (shards.every((shard) => shard.state.kind === 'Active')) {
    clearInterval(poll);
    meter.start();
  }
}, 2);
await consumers;
meter.finish(args.events * shards.length, seqErrors);
