import { afterEach, it } from 'vitest';
import { FakeGateway } from '../../src/testing/index.js';
import { RawClient } from '../support/raw-client.js';

let gateway: FakeGateway | undefined;
afterEach(async () => { await gateway?.close(); gateway = undefined; });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('explore', async () => {
  const g = (gateway = await FakeGateway.start({ guilds: 20, seed: 11, rate: 'max', identifyInterval: 0 }));
  const client = await RawClient.connect(g.url);
  await client.ready({ intents: 53608447 });
  await sleep(200);
  const n0 = client.received.length;
  await sleep(1000);
  const n1 = client.received.length;
  console.log('per second', n1 - n0);
  const items = client.received.slice(25).flatMap((i) => (i.kind === 'payload' ? [i] : []));
  const mean = items.reduce((s, i) => s + i.bytes, 0) / items.length;
  console.log('mean', mean, items.length);
  const counts: Record<string, number> = {};
  for (const i of items) counts[i.payload.t as string] = (counts[i.payload.t as string] ?? 0) + 1;
  console.log(counts);
  client.socket.pause();
  const seqs: number[] = [];
  for (let k = 0; k < 30; k++) { seqs.push(g.sessions()[0]!.sequence); await sleep(100); }
  console.log(seqs.join(','));
  client.socket.resume();
  await sleep(300);
  console.log('after resume', g.sessions()[0]!.sequence);
  client.close();
  for (const intents of [513, 33281, 1 | 512 | 32768 | 256 | 2 | 128 | 1024 | 2048]) {
    const c = await RawClient.connect(g.url);
    await c.ready({ intents });
    await c.waitUntil(() => c.received.length > 5000, 10000);
    const its = c.received.slice(25).flatMap((i) => (i.kind === 'payload' ? [i] : []));
    console.log(intents, 'mean', its.reduce((s, i) => s + i.bytes, 0) / its.length);
    c.close();
  }
}, 60000);
