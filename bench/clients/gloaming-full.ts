/**
 * Client `gloaming-full`: gloaming's Shard with zlib-stream, every event parsed and pulled
 * with `nextEvent()`. In idle mode it is the gloaming row of the idle-memory table.
 */
import { Meter, clientArgs, fail, measureIdle } from './harness.js';
import { consume, makeShards, measureThroughput } from './gloaming.js';

const args = clientArgs();

if (args.mode === 'idle') {
  await measureIdle(args.shards, async () => {
    // Created here, so that the shards' own objects count as their memory.
    const shards = makeShards(args);
    await Promise.all(shards.map((shard) => consume(shard, () => undefined, null)));
    // A consumer waits on the next event, as a bot does.
    for (const shard of shards) shard.nextEvent().catch(fail);
  });
} else {
  await measureThroughput(makeShards(args), new Meter());
}
