/**
 * Client `gloaming-full`: gloaming's Shard with zlib-stream, every event parsed and pulled
 * with `nextEvent()`. In idle mode it is the gloaming row of the idle-memory table.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { Shard } from '../../src/index.js';
import { MARKER_ID } from '../receive-shared.js';
import { Meter, ShardTally, clientArgs, fail, measureIdle } from './harness.js';
import { makeShards, unexpected } from './gloaming.js';

const args = clientArgs();

/** Pulls events until READY; with `tally`, then on to the end marker. */
async function consume(shard: Shard, onReady: () => void, tally: ShardTally | null): Promise<void> {
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

if (args.mode === 'idle') {
  await measureIdle(args.shards, async () => {
    // Created here, so that the shards' own objects count as their memory.
    const shards = makeShards(args);
    await Promise.all(shards.map((shard) => consume(shard, () => undefined, null)));
    // A consumer waits on the next event, as a bot does.
    for (const shard of shards) shard.nextEvent().catch(fail);
  });
} else {
  const shards = makeShards(args);
  const meter = new Meter();
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
