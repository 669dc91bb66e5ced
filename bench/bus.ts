// Events/s from a gateway through Redis to a consumer, 16 shards: gloaming's GatewayService and
// GatewayConsumer against @discordjs/brokers' PubSubRedisBroker publishing the same shards'
// dispatches and consuming them, in the same run. Each pipeline is two OS processes, as a
// deployment has them: a publisher (the shards and the publishing side) and a consumer, with a
// private redis-server. The source is the receive benchmark's server in a third process:
// FakeGateway's traffic, generated and compressed before anything is timed, written to each
// shard's socket as fast as the shard reads, so it outruns both pipelines and what is measured
// is their capacity.
//   npm run bench:bus [-- --events 25000 --rounds 3 --commands]
// (--commands: after each run, Redis's CPU per event by command, from INFO commandstats.)
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
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
import { askServer } from './receive-shared.js';
import type { ServerReport, ServerRequest } from './receive-shared.js';
import { writeStreams } from './streams.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '25000' },
    rounds: { type: 'string', default: '3' },
    role: { type: 'string' },
    pipeline: { type: 'string' },
    redis: { type: 'string' },
    gateway: { type: 'string' },
    commands: { type: 'boolean', default: false },
  },
});
const SHARDS = 16;
const CAP = 100_000;
/** Dispatches each shard receives, the end marker included. */
const EVENTS = Number(values.events);
/** What both publishers publish: every dispatch after READY, and the READYs. */
const TOTAL = SHARDS * (EVENTS + 1);
/** A run ends when the consumer has everything, or has taken nothing new for this long. */
const STALL_MS = 15_000;
/** The service reads the application id from the token's first part; the source checks nothing. */
const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.bench.offline-token';
const TYPES = Object.values(GatewayDispatchEvents);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A child samples its count every 20 ms and reports `count first last cpu` (the wall clock when
 * the count was first and last seen to grow, and its CPU time since the first in µs) on stdout every 100 ms,
 * until its parent sends SIGTERM.
 */
function report(count: () => number): void {
  let seen = 0;
  let first = 0;
  let last = 0;
  // Startup (loading TypeScript, connecting) is not the pipeline's cost per event.
  let cpuBase = process.cpuUsage();
  const line = (): boolean => {
    const cpu = process.cpuUsage(cpuBase);
    return process.stdout.write(`${seen} ${first} ${last} ${seen === 0 ? 0 : cpu.user + cpu.system}\n`);
  };
  setInterval(() => {
    const now = count();
    if (now === seen) return;
    if (seen === 0) {
      first = Date.now();
      cpuBase = process.cpuUsage();
    }
    seen = now;
    last = Date.now();
  }, 20);
  setInterval(line, 100);
  process.once('SIGTERM', () => {
    line();
    process.exit(0);
  });
}

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
  count: number;
  first: number;
  last: number;
  cpuUs: number;
  stop(): Promise<void>;
}

/** Extra node flags for the publisher and consumer, e.g. `BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'`. */
const childFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function child(role: string, pipeline: string, url: string, gateway = ''): Child {
  const process_ = spawn(process.execPath, [...childFlags, '--import', 'tsx', fileURLToPath(import.meta.url), '--role', role, '--pipeline', pipeline, '--redis', url, '--gateway', gateway], { stdio: ['ignore', 'pipe', 'inherit'] });
  const handle: Child = {
    count: 0,
    first: 0,
    last: 0,
    cpuUs: 0,
    stop: () =>
      new Promise((resolve) => {
        process_.once('exit', () => resolve());
        process_.kill('SIGTERM');
      }),
  };
  process_.stdout.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').at(-1);
    if (last === undefined || last === '') return;
    [handle.count, handle.first, handle.last, handle.cpuUs] = last.split(' ').map(Number) as [number, number, number, number];
  });
  return handle;
}

/** The traffic server: one process for every run, its streams loaded once. */
function startSource(): { server: ChildProcess; ask: <T extends ServerReport['type']>(type: T, request?: ServerRequest) => Promise<Extract<ServerReport, { type: T }>> } {
  const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./receive-server.ts', import.meta.url))], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return { server, ask: (type, request) => askServer(server, type, request) };
}

interface Result {
  /** Consumed events/s, from the consumer's first event to its last. */
  readonly perSecond: number;
  readonly published: number;
  readonly consumed: number;
  /** How far the consumer's last event came after the publisher's, ms. */
  readonly tailMs: number;
  /** The most published-but-not-consumed events seen at a 100 ms sample. */
  readonly peakLag: number;
  /** Redis memory at the largest 100 ms sample, MB. */
  readonly peakMemoryMb: number;
  /** CPU per consumed event, µs: the publisher process, the consumer process, redis-server. */
  readonly cpu: { readonly publisher: number; readonly consumer: number; readonly redis: number };
}

/** redis-server's own CPU time so far, µs. */
async function redisCpuUs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** Redis's CPU per event by command since the last `CONFIG RESETSTAT`, the costly ones first. */
async function commandCosts(client: Redis, events: number): Promise<string> {
  const costs = [...(await client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=\d+,usec=(\d+)/g)].map(([, name, us]) => [name, Number(us) / events] as const);
  return costs
    .filter(([, us]) => us >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(2)}`)
    .join(', ');
}

let runs = 0;
async function run(pipeline: string, url: string, port: number, go: (group: string) => void): Promise<Result> {
  const client = new Redis(url);
  await client.flushall();
  await client.config('RESETSTAT');
  const redisBefore = await redisCpuUs(client);
  const group = `bus-${pipeline}-${runs++}`;
  const consumer = child('consumer', pipeline, url);
  await sleep(1_000); // its group exists before the first event
  const publisher = child('publisher', pipeline, url, `ws://127.0.0.1:${port}/b/${group}/${SHARDS}/${EVENTS}`);
  go(group); // a shard that identifies after this is streamed to at once
  let peakLag = 0;
  let peakMemory = 0;
  let progress = { count: -1, at: Date.now() };
  while (consumer.count < TOTAL && Date.now() - progress.at < STALL_MS) {
    await sleep(100);
    if (consumer.count !== progress.count) progress = { count: consumer.count, at: Date.now() };
    peakLag = Math.max(peakLag, publisher.count - consumer.count);
    peakMemory = Math.max(peakMemory, Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]));
  }
  const redisCpu = (await redisCpuUs(client)) - redisBefore;
  if (values.commands === true) console.log(`${pipeline}, Redis µs/event by command (a script's own commands also under their names): ${await commandCosts(client, consumer.count)}`);
  await publisher.stop();
  await consumer.stop();
  await client.quit();
  const perEvent = (us: number): number => Math.round((us / consumer.count) * 10) / 10;
  return {
    cpu: { publisher: perEvent(publisher.cpuUs), consumer: perEvent(consumer.cpuUs), redis: perEvent(redisCpu) },
    perSecond: ((consumer.count - 1) * 1000) / Math.max(1, consumer.last - consumer.first),
    published: publisher.count,
    consumed: consumer.count,
    tailMs: consumer.last - publisher.last,
    peakLag,
    peakMemoryMb: Math.round((peakMemory / 1024 / 1024) * 10) / 10,
  };
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
  const dataDir = mkdtempSync(join(os.tmpdir(), 'gloaming-bus-'));
  const { server, ask } = startSource();
  const redis = await RedisServer.start();
  const results: Record<'gloaming' | 'brokers', Result[]> = { gloaming: [], brokers: [] };
  try {
    const { port } = await ask('listening');
    const { files, stats } = writeStreams(dataDir, port, [{ events: EVENTS, slices: SHARDS }]);
    await ask('loaded', { type: 'load', streams: files });
    const traffic = stats.get(EVENTS);
    console.log(`${SHARDS} shards × ${EVENTS} dispatches after READY (${TOTAL} with the READYs; mean ${Math.round(traffic?.meanJson ?? 0)} B of JSON, ${traffic?.guildCreates} GUILD_CREATE), each shard's stream written as fast as it reads; ${values.rounds} rounds; publisher, consumer, source in their own processes, redis-server on loopback, cap ${CAP} per stream\n`);
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const pipeline of ['gloaming', 'brokers'] as const) results[pipeline].push(await run(pipeline, redis.url, port, (group) => server.send({ type: 'go', group } satisfies ServerRequest)));
    }
  } finally {
    server.kill('SIGTERM');
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] as number;
  console.log('| pipeline | events/s consumed (median) | rounds | published, consumed (each round) | consumer behind the publisher at the end, ms | peak lag, events | peak Redis memory, MB | CPU µs/event: publisher + consumer + redis (medians) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, list] of Object.entries(results)) {
    const each = (pick: (r: Result) => number | string): string => list.map(pick).join(', ');
    console.log(`| ${name} | ${Math.round(median(list.map((r) => r.perSecond)))} | ${each((r) => Math.round(r.perSecond))} | ${each((r) => `${r.published}/${r.consumed}`)} | ${each((r) => r.tailMs)} | ${each((r) => r.peakLag)} | ${each((r) => r.peakMemoryMb)} | ${(['publisher', 'consumer', 'redis'] as const).map((part) => median(list.map((r) => r.cpu[part]))).join(' + ')} |`);
  }
  const ratio = median(results.gloaming.map((r) => r.perSecond)) / median(results.brokers.map((r) => r.perSecond));
  console.log(`\ngloaming ÷ brokers: ${ratio.toFixed(2)}× (every dispatch consumed in every round: ${Object.values(results).flat().every((r) => r.consumed === TOTAL) ? 'yes' : 'NO'})`);
}
