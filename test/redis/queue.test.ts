// RedisQueue against a real redis-server: buckets keep their window across queues (each its
// own connection, as separate processes are), FIFO inside a bucket, one shared daily budget,
// aborts spend nothing, a SIGKILLed waiter does not hold its bucket, and a Redis restart is
// waited out without a double admission.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRecommended } from '../../src/fleet/create.js';
import { RedisQueue } from '../../src/redis/index.js';
import { startGateway } from '../support/gateway.js';
import type { RedisQueueOptions } from '../../src/redis/index.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { redisPerFile } from '../support/redis.js';
import { until } from '../support/until.js';

const redis = redisPerFile();
const startFake = startGateway({ identifyInterval: 0 });
const INTERVAL = 400;
/** Local clocks see an admission a round trip after Redis made it; spacing is checked within this. */
const SLACK = 40;
let prefixes = 0;
const open: RedisQueue[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((queue) => queue.close()));
});

/** `count` queues sharing one fresh prefix, each on its own connection. */
function queues(count: number, options: Partial<RedisQueueOptions> = {}): RedisQueue[] {
  const prefix = `test${++prefixes}:`;
  const made = Array.from({ length: count }, () => new RedisQueue({ redis: redis.current.url, maxConcurrency: 2, intervalMs: INTERVAL, prefix, ...options }));
  open.push(...made);
  return made;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisQueue', () => {
  it('spaces each bucket by the window across queues, runs buckets in parallel, and is FIFO inside a bucket', async () => {
    const [a, b, c] = queues(3);
    const admitted: { shard: number; at: number }[] = [];
    const waits: Promise<void>[] = [];
    for (let shard = 0; shard < 8; shard++) {
      const queue = [a, b, c][shard % 3] as RedisQueue;
      waits.push(queue.enqueue(shard).then(() => void admitted.push({ shard, at: performance.now() })));
      await sleep(15); // tickets are taken in this order
    }
    await Promise.all(waits);
    for (const bucket of [0, 1]) {
      const inBucket = admitted.filter(({ shard }) => shard % 2 === bucket);
      expect(inBucket.map(({ shard }) => shard)).toEqual([0, 2, 4, 6].map((shard) => shard + bucket));
      for (let i = 1; i < inBucket.length; i++) expect(inBucket[i]!.at - inBucket[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL - SLACK);
    }
    const first = (bucket: number): number => admitted.find(({ shard }) => shard % 2 === bucket)!.at;
    expect(Math.abs(first(0) - first(1))).toBeLessThan(INTERVAL / 2);
    expect(await a!.budget()).toMatchObject({ remaining: 1000 - 8, total: 1000 });
  });

  it('an aborted wait takes its ticket back and spends nothing', async () => {
    const [a, b] = queues(2);
    await a!.enqueue(0);
    const abort = new AbortController();
    const aborted = b!.enqueue(2, abort.signal);
    await sleep(50);
    const next = a!.enqueue(4);
    abort.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    const started = performance.now();
    await next;
    // Not behind the aborted ticket's 3 s lease: a waiter behind the head looks again each second.
    expect(performance.now() - started).toBeLessThan(INTERVAL + 1_000 + 200);
    expect((await a!.budget())?.remaining).toBe(998);
  });

  it('shares the daily budget: once spent, waiters wait for the reset', async () => {
    const [a, b] = queues(2, { maxConcurrency: 4, remaining: 2, total: 5, resetAfter: 1_500 });
    const started = performance.now();
    await Promise.all([a!.enqueue(0), b!.enqueue(1)]);
    expect(performance.now() - started).toBeLessThan(INTERVAL + 500); // the cold-start window, then both at once
    await b!.enqueue(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_500 - SLACK);
    expect(await a!.budget()).toMatchObject({ remaining: 4, total: 5 });
  });

  it('a waiter SIGKILLed at the head of its bucket holds it no longer than its lease', async () => {
    const [a] = queues(1);
    const prefix = `test${prefixes}:`;
    await a!.enqueue(0); // the window of bucket 0 starts
    const script = `
      import { RedisQueue } from 'gloaming/redis';
      const queue = new RedisQueue({ redis: ${JSON.stringify(redis.current.url)}, maxConcurrency: 2, intervalMs: 60000, prefix: ${JSON.stringify(prefix)} });
      setTimeout(() => console.log('waiting'), 300);
      await queue.enqueue(2);
      console.log('admitted');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await until(() => output.includes('waiting'));
    const behind = a!.enqueue(4);
    await sleep(100);
    const killed = performance.now();
    process.kill(child.pid as number, 'SIGKILL');
    await behind;
    expect(performance.now() - killed).toBeLessThan(3_000 + 1_000 + 200); // its lease, and one renewal's wait
    expect(output).not.toContain('admitted');
    expect((await a!.budget())?.remaining).toBe(998);
  });

  it('waits out a Redis restart without a crash or a double admission, and the restarted Redis waits one window', async () => {
    const logger = new MemoryLogger();
    const [a, b] = queues(2, { logger });
    await a!.enqueue(0);
    await redis.current.kill();
    const admitted: number[] = [];
    const waits = [a!.enqueue(2), b!.enqueue(1), b!.enqueue(3)].map((wait, i) => wait.then(() => void admitted.push([2, 1, 3][i] as number)));
    await until(() => logger.find('identify queue: Redis unreachable, retrying').length >= 3);
    expect(admitted).toEqual([]);
    await redis.current.restart();
    const restarted = performance.now();
    await Promise.all(waits);
    expect(admitted.sort()).toEqual([1, 2, 3]);
    expect(performance.now() - restarted).toBeGreaterThanOrEqual(INTERVAL - SLACK); // the new Redis could not vouch for the last window
    expect((await a!.budget())?.remaining).toBe(1000 - 3); // the restarted Redis lost the first admission: a new budget
    expect(logger.find('identify queue: Redis reachable again').length).toBeGreaterThan(0);
  }, 30_000);

  it("buckets by the max_concurrency in Redis: a queue given an older one, and a waiting ticket, follow another's update()", async () => {
    const [a, b] = queues(2, { maxConcurrency: 2, intervalMs: 3_000 });
    const client = new Redis(redis.current.url);
    await client.set(`test${prefixes}:epoch`, 0); // a warm queue: no cold-start window
    await a!.enqueue(0);
    const waiting = a!.enqueue(2); // bucket 0 of 2: a window away
    await sleep(200);
    const updated = performance.now();
    await b!.update(4, 900, 86_400_000, 1000);
    await waiting; // now bucket 2 of 4, which admitted nothing yet
    expect(performance.now() - updated).toBeLessThan(1_000 + 500);
    expect(a!.maxConcurrency).toBe(4);
    const [late] = queues(1, { maxConcurrency: 1, prefix: `test${prefixes}:` });
    await late!.enqueue(3);
    expect(late!.maxConcurrency).toBe(4);
    await client.quit();
  });

  it('update() keeps identifies admitted since Discord was asked spent on the same day, and replaces the budget of another', async () => {
    const [a] = queues(1);
    await a!.enqueue(0);
    await a!.enqueue(1);
    const { resetAt } = (await a!.budget())!;
    await a!.update(2, 1000, resetAt - Date.now(), 1000); // Discord answered before the two identifies
    expect((await a!.budget())?.remaining).toBe(998);
    await a!.update(2, 700, 3_600_000, 1000); // a budget that resets at another time: a new day's
    expect(await a!.budget()).toMatchObject({ remaining: 700, maxConcurrency: 2 });
  });

  it('createRecommended sizes a RedisQueue from /gateway/bot: its concurrency here, the budget for every process', async () => {
    const g = await startFake({ shards: 6, maxConcurrency: 3 });
    const [queue] = queues(1, { maxConcurrency: 1 });
    const shards = await createRecommended({ token: 'test-token', intents: 513, restUrl: g.restUrl, allowInsecureUrls: true, queue: queue! });
    const answer = (await (await fetch(`${g.restUrl}/gateway/bot`, { headers: { authorization: 'Bot test-token' } })).json()) as { session_start_limit: { remaining: number; total: number } };
    expect(shards).toHaveLength(6);
    expect(queue!.maxConcurrency).toBe(3);
    expect(await queue!.budget()).toMatchObject({ remaining: answer.session_start_limit.remaining, total: answer.session_start_limit.total });
  });
});
