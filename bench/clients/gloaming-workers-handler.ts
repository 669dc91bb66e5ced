/**
 * Client `gloaming-workers-handler`: gloaming's WorkerFleet, 2 worker threads, with the work
 * in the worker module (`worker-handler.ts`): each event is parsed and counted where it
 * arrives and nothing is forwarded; each shard's count comes back over a BroadcastChannel.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { WorkerFleet } from '../../src/index.js';
import { Meter, clientArgs, fail } from './harness.js';
import { fleetOptions } from './gloaming.js';
import { TALLY_CHANNEL } from './worker-tally.js';
import type { HandlerTally } from './worker-tally.js';

const args = clientArgs();
const meter = new Meter();
const channel = new BroadcastChannel(TALLY_CHANNEL);
let events = 0;
let seqErrors = 0;
let ready = 0;
let done = 0;
channel.onmessage = (message: unknown) => {
  const tally = (message as { data: HandlerTally }).data;
  if (tally.kind === 'ready') {
    if (++ready === args.shards) meter.start();
    return;
  }
  events += tally.events;
  seqErrors += tally.seqErrors;
  if (++done === args.shards) meter.finish(events, seqErrors);
};
const fleet = new WorkerFleet({ ...fleetOptions(args, null), module: new URL('./worker-handler.mjs', import.meta.url) });
for await (const { event } of fleet) if (event.op === 'close' || event.op === 'error') fail(new Error(`unexpected ${event.op}`));
