/**
 * The server side of identify admission: one IDENTIFY per bucket (`shard_id %
 * max_concurrency`) per interval, and the daily `session_start_limit` budget.
 */

/** What `/gateway/bot` reports as `session_start_limit`. */
export interface SessionStartLimit {
  /** IDENTIFYs allowed per reset period. */
  total: number;
  /** IDENTIFYs left until the budget refills. */
  remaining: number;
  /** How long until `remaining` is back to `total`, in ms. */
  reset_after: number;
  /** Identify buckets: one IDENTIFY per `shard_id % max_concurrency` bucket per interval. */
  max_concurrency: number;
}

/** The verdict on one IDENTIFY. */
export type IdentifyVerdict = 'accepted' | 'concurrency' | 'daily-limit';

/**
 * Tracks identifies as Discord does. Rejected identifies spend nothing.
 *
 * @example
 * const limits = new IdentifyLimits({ maxConcurrency: 2, total: 1000, resetAfter: 86_400_000, interval: 5000 });
 * limits.admit(0); // 'accepted'
 * limits.admit(2); // 'concurrency': bucket 0 identified less than 5 s ago
 */
export class IdentifyLimits {
  /** How many identify buckets (`shardId % maxConcurrency`) admit an IDENTIFY each per interval. */
  readonly maxConcurrency: number;
  readonly #total: number;
  readonly #resetAfter: number;
  readonly #interval: number;
  readonly #lastInBucket = new Map<number, number>();
  #remaining: number;
  #resetAt: number;

  constructor(options: { maxConcurrency: number; total: number; resetAfter: number; interval: number }) {
    this.maxConcurrency = options.maxConcurrency;
    this.#total = options.total;
    this.#remaining = options.total;
    this.#resetAfter = options.resetAfter;
    this.#interval = options.interval;
    this.#resetAt = Date.now() + options.resetAfter;
  }

  /** Decides on an IDENTIFY from `shardId` now, spending budget only when accepted. */
  admit(shardId: number, now = Date.now()): IdentifyVerdict {
    this.#refill(now);
    if (this.#remaining <= 0) return 'daily-limit';
    const bucket = shardId % this.maxConcurrency;
    const last = this.#lastInBucket.get(bucket);
    if (last !== undefined && now - last < this.#interval) return 'concurrency';
    this.#lastInBucket.set(bucket, now);
    this.#remaining -= 1;
    return 'accepted';
  }

  /** The `session_start_limit` object as `/gateway/bot` returns it. */
  sessionStartLimit(now = Date.now()): SessionStartLimit {
    this.#refill(now);
    return {
      total: this.#total,
      remaining: this.#remaining,
      reset_after: Math.max(0, this.#resetAt - now),
      max_concurrency: this.maxConcurrency,
    };
  }

  #refill(now: number): void {
    if (now < this.#resetAt) return;
    this.#remaining = this.#total;
    this.#resetAt = now + this.#resetAfter;
  }
}
