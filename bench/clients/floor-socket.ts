/**
 * Client `floor-socket` (throughput only): the least a zlib-stream client can do per event
 * over real sockets. `ws` does the handshake, gloaming's frame reader takes the socket's
 * binary frames, and each is inflated with ZlibContext and `JSON.parse`d in the same call:
 * no envelope peek, no buffer, no events handed to a consumer, no backpressure. What it costs
 * above `limit` is what reading sockets costs; what gloaming costs above it is delivery.
 */
import WebSocket from 'ws';
import { ZlibContext } from '../../src/codec/zlib-context.js';
import { readBinaryFrames } from '../../src/shard/frame-reader.js';
import { MARKER_ID, floorIdentify } from '../receive-shared.js';
import { Meter, ShardTally, clientArgs, fail } from './harness.js';

const args = clientArgs();
if (args.mode !== 'throughput') fail(new Error('floor-socket has only a throughput mode'));
const meter = new Meter();
const tallies = Array.from({ length: args.shards }, () => new ShardTally());
let ready = 0;
let finished = 0;

function connect(id: number): void {
  const socket = new WebSocket(`${args.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`, { perMessageDeflate: false });
  const context = new ZlibContext('inflate');
  const tally = tallies[id] as ShardTally;
  socket.on('error', fail);
  socket.on('message', () => fail(new Error('a frame the frame reader left to ws')));
  socket.on('open', () =>
    readBinaryFrames(socket, 0, (data) => {
      const payload = JSON.parse(context.processToString(data)) as { op: number; s: number | null; t: string | null; d: { id?: string } };
      if (payload.op === 10) {
        socket.send(floorIdentify(id, args.shards));
      } else if (payload.t === 'READY') {
        if (++ready === args.shards) meter.start();
      } else if (payload.op === 0) {
        tally.dispatch(payload.s);
        if (payload.t === 'INTERACTION_CREATE' && payload.d.id === MARKER_ID && ++finished === args.shards) {
          meter.finish(
            tallies.reduce((sum, t) => sum + t.events, 0),
            tallies.reduce((sum, t) => sum + t.seqErrors, 0),
          );
        }
      }
    }),
  );
}

for (let id = 0; id < args.shards; id++) connect(id);
