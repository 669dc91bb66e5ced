/**
 * Whether every shard of a target is serving: Active, or back within a grace period after a
 * drop. What `/healthz` answers.
 */
import type { ShardState } from '../shard/shard.js';
import { WorkerFleet } from '../workers/worker-fleet.js';
import { localShards } from './snapshot.js';
import type { MetricsTarget } from './snapshot.js';

/**
 * How long a shard may be away from Active after it was Active (reconnecting, resuming)
 * before it counts as down: a resume takes well under a second, and the first four
 * reconnect attempts (at 0, 1, 2 and 4 s of backoff) fit in 15 s.
 */
export const DEFAULT_HEALTH_GRACE_MS = 15_000;

/** A shard that is not serving, and why. */
export interface UnhealthyShard {
  /** The shard's number. */
  readonly shard: number;
  /** Its state's kind now. */
  readonly state: ShardState['kind'];
  /** What is wrong, in words. */
  readonly reason: string;
  /** Since when (ms since the epoch) it has not been Active, as far as the checker has seen. */
  readonly since: number;
}

/** The answer of a health check. */
export interface Health {
  /** Every shard Active, or away for less than the grace period. */
  readonly healthy: boolean;
  /** How many shards were checked. */
  readonly shards: number;
  /** The shards that are not serving, and why. */
  readonly unhealthy: readonly UnhealthyShard[];
}

/** Samples the states four times a second: how long a shard has been away is known to a quarter second, even between requests. */
const SAMPLE_MS = 250;

function reasonFor(state: ShardState, wasActive: boolean): string {
  switch (state.kind) {
    case 'FatallyClosed':
      return `ended for good${state.code === 0 ? '' : ` (close ${state.code})`}`;
    case 'Identifying':
      return wasActive ? 'lost its session and is identifying again' : 'has not been ready yet (identifying)';
    case 'Disconnected':
      return wasActive ? `reconnecting (attempt ${state.attempts})` : 'has not connected yet';
    case 'Resuming':
      return 'resuming';
    case 'Active':
      return 'active';
  }
}

/**
 * Tells whether a target's shards are serving. A shard is healthy when Active, or when it was
 * Active and has been away (Disconnected, Resuming or Identifying again) for less than
 * `graceMs`; a shard that has never been Active, or ended for good, is not.
 *
 * @throws RangeError for a negative `graceMs`.
 * @example
 * const checker = new HealthChecker(fleet);
 * const health = checker.check();
 * if (!health.healthy) console.warn(health.unhealthy);
 * checker.stop();
 */
export class HealthChecker {
  readonly #states: () => readonly (readonly [number, ShardState])[];
  readonly #graceMs: number;
  /** Per shard: when it was first seen away from Active (null while Active), and whether it was ever Active. */
  readonly #seen = new Map<number, { awaySince: number | null; wasActive: boolean }>();
  readonly #timer: NodeJS.Timeout;

  /**
   * Starts sampling `target`'s states (four times a second, on an unref'd timer).
   *
   * @throws RangeError for a negative `graceMs`.
   */
  constructor(target: MetricsTarget, options: { readonly graceMs?: number } = {}) {
    this.#graceMs = options.graceMs ?? DEFAULT_HEALTH_GRACE_MS;
    if (!(this.#graceMs >= 0)) throw new RangeError(`graceMs must be a number of milliseconds >= 0, got ${String(options.graceMs)}`);
    this.#states =
      target instanceof WorkerFleet
        ? () => [...target.shards.values()].map((handle) => [handle.id.number, handle.state] as const)
        : () => localShards(target).map((shard) => [shard.id.number, shard.state] as const);
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS).unref();
    this.#sample();
  }

  /** The health now. */
  check(): Health {
    const now = Date.now();
    const states = this.#sample();
    const unhealthy: UnhealthyShard[] = [];
    for (const [shard, state] of states) {
      const seen = this.#seen.get(shard) as { awaySince: number | null; wasActive: boolean };
      if (seen.awaySince === null) continue;
      const graced = seen.wasActive && state.kind !== 'FatallyClosed' && now - seen.awaySince < this.#graceMs;
      if (!graced) unhealthy.push({ shard, state: state.kind, reason: reasonFor(state, seen.wasActive), since: seen.awaySince });
    }
    return { healthy: unhealthy.length === 0 && states.length !== 0, shards: states.length, unhealthy };
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): readonly (readonly [number, ShardState])[] {
    const now = Date.now();
    const states = this.#states();
    for (const [shard, state] of states) {
      const seen = this.#seen.get(shard) ?? { awaySince: now, wasActive: false };
      if (state.kind === 'Active') {
        seen.awaySince = null;
        seen.wasActive = true;
      } else {
        seen.awaySince ??= now;
      }
      this.#seen.set(shard, seen);
    }
    return states;
  }
}
