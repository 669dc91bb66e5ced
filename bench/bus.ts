// Events/s from FakeGateway through Redis to a consumer, 16 shards: gloaming's GatewayService
// and GatewayConsumer against @discordjs/brokers' PubSubRedisBroker publishing the same shards'
// dispatches and consuming them, in the same run. Each pipeline is two OS processes, as a
// deployment has them: a publisher (the shards and the publishing side) and a consumer, with
// `gloaming fake-gateway` in a third and a private redis-server.
//   BENCH_RATE=1000 npm run bench:bus [-- --seconds 8 --rounds 2]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PubSubRedisBroker } from '@discordjs/brokers';
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { Redis } from 'ioredis';
import { closeAll, createRange } from '../src/fleet/create.js';
import { ShardEventStream } from '../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../src/queue/in-memory-queue.js';
import { GatewayConsumer, GatewayService } from '../src/redis/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    role: { type: 'string' },
    pipeline: { type: 'string' },
    redis: { type: 'string' },
    gateway: { type: 'string' },
  },
});
const SHARDS = 16;
const WARMUP_MS = 3_000;
const CAP = 100_000;
/** Dispatches per second per shard the simulator (its own process) offers. */
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.bench.offline-token';
const TYPES = Object.values(GatewayDispatchEvents);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A child reports its count on stdout every 250 ms, and runs until its parent sends SIGTERM. */
const report = (count: () => number): void => {
  setInterval(() => process.stdout.write(`${count()}\n`), 250);
  process.once('SIGTERM', () => {
    process.stdout.write(`${count()}\n`);
    process.exit(0);
  });
};

async function gloamingPublisher(url: string, gateway: string): Promise<void> {
  const service = await GatewayService.start({ token: TOKEN, intents: 513, redis: url, total: SHARDS, gatewayUrl: gateway, maxConcurrency: SHARDS, identifyIntervalMs: 0, allowInsecureUrls: true, cap: CAP });
  report(() => service.published);
}

async function gloamingConsumer(url: string): Promise<void> {
  const consumer = new GatewayConsumer({ redis: url, group: 'bench', consumer: 'c1', events: TYPES, from: '0' });
  let consumed = 0;
  report(() => consumed);
  for await (const { ack } of consumer) {
    consumed += 1;
    void ack();
  }
}

async function brokersPublisher(url: string, gateway: string): Promise<void> {
  const publisher = new PubSubRedisBroker<Record<string, unknown>>(new Redis(url) as never, { group: 'publisher' });
  const shards = createRange({ start: 0, end: SHARDS }, SHARDS, { token: TOKEN, intents: 513, gatewayUrl: gateway, allowInsecureUrls: true, queue: new InMemoryQueue(SHARDS, 1000, 86_400_000, 1000, { intervalMs: 0 }) });
  let published = 0;
  report(() => published);
  // Publishes overlap in bursts of 512, as gloaming's batches do; awaiting each would cost it a round trip per event.
  let burst: Promise<void>[] = [];
  for await (const { event } of new ShardEventStream(shards)) {
    if (event.op !== GatewayOpcodes.Dispatch) continue;
    burst.push(publisher.publish(event.t, event.d).then(() => void (published += 1)));
    if (burst.length === 512) {
      await Promise.all(burst);
      burst = [];
    }
  }
  await closeAll(shards);
}

async function brokersConsumer(url: string): Promise<void> {
  const consumer = new PubSubRedisBroker<Record<string, unknown>>(new Redis(url) as never, { group: 'bench' });
  let consumed = 0;
  for (const type of TYPES) {
    consumer.on(type, ({ ack }: { ack: () => Promise<void> }) => {
      consumed += 1;
      void ack();
    });
  }
  await consumer.subscribe(TYPES);
  report(() => consumed);
}

interface Child {
  latest: number;
  stop(): Promise<void>;
}

function child(role: string, pipeline: string, url: string, gateway = ''): Child {
  const process_ = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--role', role, '--pipeline', pipeline, '--redis', url, '--gateway', gateway], { stdio: ['ignore', 'pipe', 'inherit'] });
  const handle: Child = {
    latest: 0,
    stop: () =>
      new Promise((resolve) => {
        process_.once('exit', () => resolve());
        process_.kill('SIGTERM');
      }),
  };
  process_.stdout.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').at(-1);
    if (last !== undefined && last !== '') handle.latest = Number(last);
  });
  return handle;
}

interface Result {
  readonly perSecond: number;
  readonly published: number;
  readonly consumed: number;
  readonly memoryMb: number;
}

async function run(pipeline: string, url: string): Promise<Result> {
  const client = new Redis(url);
  await client.flushall();
  // The simulator in its own process: in the publisher's, generating and compressing would be most of what is measured.
  const gateway = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)), 'fake-gateway', '--port', '0', '--shards', String(SHARDS), '--max-concurrency', String(SHARDS), '--identify-interval', '0', '--guilds', '64', '--rate', String(RATE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(gateway.stdout, 'data')) as [Buffer];
  const { url: gatewayUrl } = JSON.parse(line.toString().split('\n')[0] as string) as { url: string };
  const consumer = child('consumer', pipeline, url);
  await sleep(1_000); // its group exists before the first event
  const publisher = child('publisher', pipeline, url, gatewayUrl);
  // A queue new to Redis waits one identify window before its first admission: measured from the first event on.
  while (publisher.latest === 0) await sleep(50);
  await sleep(WARMUP_MS);
  const before = consumer.latest;
  const started = performance.now();
  await sleep(Number(values.seconds) * 1000);
  const perSecond = ((consumer.latest - before) * 1000) / (performance.now() - started);
  const info = await client.info('memory');
  await publisher.stop();
  await consumer.stop();
  gateway.kill('SIGTERM');
  await client.quit();
  return { perSecond, published: publisher.latest, consumed: consumer.latest, memoryMb: Math.round((Number(/used_memory:(\d+)/.exec(info)?.[1]) / 1024 / 1024) * 10) / 10 };
}

const roles: Record<string, (url: string, gateway: string) => Promise<void>> = {
  'publisher:gloaming': gloamingPublisher,
  'consumer:gloaming': gloamingConsumer,
  'publisher:brokers': brokersPublisher,
  'consumer:brokers': brokersConsumer,
};

if (values.role !== undefined) {
  await (roles[`${values.role}:${values.pipeline}`] as (url: string, gateway: string) => Promise<void>)(values.redis as string, values.gateway as string);
} else {
  const server = await RedisServer.start();
  const results: Record<'gloaming' | 'brokers', Result[]> = { gloaming: [], brokers: [] };
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const pipeline of ['gloaming', 'brokers'] as const) results[pipeline].push(await run(pipeline, server.url));
    }
  } finally {
    await server.stop();
  }
  const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] as number;
  console.log(`${SHARDS} shards, the simulator offering ${RATE} dispatches/s per shard from its own process, ${values.seconds} s measured after ${WARMUP_MS / 1000} s, ${values.rounds} rounds; publisher and consumer in their own processes, redis-server on loopback\n`);
  console.log('| pipeline | events/s consumed (median) | rounds | published, consumed (last round) | Redis memory at the end, MB |');
  console.log('|---|---|---|---|---|');
  for (const [name, runs] of Object.entries(results)) {
    console.log(`| ${name} | ${Math.round(median(runs.map((r) => r.perSecond)))} | ${runs.map((r) => Math.round(r.perSecond)).join(', ')} | ${runs.at(-1)?.published}, ${runs.at(-1)?.consumed} | ${runs.map((r) => r.memoryMb).join(', ')} |`);
  }
  const ratio = median(results.gloaming.map((r) => r.perSecond)) / median(results.brokers.map((r) => r.perSecond));
  console.log(`\ngloaming ÷ brokers: ${ratio.toFixed(2)}×`);
}
