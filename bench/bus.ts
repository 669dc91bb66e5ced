// Events/s from FakeGateway through Redis to a consumer, 16 shards, all in this process on a
// private redis-server: gloaming's GatewayService + GatewayConsumer against
// @discordjs/brokers' PubSubRedisBroker publishing the same shards' dispatches (awaited in
// bounded bursts, so its publishes overlap as ours do) and consuming them, in the same run.
//   npm run bench:bus [-- --seconds 8 --rounds 2]
import { parseArgs } from 'node:util';
import { PubSubRedisBroker } from '@discordjs/brokers';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import { closeAll, createRange } from '../src/fleet/create.js';
import { ShardEventStream } from '../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../src/queue/in-memory-queue.js';
import { GatewayConsumer, GatewayService } from '../src/redis/index.js';
import { FakeGateway } from '../src/testing/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, rounds: { type: 'string', default: '2' } } });
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const WARMUP_MS = 2_000;
const SHARDS = 16;
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.bench.offline-token';
const TYPES = Object.values(GatewayDispatchEvents);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  readonly perSecond: number;
  readonly published: number;
  readonly consumed: number;
  readonly memoryMb: number;
}

/** Counts what `consumed()` reports over the measured window, after a warm-up. */
async function measure(consumed: () => number): Promise<number> {
  await sleep(WARMUP_MS);
  const before = consumed();
  const started = performance.now();
  await sleep(SECONDS * 1000);
  return ((consumed() - before) * 1000) / (performance.now() - started);
}

async function memoryMb(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('memory');
  await client.quit();
  return Math.round((Number(/used_memory:(\d+)/.exec(info)?.[1]) / 1024 / 1024) * 10) / 10;
}

async function gloaming(url: string): Promise<Result> {
  const gateway = await FakeGateway.start({ shards: SHARDS, maxConcurrency: SHARDS, identifyInterval: 0, guilds: 64, rate: 'max', logDispatches: false });
  const service = await GatewayService.start({ token: TOKEN, intents: 513, redis: url, total: SHARDS, gatewayUrl: gateway.url, maxConcurrency: SHARDS, identifyIntervalMs: 0, allowInsecureUrls: true, cap: 100_000 });
  // A queue new to Redis waits one identify window before its first admission.
  while (!service.active) await sleep(50);
  const consumer = new GatewayConsumer({ redis: url, group: 'bench', consumer: 'c1', events: TYPES });
  let consumed = 0;
  const reading = (async () => {
    for await (const { ack } of consumer) {
      consumed += 1;
      void ack();
    }
  })();
  const perSecond = await measure(() => consumed);
  const memory = await memoryMb(url);
  await service.stop();
  await consumer.close();
  await reading;
  await gateway.close();
  return { perSecond, published: service.published, consumed, memoryMb: memory };
}

async function brokers(url: string): Promise<Result> {
  const gateway = await FakeGateway.start({ shards: SHARDS, maxConcurrency: SHARDS, identifyInterval: 0, guilds: 64, rate: 'max', logDispatches: false });
  const publisherClient = new Redis(url);
  const consumerClient = new Redis(url);
  const publisher = new PubSubRedisBroker<Record<string, unknown>>(publisherClient as never, { group: 'publisher' });
  const consumer = new PubSubRedisBroker<Record<string, unknown>>(consumerClient as never, { group: 'bench' });
  let consumed = 0;
  for (const type of TYPES) {
    consumer.on(type, ({ ack }: { ack: () => Promise<void> }) => {
      consumed += 1;
      void ack();
    });
  }
  await consumer.subscribe(TYPES);
  const shards = createRange({ start: 0, end: SHARDS }, SHARDS, { token: TOKEN, intents: 513, gatewayUrl: gateway.url, allowInsecureUrls: true, queue: new InMemoryQueue(SHARDS, 1000, 86_400_000, 1000, { intervalMs: 0 }) });
  let published = 0;
  const pumping = (async () => {
    let burst: Promise<void>[] = [];
    for await (const { event } of new ShardEventStream(shards)) {
      if (event.op !== GatewayOpcodes.Dispatch) continue;
      burst.push(publisher.publish(event.t, event.d));
      published += 1;
      if (burst.length === 512) {
        await Promise.all(burst);
        burst = [];
      }
    }
    await Promise.all(burst);
  })();
  const perSecond = await measure(() => consumed);
  const memory = await memoryMb(url);
  await closeAll(shards);
  await pumping;
  await publisher.destroy();
  await consumer.destroy();
  await gateway.close();
  return { perSecond, published, consumed, memoryMb: memory };
}

// PubSubRedisBroker's destroy() leaves its blocked reads to reject unhandled ("Connection is closed"): counted, not fatal.
let unhandled = 0;
process.on('unhandledRejection', () => void (unhandled += 1));
const server = await RedisServer.start();
const flush = async (): Promise<void> => {
  const client = new Redis(server.url);
  await client.flushall();
  await client.quit();
};
const results: { gloaming: Result[]; brokers: Result[] } = { gloaming: [], brokers: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    await flush();
    results.gloaming.push(await gloaming(server.url));
    await flush();
    results.brokers.push(await brokers(server.url));
  }
} finally {
  await server.stop();
}

const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] as number;
console.log(`${SHARDS} shards, FakeGateway at max rate, ${SECONDS} s measured after ${WARMUP_MS / 1000} s, ${ROUNDS} rounds, one process, redis-server on loopback\n`);
console.log('| pipeline | events/s consumed (median) | rounds | published, consumed (last round) | Redis memory at the end, MB |');
console.log('|---|---|---|---|---|');
for (const [name, runs] of Object.entries(results)) {
  console.log(`| ${name} | ${Math.round(median(runs.map((run) => run.perSecond)))} | ${runs.map((run) => Math.round(run.perSecond)).join(', ')} | ${runs.at(-1)?.published}, ${runs.at(-1)?.consumed} | ${runs.map((run) => run.memoryMb).join(', ')} |`);
}
const ratio = median(results.gloaming.map((run) => run.perSecond)) / median(results.brokers.map((run) => run.perSecond));
console.log(`\ngloaming ÷ brokers: ${ratio.toFixed(2)}×${unhandled === 0 ? '' : ` (${unhandled} unhandled rejections at the brokers' destroy)`}`);
