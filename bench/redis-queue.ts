/**
 * Issue 17's benchmark: what an identify admission costs on RedisQueue, against InMemoryQueue
 * in the same run. An idle bucket's admission latency (p50, p99; each admission in a bucket
 * nobody used for a window, so none waits for spacing) and the Redis commands per identify,
 * read from the server's own `INFO commandstats`. A private redis-server on loopback.
 *
 * Run: npm run bench:redis [-- --admissions 2000]
 */
import { Redis } from 'ioredis';
import { InMemoryQueue } from '../src/queue/in-memory-queue.js';
import type { Queue } from '../src/queue/queue.js';
import { RedisQueue } from '../src/redis/index.js';
import { RedisServer } from '../test/support/redis-server.js';

const at = process.argv.indexOf('--admissions');
const ADMISSIONS = at === -1 ? 2_000 : Number(process.argv[at + 1]);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

/** Admission latencies in ms, one shard after another, each in its own (idle) bucket. */
async function latencies(queue: Queue): Promise<number[]> {
  const times: number[] = [];
  for (let shard = 0; shard < ADMISSIONS; shard++) {
    const started = performance.now();
    await queue.enqueue(shard);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/** Every command the server ran so far, by name. */
async function commandCounts(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((match) => [match[1] as string, Number(match[2])]));
}

const server = await RedisServer.start();
try {
  const client = new Redis(server.url);
  const redisQueue = new RedisQueue({ redis: server.url, maxConcurrency: ADMISSIONS + 1, intervalMs: 5_250, remaining: 1_000_000, total: 1_000_000 });
  // A new Redis cannot vouch for the last window: the first admission waits one. Taken before timing.
  await redisQueue.enqueue(ADMISSIONS); // its own bucket, not one of those measured
  const before = await commandCounts(client);
  const redis = await latencies(redisQueue);
  const after = await commandCounts(client);
  const memory = await latencies(new InMemoryQueue(ADMISSIONS, 1_000_000, 86_400_000, 1_000_000));
  const perIdentify = [...after]
    .map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / ADMISSIONS] as const)
    .filter(([name, calls]) => calls > 0 && name !== 'info');
  const row = (name: string, sorted: number[]): string => `| ${name} | ${percentile(sorted, 50).toFixed(3)} | ${percentile(sorted, 99).toFixed(3)} | ${sorted.at(-1)?.toFixed(3)} |`;
  process.stdout.write(
    [
      `${ADMISSIONS} admissions, each in an idle bucket, one after another; redis-server ${(await client.info('server')).match(/redis_version:(\S+)/)?.[1]} on loopback`,
      '',
      '| queue | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|',
      row('RedisQueue', redis),
      row('InMemoryQueue', memory),
      '',
      `Redis commands per identify: ${perIdentify.map(([name, calls]) => `${name} ${calls.toFixed(2)}`).join(', ')}`,
      '',
    ].join('\n'),
  );
  await redisQueue.close();
  await client.quit();
} finally {
  await server.stop();
}
