// The in-process identify queue: buckets, spacing, FIFO, the daily budget, update() and cancellation, on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';

const DAY = 86_400_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Enqueues every shard and records when (in fake ms since the call) each was admitted. */
function admissions(queue: InMemoryQueue, shards: number[], signal?: AbortSignal): Map<number, number> {
  const start = performance.now();
  const admitted = new Map<number, number>();
  for (const shard of shards) void queue.enqueue(shard, signal).then(() => admitted.set(shard, performance.now() - start));
  return admitted;
}

/** Admissions sorted by shard id. */
function sorted(admitted: Map<number, number>): [number, number][] {
  return [...admitted.entries()].sort((a, b) => a[0] - b[0]);
}

describe('InMemoryQueue', () => {
  it('admits one shard per bucket per interval, buckets in parallel, FIFO inside a bucket', async () => {
    const queue = new InMemoryQueue(2, 1000, DAY, 1000, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(sorted(admitted)).toEqual([
      [0, 0],
      [1, 0],
      [2, 5_000],
      [3, 5_000],
      [4, 10_000],
      [5, 10_000],
    ]);
  });

  it('admits 32 shards at max_concurrency 4 in 8 waves 5 s apart', async () => {
    const queue = new InMemoryQueue(4, 1000, DAY, 1000, { intervalMs: 5_000 });
    const shards = Array.from({ length: 32 }, (_, id) => id);
    const admitted = admissions(queue, shards);
    await vi.advanceTimersByTimeAsync(34_999);
    expect(admitted.size).toBe(28);
    await vi.advanceTimersByTimeAsync(1);
    expect(sorted(admitted)).toEqual(shards.map((id) => [id, Math.floor(id / 4) * 5_000]));
    expect(queue.remaining).toBe(1000 - 32);
    expect(vi.getTimerCount()).toBe(0); // idle: nothing keeps the process alive
  });

  it('counts the budget down, one per admission', async () => {
    const queue = new InMemoryQueue(1, 5, DAY, 10, { intervalMs: 0 });
    expect(queue.remaining).toBe(5);
    await queue.enqueue(0);
    expect(queue.remaining).toBe(4);
    await queue.enqueue(1);
    await queue.enqueue(2);
    expect(queue.remaining).toBe(2);
    expect(queue.maxConcurrency).toBe(1);
    expect(queue.resetIn).toBe(DAY);
  });

  it('stops at the daily budget and resumes after resetAfter with the budget refilled to total', async () => {
    const queue = new InMemoryQueue(2, 3, 60_000, 10, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(sorted(admitted)).toEqual([
      [0, 0],
      [1, 0],
      [2, 5_000],
    ]);
    expect(queue.remaining).toBe(0);
    expect(queue.resetIn).toBe(1);
    expect(vi.getTimerCount()).toBe(1); // one timer for the refill, no polling
    await vi.advanceTimersByTimeAsync(1);
    expect(admitted.get(3)).toBe(60_000);
    expect(admitted.get(4)).toBe(60_000);
    expect(admitted.has(5)).toBe(false); // bucket 1 keeps its spacing after the refill
    await vi.advanceTimersByTimeAsync(5_000);
    expect(admitted.get(5)).toBe(65_000);
    expect(queue.remaining).toBe(10 - 3);
    expect(queue.resetIn).toBe(DAY - 5_000); // the next window is a day after the refill
    expect(vi.getTimerCount()).toBe(0);
  });

  it('update() re-buckets waiting shards in arrival order: concurrency 1 -> 4 goes 4 at a time', async () => {
    const queue = new InMemoryQueue(1, 1000, DAY, 1000, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await vi.advanceTimersByTimeAsync(1_000);
    queue.update(4, 900, DAY, 1000);
    expect(queue.maxConcurrency).toBe(4);
    expect(queue.remaining).toBe(900);
    await vi.advanceTimersByTimeAsync(10_000);
    // No new bucket admits before the old bucket's next turn (5 s), so the change is no burst.
    expect(sorted(admitted)).toEqual([
      [0, 0],
      [1, 5_000],
      [2, 5_000],
      [3, 5_000],
      [4, 5_000],
      [5, 10_000],
      [6, 10_000],
      [7, 10_000],
      [8, 10_000],
    ]);
    expect(queue.remaining).toBe(892);
  });

  it('update() keeps arrival order when buckets merge (4 -> 1)', async () => {
    const queue = new InMemoryQueue(4, 1000, DAY, 1000, { intervalMs: 5_000 });
    const order: number[] = [];
    for (const shard of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) void queue.enqueue(shard).then(() => order.push(shard));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual([0, 1, 2, 3]);
    queue.update(1, 1000, DAY, 1000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('update() applies a new budget to the shards that wait', async () => {
    const queue = new InMemoryQueue(1, 1000, DAY, 1000, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    queue.update(1, 0, 30_000, 1000);
    expect(queue.resetIn).toBe(30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(sorted(admitted)).toEqual([[0, 0]]);
    await vi.advanceTimersByTimeAsync(5_001);
    expect(sorted(admitted)).toEqual([
      [0, 0],
      [1, 30_000],
      [2, 35_000],
    ]);
    expect(queue.remaining).toBe(998);
  });

  it('with max_concurrency 0 admits at once and spends nothing', async () => {
    const queue = new InMemoryQueue(0, 0, DAY, 1000, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    expect([...admitted.values()]).toEqual([0, 0, 0]);
    expect(queue.remaining).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('update() to max_concurrency 0 admits every waiting shard at once', async () => {
    const queue = new InMemoryQueue(1, 1000, DAY, 1000, { intervalMs: 5_000 });
    const admitted = admissions(queue, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    queue.update(0, 500, DAY, 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(sorted(admitted)).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(queue.remaining).toBe(500);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an aborted wait spends nothing and lets the next shard in at its time', async () => {
    const queue = new InMemoryQueue(1, 1000, DAY, 1000, { intervalMs: 5_000 });
    await queue.enqueue(0);
    const controller = new AbortController();
    const cancelled = queue.enqueue(1, controller.signal);
    const admitted = admissions(queue, [2]);
    controller.abort(new Error('shard closed'));
    await expect(cancelled).rejects.toThrow('shard closed');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(admitted.get(2)).toBe(5_000);
    expect(queue.remaining).toBe(998);
  });

  it('an abort during the daily wait spends nothing', async () => {
    const queue = new InMemoryQueue(1, 1, 60_000, 5, { intervalMs: 5_000 });
    await queue.enqueue(0);
    const controller = new AbortController();
    const cancelled = queue.enqueue(1, controller.signal);
    await vi.advanceTimersByTimeAsync(10_000);
    controller.abort(new Error('shard closed'));
    await expect(cancelled).rejects.toThrow('shard closed');
    expect(vi.getTimerCount()).toBe(0); // nothing waits: no timer
    const admitted = admissions(queue, [2]);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(admitted.get(2)).toBe(50_000);
    expect(queue.remaining).toBe(4);
  });

  it('rejects an already aborted signal at once', async () => {
    const queue = new InMemoryQueue(1, 1000, DAY, 1000, { intervalMs: 5_000 });
    await expect(queue.enqueue(0, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(queue.remaining).toBe(1000);
  });

  it('rejects bad arguments, naming them', async () => {
    expect(() => new InMemoryQueue(-1, 1000, DAY, 1000, { intervalMs: 5_000 })).toThrow(/maxConcurrency/);
    expect(() => new InMemoryQueue(1.5, 1000, DAY, 1000, { intervalMs: 5_000 })).toThrow(/maxConcurrency/);
    expect(() => new InMemoryQueue(1, -1, DAY, 1000, { intervalMs: 5_000 })).toThrow(/remaining/);
    expect(() => new InMemoryQueue(1, 0.5, DAY, 1000, { intervalMs: 5_000 })).toThrow(/remaining/);
    expect(() => new InMemoryQueue(1, 1001, DAY, 1000, { intervalMs: 5_000 })).toThrow(/remaining \(1001\) must not exceed total \(1000\)/);
    expect(() => new InMemoryQueue(1, 10, -1, 1000, { intervalMs: 5_000 })).toThrow(/resetAfter/);
    expect(() => new InMemoryQueue(1, 10, Number.NaN, 1000, { intervalMs: 5_000 })).toThrow(/resetAfter/);
    expect(() => new InMemoryQueue(1, 0, DAY, 0, { intervalMs: 5_000 })).toThrow(/total/);
    expect(() => new InMemoryQueue(1, 10, DAY, 1000, { intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => new InMemoryQueue(1, 10, DAY, 1000, { intervalMs: Infinity })).toThrow(/intervalMs/);
    const queue = new InMemoryQueue(2, 10, DAY, 20, { intervalMs: 5_000 });
    expect(() => queue.update(-1, 10, DAY, 20)).toThrow(/update maxConcurrency/);
    expect(() => queue.update(2, 30, DAY, 20)).toThrow(/update remaining/);
    expect(() => queue.update(2, 10, -5, 20)).toThrow(/update resetAfter/);
    expect(() => queue.update(2, 10, DAY, 2.5)).toThrow(/update total/);
    expect([queue.maxConcurrency, queue.remaining, queue.resetIn]).toEqual([2, 10, DAY]); // unchanged
    await expect(queue.enqueue(-1)).rejects.toThrow(/shard id/);
    await expect(queue.enqueue(1.5)).rejects.toThrow(/shard id/);
  });

  it('spaces a bucket by Discord\'s 5 s window plus a safety margin by default', async () => {
    const queue = new InMemoryQueue(1);
    const admitted = admissions(queue, [0, 1]);
    await vi.advanceTimersByTimeAsync(5_249);
    expect(admitted.has(1)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(admitted.get(1)).toBe(5_250);
  });
});
