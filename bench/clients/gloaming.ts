/**
 * gloaming's shards for the benchmark clients: built from src/ (bundled when the run
 * started), zlib-stream, no identify wait.
 */
import { ALL_INTENTS, Shard } from '../../src/index.js';
import type { DispatchEventName, Queue, WorkerFleetOptions } from '../../src/index.js';
import type { ClientArgs } from '../receive-shared.js';
import { TOKEN } from '../receive-shared.js';

/** Identifies at once, like the peers' no-wait identify throttlers. */
const noWait: Queue = { enqueue: () => Promise.resolve() };

export function makeShards(args: ClientArgs, eventTypes: DispatchEventName[] | null = null): Shard[] {
  return Array.from(
    { length: args.shards },
    (_, id) =>
      new Shard([id, args.shards], {
        token: TOKEN,
        intents: ALL_INTENTS,
        gatewayUrl: args.gatewayUrl,
        allowInsecureUrls: true,
        compression: 'zlib-stream',
        eventTypes,
        queue: noWait,
      }),
  );
}

/** A 2-worker WorkerFleet over the same shards. */
export function fleetOptions(args: ClientArgs, eventTypes: DispatchEventName[] | null): WorkerFleetOptions {
  return {
    workers: 2,
    shards: { total: args.shards },
    config: { token: TOKEN, intents: ALL_INTENTS, gatewayUrl: args.gatewayUrl, allowInsecureUrls: true, compression: 'zlib-stream', eventTypes },
    queue: noWait,
  };
}

/** An event that is neither a payload nor a heartbeat ACK ends the run: nothing may go wrong. */
export function unexpected(event: { op: unknown; d: unknown }): Error {
  const detail = event.d instanceof Error ? event.d.message : JSON.stringify(event.d);
  return new Error(`unexpected ${String(event.op)} event: ${detail}`);
}
