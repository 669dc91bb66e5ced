// The identify queue from the shard's side: IDENTIFY waits for its turn, and a queue that
// rejects is an error item and a reconnect with growing backoff.
import { describe, expect, it } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('the identify queue', () => {
  it('waits for the identify queue before IDENTIFY', async () => {
    const g = await start();
    const queue = new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 400 });
    await queue.enqueue(0); // the bucket's turn is taken for the next 400 ms
    const started = performance.now();
    const { shard, reader } = open(g, { queue });
    await reader.until(() => shard.state.kind === 'Active');
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(g.log.ofType('identify-rejected')).toHaveLength(0);
  });

  it('a rejection (not an abort) is an error item and a reconnect with growing backoff, never a stuck shard', async () => {
    const g = await start();
    let rejections = 3;
    const queue = { enqueue: () => (rejections-- > 0 ? Promise.reject(new Error('store unreachable')) : Promise.resolve()) };
    const { shard, reader } = open(g, { queue, backoff: { initial: 100, max: 1_000, jitter: false } });
    await reader.until(() => shard.state.kind === 'Active', 5_000);
    const errors = reader.events.flatMap((event) => (event.op === 'error' ? [event.d] : []));
    expect(errors.map((error) => [error.kind, error.code, error.reconnecting, error.message])).toEqual(
      Array.from({ length: 3 }, () => ['Queue', 'QUEUE_FAILED', true, 'the identify queue failed (store unreachable): reconnecting after a backoff']),
    );
    const connects = g.log.ofType('connect').map((entry) => entry.time);
    expect(connects).toHaveLength(4);
    expect(connects[2]! - connects[1]!).toBeGreaterThanOrEqual(200 - 10);
    expect(connects[3]! - connects[2]!).toBeGreaterThanOrEqual(400 - 10);
    expect(g.log.ofType('identify')).toHaveLength(1);
  });
});
