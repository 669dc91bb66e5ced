/**
 * A shard's numbers at one moment, as plain data: what metrics read at scrape time, the same
 * for a shard in this thread and one in a worker (which sends them over).
 */
import type { ShardCountsData } from '../shard/counters.js';
import type { Shard, ShardState } from '../shard/shard.js';

/** What one shard counted and where it is now. Plain data: it crosses threads. */
export interface ShardStats {
  /** The shard's number. */
  readonly shardId: number;
  /** Where it is now. */
  readonly state: ShardState;
  /** What it counted since it was made (for a worker's shard, over its worker's restarts). */
  readonly counts: ShardCountsData;
  /** Compressed bytes received, over every connection. */
  readonly bytesIn: number;
  /** Bytes after decompression. */
  readonly bytesOut: number;
  /** The last heartbeat round trip in ms, or null before the first ACK. */
  readonly latencyMs: number | null;
  /** Items received and not yet taken by the consumer. */
  readonly buffered: number;
  /** Commands the ratelimiter would let through now, and its capacity; null while disconnected or without one. */
  readonly ratelimit: {
    /** Commands that may be sent now without waiting. */
    readonly available: number;
    /** Commands the limiter allows per 60 s window (room for heartbeats kept aside). */
    readonly max: number;
  } | null;
}

/**
 * The stats of `shard` now.
 *
 * @example
 * const { counts, latencyMs } = shardStats(shard);
 */
export function shardStats(shard: Shard): ShardStats {
  const { bytesIn, bytesOut } = shard.inflaterMetrics;
  const limiter = shard.ratelimiter;
  return {
    shardId: shard.id.number,
    state: shard.state,
    counts: shard.counts,
    bytesIn,
    bytesOut,
    latencyMs: shard.latency.recent.at(-1) ?? null,
    buffered: shard.buffered,
    ratelimit: limiter === null ? null : { available: limiter.available(), max: limiter.max() },
  };
}

const addRecords = <K extends string>(a: Readonly<Partial<Record<K, number>>>, b: Readonly<Partial<Record<K, number>>>): Partial<Record<K, number>> => {
  const sum: Partial<Record<K, number>> = { ...a };
  for (const [key, value] of Object.entries(b) as [K, number][]) sum[key] = (sum[key] ?? 0) + value;
  return sum;
};

/**
 * Two shards' (or two lives of one shard's) counts added up.
 *
 * @internal
 */
export function addCounts(a: ShardCountsData, b: ShardCountsData): ShardCountsData {
  return {
    dispatches: addRecords(a.dispatches, b.dispatches) as Record<string, number>,
    identifies: a.identifies + b.identifies,
    resumes: a.resumes + b.resumes,
    resumed: a.resumed + b.resumed,
    replayed: a.replayed + b.replayed,
    reconnects: addRecords(a.reconnects, b.reconnects),
    commandsSent: a.commandsSent + b.commandsSent,
    commandsRefused: a.commandsRefused + b.commandsRefused,
  };
}

/**
 * Stats with `earlier` counts and bytes added: a shard in a restarted worker counts on from where its last life ended.
 *
 * @internal
 */
export function withEarlier(stats: ShardStats, earlier: ShardStats | undefined): ShardStats {
  if (earlier === undefined) return stats;
  return { ...stats, counts: addCounts(earlier.counts, stats.counts), bytesIn: earlier.bytesIn + stats.bytesIn, bytesOut: earlier.bytesOut + stats.bytesOut };
}
