/**
 * The messages between a WorkerFleet and its worker threads. Events cross as JSON text in
 * batches (parsed once, on the main thread); each batch carries the session as taken of
 * the shards it moved, so the main thread knows where every shard would resume without a
 * round trip.
 */
import type { ShardConfigData } from '../config-data.js';
import type { LogLevel } from '../observability/logger.js';
import type { ShardStats } from '../observability/stats.js';
import type { ShardErrorCode } from '../shard/errors.js';
import type { SessionJSON } from '../shard/session.js';
import type { ShardState } from '../shard/shard.js';

/** What a worker is started with (its `workerData`). */
export interface WorkerInit {
  readonly index: number;
  /** The shard total, the same for every shard of a fleet. */
  readonly total: number;
  readonly shards: readonly { readonly id: number; readonly config: ShardConfigData }[];
  /** The user's module URL, loaded in the worker, or null. */
  readonly module: string | null;
  /** The levels the fleet's logger writes: the worker forwards lines of these only (none without a logger). */
  readonly logLevels: readonly LogLevel[];
}

/** A shard's heartbeat round trips, as the worker measured them. */
export interface LatencySnapshot {
  /** The mean round trip in ms, or null before the first ACK. */
  readonly average: number | null;
  /** The last few round trips in ms, oldest first. */
  readonly recent: readonly number[];
  /** How many heartbeats were acknowledged. */
  readonly heartbeats: number;
}

/** A ShardError as it crosses: its code, message and close code (the cause stays behind). */
export interface CrossedError {
  readonly code: ShardErrorCode;
  readonly message: string;
  readonly closeCode?: number;
}

/** An item other than a payload's text. */
export type CrossedItem = { readonly type: 'close'; readonly code: number | null; readonly reason: string } | { readonly type: 'error'; readonly error: CrossedError };

/** From a worker to the main thread. */
export type WorkerMessage =
  | {
      readonly type: 'batch';
      /** Per item, the shard id. */
      readonly shards: readonly number[];
      /** Per item, a payload's JSON text, or null for the next of `others`. */
      readonly texts: readonly (string | null)[];
      readonly others: readonly CrossedItem[];
      /** The session as taken after this batch, of each shard it moved. */
      readonly sessions: readonly (readonly [shard: number, session: SessionJSON | null])[];
      /** The state and latency of each shard whose state or heartbeats changed. */
      readonly statuses: readonly (readonly [shard: number, state: ShardState, latency: LatencySnapshot])[];
    }
  | { readonly type: 'identify'; readonly ticket: number; readonly shard: number }
  | { readonly type: 'identify-abort'; readonly ticket: number }
  | { readonly type: 'sent'; readonly request: number; readonly error: CrossedError | null }
  /** A line for the fleet's logger, the shard's bindings merged into `fields`. */
  | { readonly type: 'log'; readonly level: LogLevel; readonly fields: Readonly<Record<string, unknown>>; readonly msg: string }
  | { readonly type: 'stats'; readonly request: number; readonly stats: readonly ShardStats[] };

/** From the main thread to a worker. */
export type FleetMessage =
  | { readonly type: 'identify-granted'; readonly ticket: number }
  | { readonly type: 'identify-failed'; readonly ticket: number; readonly message: string }
  | { readonly type: 'send'; readonly request: number; readonly shard: number; readonly json: string }
  /** The main thread's loop took `count` more items: the worker may forward that many more. */
  | { readonly type: 'consumed'; readonly count: number }
  /** Asks for every shard's stats (a metrics scrape). */
  | { readonly type: 'stats'; readonly request: number }
  | { readonly type: 'close'; readonly code: number; readonly reason: string };
