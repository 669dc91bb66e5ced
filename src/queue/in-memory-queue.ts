/**
 * The in-process identify queue: one identify per bucket (`shard_id % max_concurrency`)
 * per interval, buckets in parallel, first come first served inside a bucket.
 */
import { IDENTIFY_INTERVAL_MS } from './queue.js';
import type { Queue } from './queue.js';

interface Waiter {
  readonly shardId: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

interface Bucket {
  readonly waiters: Waiter[];
  /** When the bucket may admit its next shard (`performance.now()` time). */
  nextAt: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Admits identifies within one process.
 *
 * @example
 * const queue = new InMemoryQueue(16);          // max_concurrency from /gateway/bot
 * await queue.enqueue(17);                       // bucket 1: waits its turn
 */
export class InMemoryQueue implements Queue {
  readonly #buckets = new Map<number, Bucket>();
  readonly #interval: number;
  #maxConcurrency: number;

  /**
   * @param maxConcurrency - Discord's `max_concurrency` (identifies per interval); 0 admits at once (for shards behind a proxy).
   * @param intervalMs - spacing per bucket; Discord's is 5000 ms (shorter only for tests against a simulator).
   * @throws RangeError for a negative or fractional argument.
   */
  constructor(maxConcurrency = 1, intervalMs = IDENTIFY_INTERVAL_MS) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 0) {
      throw new RangeError(`InMemoryQueue maxConcurrency must be a non-negative integer, got ${String(maxConcurrency)}`);
    }
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`InMemoryQueue intervalMs must be non-negative, got ${String(intervalMs)}`);
    this.#maxConcurrency = maxConcurrency;
    this.#interval = intervalMs;
  }

  /** The `max_concurrency` this queue buckets by. */
  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }

  enqueue(shardId: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(shardId) || shardId < 0) return Promise.reject(new RangeError(`shard id must be a non-negative integer, got ${String(shardId)}`));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.#maxConcurrency === 0) return Promise.resolve();
    const key = shardId % this.#maxConcurrency;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { waiters: [], nextAt: 0, timer: null };
      this.#buckets.set(key, bucket);
    }
    const target = bucket;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        shardId,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = target.waiters.indexOf(waiter);
          if (index >= 0) target.waiters.splice(index, 1);
          reject(signal?.reason as Error);
          this.#drain(target);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      target.waiters.push(waiter);
      this.#drain(target);
    });
  }

  /** Admits the bucket's head if its turn has come, else sleeps until it has. */
  #drain(bucket: Bucket): void {
    if (bucket.timer !== null) {
      clearTimeout(bucket.timer);
      bucket.timer = null;
    }
    const head = bucket.waiters[0];
    if (head === undefined) return;
    const now = performance.now();
    if (now < bucket.nextAt) {
      bucket.timer = setTimeout(() => this.#drain(bucket), bucket.nextAt - now);
      return;
    }
    bucket.waiters.shift();
    head.signal?.removeEventListener('abort', head.onAbort);
    bucket.nextAt = now + this.#interval;
    head.resolve();
    if (bucket.waiters.length > 0) this.#drain(bucket);
  }
}
