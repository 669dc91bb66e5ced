/**
 * Client `floor-ws-zlib` (idle memory only): the least a zlib-stream gateway connection
 * can hold, a bare `ws` socket and one node:zlib inflate stream, answering HELLO with
 * IDENTIFY and stopping at READY.
 */
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { floorIdentify } from '../receive-shared.js';
import { clientArgs, fail, measureIdle } from './harness.js';

const args = clientArgs();
if (args.mode !== 'idle') fail(new Error('floor-ws-zlib has only an idle mode'));

function connect(id: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${args.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`, { perMessageDeflate: false });
    // The smallest output chunk: a stream's output buffer is memory the floor need not hold.
    const inflate = zlib.createInflate({ chunkSize: zlib.constants.Z_MIN_CHUNK });
    const chunks: Buffer[] = [];
    inflate.on('data', (chunk: Buffer) => chunks.push(chunk));
    inflate.on('error', reject);
    socket.on('error', reject);
    socket.on('message', (data: Buffer) => {
      inflate.write(data);
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { op: number; t: string | null };
        chunks.length = 0;
        if (payload.op === 10) {
          socket.send(floorIdentify(id, args.shards));
        } else if (payload.t === 'READY') {
          resolve();
        }
      });
    });
  });
}

await measureIdle(args.shards, async () => {
  await Promise.all(Array.from({ length: args.shards }, (_, id) => connect(id)));
});
