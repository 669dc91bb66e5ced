/**
 * What a metrics scrape reads from its target: every shard's stats, the identify waits and
 * heartbeat round trips since the last scrape, and for a WorkerFleet its workers. Local
 * shards are read directly; a WorkerFleet asks its workers.
 */
import type { ReshardProgress } from '../fleet/resharding.js';
import type { ShardStats } from '../observability/stats.js';
import { shardStats } from '../observability/stats.js';
import { Shard } from '../shard/shard.js';
import type { LatencySnapshot } from '../workers/protocol.js';
import { WorkerFleet } from '../workers/worker-fleet.js';

/** Identify waits kept between scrapes: a target nobody scrapes must not grow. */
const MAX_IDENTIFY_WAITS = 10_000;

/**
 * What metrics and health checks can watch: one `Shard`, shards (an array, a `Set`, what
 * `createRange` returns), a merged stream or a `ShardFleet` (its current shards), or a `WorkerFleet`.
 */
export type MetricsTarget =
  | Shard
  | Iterable<Shard>
  | {
      /** The shards to watch now (a merged stream's or a ShardFleet's; read at every scrape). */
      readonly shards: readonly unknown[];
    }
  | WorkerFleet;

/** One scrape's reading. */
export interface MetricsSnapshot {
  /** Every shard's stats now. */
  readonly shards: readonly ShardStats[];
  /** Identify queue waits in ms since the last reading. */
  readonly identifyWaits: readonly number[];
  /** Heartbeat round trips in ms since the last reading (up to the last five per shard). */
  readonly latencies: readonly number[];
  /** A WorkerFleet's workers and the items waiting on its main thread; null for local shards. */
  readonly fleet: {
    /** Each worker thread. */
    readonly workers: readonly {
      /** The worker's number in the fleet. */
      readonly index: number;
      /** How many times it was started again after an exit nobody asked for. */
      readonly restarts: number;
    }[];
    /** Items received from the workers that the loop has not taken yet. */
    readonly buffered: number;
  } | null;
  /** A fleet that reshards (ShardFleet, WorkerFleet): the reshard under way and how many finished; null otherwise. */
  readonly reshard: {
    /** The reshard under way, or null. */
    readonly progress: ReshardProgress | null;
    /** Reshards finished since the fleet started. */
    readonly finished: number;
  } | null;
}

/** A target that reshards: a `ShardFleet` or a `WorkerFleet`. */
interface Resharding {
  readonly resharding: ReshardProgress | null;
  readonly reshards: number;
}

const reshardOf = (target: MetricsTarget): MetricsSnapshot['reshard'] => {
  if (typeof (target as Partial<Resharding>).reshards !== 'number') return null;
  const { resharding, reshards } = target as Resharding;
  return { progress: resharding, finished: reshards };
};

/**
 * The shards of a target that is not a WorkerFleet, as they are now.
 *
 * @internal
 */
export function localShards(target: Exclude<MetricsTarget, WorkerFleet>): Shard[] {
  if (target instanceof Shard) return [target];
  const members = Symbol.iterator in target ? [...(target as Iterable<unknown>)] : (target as { shards: readonly unknown[] }).shards;
  return members.filter((member): member is Shard => member instanceof Shard);
}

/**
 * Reads a target scrape after scrape, remembering what it already counted of the waits and round trips.
 *
 * @internal
 */
export class Snapshotter {
  readonly #target: MetricsTarget;
  /** Per shard, the heartbeats already read, so each round trip is observed once. */
  readonly #heartbeatsRead = new Map<number, number>();
  /** Every shard watched, with what stops watching it (shards that left a stream included). */
  readonly #observed = new Map<Shard, () => void>();
  #identifyWaits: number[] = [];
  /** A WorkerFleet's identify waits already read (its count of all it recorded). */
  #fleetWaitsRead = 0;

  constructor(target: MetricsTarget) {
    this.#target = target;
  }

  /** The target's stats now, and what happened since the last call. */
  async read(): Promise<MetricsSnapshot> {
    const target = this.#target;
    if (target instanceof WorkerFleet) {
      const stats = await target.stats();
      const latencies = [...target.shards.values()].flatMap((handle) => this.#newRoundTrips(handle.id.number, handle.latency));
      const fresh = Math.min(stats.identifyWaitsRecorded - this.#fleetWaitsRead, stats.identifyWaits.length);
      this.#fleetWaitsRead = stats.identifyWaitsRecorded;
      return {
        shards: stats.shards,
        identifyWaits: fresh <= 0 ? [] : stats.identifyWaits.slice(-fresh),
        latencies,
        fleet: { workers: target.workers.map(({ index, restarts }) => ({ index, restarts })), buffered: stats.buffered },
        reshard: reshardOf(target),
      };
    }
    const shards = localShards(target);
    for (const shard of shards) this.#watch(shard);
    const identifyWaits = this.#identifyWaits;
    this.#identifyWaits = [];
    return {
      shards: shards.map(shardStats),
      identifyWaits,
      latencies: shards.flatMap((shard) => this.#newRoundTrips(shard.id.number, shard.latency)),
      fleet: null,
      reshard: reshardOf(target),
    };
  }

  /** Stops watching the local shards' identifies. */
  stop(): void {
    for (const unobserve of this.#observed.values()) unobserve();
    this.#observed.clear();
  }

  /** Identify waits are only known as they happen: a shard is watched from the first scrape (or `collectMetrics`) that sees it. */
  #watch(shard: Shard): void {
    if (this.#observed.has(shard)) return;
    const identifySent = (_shard: Shard, waitMs: number): void => {
      if (this.#identifyWaits.push(waitMs) > MAX_IDENTIFY_WAITS) this.#identifyWaits.shift();
    };
    this.#observed.set(shard, shard.observe({ identifySent }));
  }

  #newRoundTrips(shardId: number, latency: Pick<LatencySnapshot, 'recent' | 'heartbeats'>): readonly number[] {
    const before = this.#heartbeatsRead.get(shardId) ?? 0;
    this.#heartbeatsRead.set(shardId, latency.heartbeats);
    const fresh = latency.heartbeats - before;
    if (fresh <= 0) return []; // none new, or a restarted worker's shard counting from zero again
    return latency.recent.slice(-fresh);
  }

  /** Starts watching the local shards now, so identifies before the first scrape are counted. */
  watchNow(): void {
    if (!(this.#target instanceof WorkerFleet)) for (const shard of localShards(this.#target)) this.#watch(shard);
  }
}
