/**
 * How long a shard waits before reconnect attempt N: the first at once, then exponential
 * backoff with jitter, capped — so a fleet that lost the network does not reconnect in
 * lockstep or hammer the gateway.
 */

/** Backoff settings, as in the shard config. */
export interface BackoffOptions {
  /** Delay before the second attempt, in ms. */
  readonly initial: number;
  /** The cap, in ms. */
  readonly max: number;
  /** Spread each delay over [delay/2, delay) so shards that failed together retry apart. */
  readonly jitter: boolean;
}

/**
 * The delay before reconnect attempt `attempt` (1-based).
 *
 * @example
 * backoffDelay(1, { initial: 1000, max: 60_000, jitter: false }); // 0
 * backoffDelay(3, { initial: 1000, max: 60_000, jitter: false }); // 2000
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const delay = Math.min(options.max, options.initial * 2 ** (attempt - 2));
  return options.jitter ? delay * (0.5 + random() / 2) : delay;
}
