/**
 * Client `gloaming-workers`: gloaming's WorkerFleet, 2 worker threads, zlib-stream; every
 * event crosses to the main thread as text and is parsed there, pulled from one loop.
 */
import { WorkerFleet } from '../../src/index.js';
import { Meter, clientArgs } from './harness.js';
import { fleetOptions, measureMerged } from './gloaming.js';

const args = clientArgs();
await measureMerged(new WorkerFleet(fleetOptions(args, null)), args.shards, new Meter());
