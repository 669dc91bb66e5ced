/**
 * The in-process identify queue: admits IDENTIFYs within one process, one per bucket
 * (`shard_id % max_concurrency`) per interval, buckets in parallel, first come first served
 * inside a bucket, and no more than the daily `session_start_limit` budget allows.
 */
import { IDENTIFY_INTERVAL_MS, IDENTIFY_MARGIN_MS } from './queue.js';
import type { Queue } from './queue.js';

/** Discord's session start window: once the budget refills, the next refill is a day later. */
const DAY_MS = 86_400_000;
/** setTimeout's longest delay; a longer wait re-arms when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Waiter {
  readonly shardId: number;
  /** Arrival order across all buckets. */
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

interface Bucket {
  readonly waiters: Waiter[];
  /** When the bucket may admit its next shard (`performance.now()` time). */
  nextAt: number;
}

/** Throws a RangeError naming the first bad `session_start_limit` number. */
function validateLimits(where: string, maxConcurrency: number, remaining: number, resetAfter: number, total: number): void {
  const integer = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new RangeError(`${where} ${name} must be an integer of at least ${String(min)}, got ${String(value)}`);
    }
  };
  integer('maxConcurrency', maxConcurrency, 0);
  integer('remaining', remaining, 0);
  if (!Number.isFinite(resetAfter) || resetAfter < 0) {
    throw new RangeError(`${where} resetAfter must be a non-negative number of milliseconds, got ${String(resetAfter)}`);
  }
  integer('total', total, 1);
  if (remaining > total) throw new RangeError(`${where} remaining (${String(remaining)}) must not exceed total (${String(total)})`);
}

/**
 * Admits identifies within one process, keeping to the numbers of Discord's
 * `GET /gateway/bot` `session_start_limit`: one identify per bucket (`shard_id %
 * maxConcurrency`) per interval, buckets in parallel, FIFO inside a bucket, and each
 * admission spends one of the daily `remaining`. When the budget is spent, waiting shards
 * are held until it refills to `total` (`resetAfter` ms after construction or
 * {@link InMemoryQueue.update}, then every 24 h). A timer runs only while shards wait.
 *
 * @example
 * const { max_concurrency, remaining, reset_after, total } = gatewayBot.session_start_limit;
 * const queue = new InMemoryQueue(max_concurrency, remaining, reset_after, total);
 * await queue.enqueue(17); // bucket 17 % max_concurrency: waits its turn
 */
export class InMemoryQueue implements Queue {
  #buckets = new Map<number, Bucket>();
  readonly #interval: number;
  #maxConcurrency: number;
  #remaining: number;
  #total: number;
  /** When the budget next refills to `#total` (`performance.now()` time). */
  #resetAt: number;
  #seq = 0;
  /** No bucket created from now on admits before this (set when `update` changes the concurrency). */
  #floor = 0;
  #timer: NodeJS.Timeout | null = null;

  /**
   * @param maxConcurrency - `max_concurrency` (identifies per interval, one per bucket); 0 admits at once and spends nothing (for shards behind a proxy).
   * @param remaining - `remaining`: identifies left in today's budget.
   * @param resetAfter - `reset_after`: ms until the budget refills to `total`.
   * @param total - `total`: the daily budget.
   * @param options - `intervalMs`: spacing per bucket, default {@link IDENTIFY_INTERVAL_MS} plus {@link IDENTIFY_MARGIN_MS} (5250; shorter only for tests against a simulator).
   * @throws RangeError naming the argument: a negative or fractional count, a negative or non-finite duration, `total` below 1, or `remaining` above `total`.
   *
   * @example
   * new InMemoryQueue(16, 987, 3_600_000, 1000);               // numbers from /gateway/bot
   * new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 0 }); // a simulator without spacing
   */
  constructor(maxConcurrency = 1, remaining = 1000, resetAfter = DAY_MS, total = 1000, options: { intervalMs?: number } = {}) {
    validateLimits('InMemoryQueue', maxConcurrency, remaining, resetAfter, total);
    const intervalMs = options.intervalMs ?? IDENTIFY_INTERVAL_MS + IDENTIFY_MARGIN_MS;
    if (!Number.isFinite(intervalMs) || intervalMs < 0) {
      throw new RangeError(`InMemoryQueue intervalMs must be a non-negative number of milliseconds, got ${String(intervalMs)}`);
    }
    this.#interval = intervalMs;
    this.#maxConcurrency = maxConcurrency;
    this.#remaining = remaining;
    this.#total = total;
    this.#resetAt = performance.now() + resetAfter;
  }

  /**
   * The `max_concurrency` this queue buckets by.
   *
   * @example
   * new InMemoryQueue(16).maxConcurrency; // 16
   */
  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }

  /**
   * Identifies left before the budget refills (`total` again once {@link resetIn} has passed).
   *
   * @example
   * const queue = new InMemoryQueue(1, 5);
   * await queue.enqueue(0);
   * queue.remaining; // 4
   */
  get remaining(): number {
    this.#refill(performance.now());
    return this.#remaining;
  }

  /**
   * Milliseconds until the budget next refills to `total`.
   *
   * @example
   * new InMemoryQueue(1, 0, 60_000, 1000).resetIn; // 60000: shards wait a minute
   */
  get resetIn(): number {
    const now = performance.now();
    this.#refill(now);
    return Math.max(0, this.#resetAt - now);
  }

  /**
   * Resolves when shard `shardId` may identify, spending one of the budget (none when
   * `maxConcurrency` is 0). When `signal` aborts first, including while the budget is
   * spent, rejects with its reason and spends nothing.
   *
   * @throws RangeError (as a rejection) for a negative or fractional `shardId`.
   * @example
   * await queue.enqueue(3, AbortSignal.timeout(60_000));
   */
  enqueue(shardId: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isSafeInteger(shardId) || shardId < 0) {
      return Promise.reject(new RangeError(`shard id must be a non-negative integer, got ${String(shardId)}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.#maxConcurrency === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        shardId,
        seq: this.#seq++,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const waiters = this.#buckets.get(shardId % this.#maxConcurrency)?.waiters;
          const index = waiters?.indexOf(waiter) ?? -1;
          if (index < 0) return; // already admitted
          waiters?.splice(index, 1);
          reject(signal?.reason as Error);
          this.#pump();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#bucket(shardId).waiters.push(waiter);
      this.#pump();
    });
  }

  /**
   * Applies fresh `session_start_limit` numbers while running: the budget becomes
   * `remaining` of `total`, refilling in `resetAfter` ms, and the shards that wait are
   * re-bucketed by `shard_id % maxConcurrency`, keeping their order of arrival. When the
   * concurrency changes, no new bucket admits before the latest turn of the old buckets, so
   * the change never lets a burst through; 0 admits every waiting shard at once.
   *
   * @throws RangeError naming the argument, as the constructor does; the queue is then unchanged.
   * @example
   * const { max_concurrency, remaining, reset_after, total } = (await fetchGatewayBot()).session_start_limit;
   * queue.update(max_concurrency, remaining, reset_after, total);
   */
  update(maxConcurrency: number, remaining: number, resetAfter: number, total: number): void {
    validateLimits('InMemoryQueue.update', maxConcurrency, remaining, resetAfter, total);
    const now = performance.now();
    this.#remaining = remaining;
    this.#total = total;
    this.#resetAt = now + resetAfter;
    if (maxConcurrency !== this.#maxConcurrency) {
      const old = [...this.#buckets.values()];
      const waiters = old.flatMap((bucket) => bucket.waiters).sort((a, b) => a.seq - b.seq);
      this.#floor = old.reduce((latest, bucket) => Math.max(latest, bucket.nextAt), this.#floor);
      this.#maxConcurrency = maxConcurrency;
      this.#buckets = new Map();
      if (maxConcurrency === 0) {
        for (const waiter of waiters) {
          waiter.signal?.removeEventListener('abort', waiter.onAbort);
          waiter.resolve();
        }
      } else {
        for (const waiter of waiters) this.#bucket(waiter.shardId).waiters.push(waiter);
      }
    }
    this.#pump();
  }

  /** The bucket of `shardId`, created if new. */
  #bucket(shardId: number): Bucket {
    const key = shardId % this.#maxConcurrency;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { waiters: [], nextAt: this.#floor };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Refills the budget once its reset time has passed; the next reset is a whole number of days on. */
  #refill(now: number): void {
    if (now < this.#resetAt) return;
    this.#remaining = this.#total;
    this.#resetAt += DAY_MS * (Math.floor((now - this.#resetAt) / DAY_MS) + 1);
  }

  /**
   * Admits every shard whose turn has come while the budget lasts (earliest arrival first
   * across buckets), then sleeps until the next turn or the refill. No timer when nothing waits.
   */
  #pump(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const now = performance.now();
    this.#refill(now);
    for (;;) {
      let due: Bucket | undefined;
      let dueSeq = Infinity;
      let nextTurn = Infinity;
      for (const bucket of this.#buckets.values()) {
        const head = bucket.waiters[0];
        if (head === undefined) continue;
        if (bucket.nextAt > now) nextTurn = Math.min(nextTurn, bucket.nextAt);
        else if (head.seq < dueSeq) {
          due = bucket;
          dueSeq = head.seq;
        }
      }
      if (due === undefined && nextTurn === Infinity) return; // nothing waits
      const wakeAt = this.#remaining === 0 ? this.#resetAt : due === undefined ? nextTurn : null;
      if (wakeAt !== null) {
        this.#timer = setTimeout(
          () => {
            this.#timer = null;
            this.#pump();
          },
          Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(wakeAt - now))),
        );
        return;
      }
      const head = due?.waiters.shift();
      if (due === undefined || head === undefined) return;
      head.signal?.removeEventListener('abort', head.onAbort);
      due.nextAt = now + this.#interval;
      this.#remaining -= 1;
      head.resolve();
    }
  }
}
