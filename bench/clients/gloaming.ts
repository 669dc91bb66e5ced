/**
 * gloaming's shards for the benchmark clients: built from src/ (bundled when the run
 * started), zlib-stream, no identify wait.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { ALL_INTENTS, Shard } from '../../src/index.js';
import type { DispatchEventName, Queue, ShardEvent, WorkerFleetOptions } from '../../src/index.js';
import type { ClientArgs } from '../receive-shared.js';
import { MARKER_ID, TOKEN } from '../receive-shared.js';
import { ShardTally } from './harness.js';
import type { Meter } from './harness.js';

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

/** Pulls events until READY; with `tally`, then on to the end marker. */
export async function consume(shard: Shard, onReady: () => void, tally: ShardTally | null): Promise<void> {
  for (;;) {
    const event = await shard.nextEvent();
    if (event.op === GatewayOpcodes.Dispatch) {
      if (event.t === GatewayDispatchEvents.Ready) {
        onReady();
        if (tally === null) return;
        continue;
      }
      if (tally === null) continue;
      tally.dispatch(event.s);
      if (event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === MARKER_ID) return;
    } else if (event.op === 'close' || event.op === 'error') {
      throw unexpected(event);
    }
  }
}

/** Reads every shard to the end marker, timed from the last READY. */
export async function measureThroughput(shards: readonly Shard[], meter: Meter): Promise<void> {
  const tallies = shards.map(() => new ShardTally());
  let ready = 0;
  const onReady = (): void => {
    if (++ready === shards.length) meter.start();
  };
  await Promise.all(shards.map((shard, i) => consume(shard, onReady, tallies[i] as ShardTally)));
  meter.finish(
    tallies.reduce((sum, t) => sum + t.events, 0),
    tallies.reduce((sum, t) => sum + t.seqErrors, 0),
  );
}

/** Reads one merged loop of every shard (a WorkerFleet, a ShardFleet) to the end markers, timed from the last READY. */
export async function measureMerged(items: AsyncIterable<{ readonly shard: { readonly id: { readonly number: number } }; readonly event: ShardEvent }>, shards: number, meter: Meter): Promise<void> {
  const tallies = Array.from({ length: shards }, () => new ShardTally());
  let ready = 0;
  let done = 0;
  for await (const { shard, event } of items) {
    if (event.op === GatewayOpcodes.Dispatch) {
      if (event.t === GatewayDispatchEvents.Ready) {
        if (++ready === shards) meter.start();
        continue;
      }
      (tallies[shard.id.number] as ShardTally).dispatch(event.s);
      if (event.t === GatewayDispatchEvents.InteractionCreate && event.d.id === MARKER_ID && ++done === shards) {
        meter.finish(
          tallies.reduce((sum, t) => sum + t.events, 0),
          tallies.reduce((sum, t) => sum + t.seqErrors, 0),
        );
      }
    } else if (event.op === 'close' || event.op === 'error') {
      throw unexpected(event);
    }
  }
}
