/**
 * Client `limit`: the in-process limit. The very bytes every connection receives, held in
 * memory, inflated with gloaming's ZlibContext (one per shard) and `JSON.parse`d per
 * message: no sockets, no events, no queues. With several shards each context has its own
 * copy of the bytes (as each connection receives its own) and the contexts take turns, 64
 * messages at a time, as socket reads would interleave them.
 */
import { ZlibContext } from '../../src/codec/zlib-context.js';
import { readStream } from '../receive-shared.js';
import { Meter, clientArgs, fail } from './harness.js';

const BATCH = 64;
const args = clientArgs();
if (args.mode !== 'throughput') fail(new Error('limit has no idle mode'));
const original = readStream(args.streamFile);
const shards = Array.from({ length: args.shards }, (_, i) => ({
  context: new ZlibContext('inflate'),
  messages: i === 0 ? original : original.map((message) => Buffer.from(message)),
}));
const parse = (context: ZlibContext, message: Buffer): { s: number | null } => JSON.parse(context.process(message).toString('utf8')) as { s: number | null };
for (const { context, messages } of shards) {
  parse(context, messages[0] as Buffer); // HELLO
  parse(context, messages[1] as Buffer); // READY
}
const meter = new Meter();
meter.start();
let seqErrors = 0;
for (let base = 2; base < original.length; base += BATCH) {
  const end = Math.min(base + BATCH, original.length);
  for (const { context, messages } of shards) {
    for (let i = base; i < end; i++) {
      // READY is s 1 at index 1: a dispatch's s is its index.
      if (parse(context, messages[i] as Buffer).s !== i) seqErrors += 1;
    }
  }
}
meter.finish((original.length - 2) * shards.length, seqErrors);
