// The in-process identify queue: buckets, spacing, FIFO and cancellation, on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Enqueues every shard and records when (in fake ms) each was admitted. */
function admissions(queue: InMemoryQueue, shards: number[]): Map<number, number> {
  const start = performance.now();
  const admitted = new Map<number, number>();
  for (const shard of shards) void queue.enqueue(shard).then(() => admitted.set(shard, performance.now() - start));
  return admitted;
}

describe('InMemoryQueue', () => {
  it('admits one shard per bucket per interval, buckets in parallel, FIFO inside a bucket', async () => {
    const queue = new InMemoryQueue(2, 5_000);
    const admitted = admissions(queue, [0, 1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(15_000);
    expect([...admitted.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 0],
      [1, 0],
      [2, 5_000],
      [3, 5_000],
      [4, 10_000],
      [5, 10_000],
    ]);
  });

  it('an aborted wait spends nothing and lets the next shard in at its time', async () => {
    const queue = new InMemoryQueue(1, 5_000);
    await queue.enqueue(0);
    const controller = new AbortController();
    const cancelled = queue.enqueue(1, controller.signal);
    const admitted = admissions(queue, [2]);
    controller.abort(new Error('shard closed'));
    await expect(cancelled).rejects.toThrow('shard closed');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(admitted.get(2)).toBe(5_000);
  });

  it('with max_concurrency 0 admits at once', async () => {
    const queue = new InMemoryQueue(0);
    const admitted = admissions(queue, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    expect([...admitted.values()]).toEqual([0, 0, 0]);
  });

  it('rejects bad arguments', async () => {
    expect(() => new InMemoryQueue(-1)).toThrow(/maxConcurrency/);
    await expect(new InMemoryQueue().enqueue(-1)).rejects.toThrow(/shard id/);
  });
});
