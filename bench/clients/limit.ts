/**
 * Client `limit`: the in-process limit. The very bytes the connections receive, held in
 * memory, inflated with gloaming's ZlibContext (one per shard, each with its own stream)
 * straight to a string, as gloaming does, and `JSON.parse`d per message: no sockets, no
 * events, no queues. With several shards the contexts take turns, {@link BATCH} messages
 * at a time, as socket reads interleave them.
 */
import { ZlibContext } from '../../src/codec/zlib-context.js';
import { readStream } from '../receive-shared.js';
import { Meter, clientArgs, fail } from './harness.js';

/** Finer than socket reads (one carries about 225 messages); on different data per shard the size does not show. */
const BATCH = 64;
const args = clientArgs();
if (args.mode !== 'throughput') fail(new Error('limit has no idle mode'));
const shards = args.streamFiles.map((file) => ({ context: new ZlibContext('inflate'), messages: readStream(file) }));
const length = (shards[0] as { messages: Buffer[] }).messages.length;
const parse = (context: ZlibContext, message: Buffer): { s: number | null } => JSON.parse(context.processToString(message)) as { s: number | null };
for (const { context, messages } of shards) {
  parse(context, messages[0] as Buffer); // HELLO
  parse(context, messages[1] as Buffer); // READY
}
const meter = new Meter();
meter.start();
let seqErrors = 0;
for (let base = 2; base < length; base += BATCH) {
  const end = Math.min(base + BATCH, length);
  for (const { context, messages } of shards) {
    for (let i = base; i < end; i++) {
      // READY is s 1 at index 1: a dispatch's s is its index.
      if (parse(context, messages[i] as Buffer).s !== i) seqErrors += 1;
    }
  }
}
meter.finish((length - 2) * shards.length, seqErrors);
