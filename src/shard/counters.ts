/**
 * What a shard counts as it runs, for metrics read at scrape time: one increment where a
 * thing happens, nothing per event but the dispatch count by type.
 */
import type { DisconnectCause } from './disconnect.js';

/**
 * Distinct event names counted one by one; Discord has about 80. Past this the rest count as
 * `OTHER`, so a gateway sending made-up names cannot grow memory or a metric's label set.
 */
const MAX_EVENT_NAMES = 256;

/** A shard's counts since it was made, over all its connections. Plain data: it crosses threads. */
export interface ShardCountsData {
  /**
   * Dispatches received with a new sequence, by event name, READY and RESUMED included (past
   * 256 names, `OTHER`). One that arrived broken and is received again counts again.
   */
  readonly dispatches: Readonly<Record<string, number>>;
  /** IDENTIFYs sent. */
  readonly identifies: number;
  /** RESUMEs sent. */
  readonly resumes: number;
  /** RESUMEs the gateway answered with RESUMED. */
  readonly resumed: number;
  /** Dispatches replayed between a RESUME and its RESUMED. */
  readonly replayed: number;
  /** Reconnects, by the cause's kind. */
  readonly reconnects: Readonly<Partial<Record<DisconnectCause['kind'], number>>>;
  /** Commands written to the socket by `send`/`command`. */
  readonly commandsSent: number;
  /** Commands `send`/`command` rejected (oversized, closed, fatally closed). */
  readonly commandsRefused: number;
}

/**
 * The mutable counts behind {@link ShardCountsData}, kept by the shard.
 *
 * @internal
 */
export class ShardCounters {
  readonly #dispatches = new Map<string, number>();
  identifies = 0;
  resumes = 0;
  resumed = 0;
  replayed = 0;
  readonly #reconnects = new Map<DisconnectCause['kind'], number>();
  commandsSent = 0;
  commandsRefused = 0;

  /** On the receive path: one map update. */
  dispatch(type: unknown): void {
    const name = typeof type === 'string' ? type : 'UNKNOWN';
    const count = this.#dispatches.get(name);
    if (count !== undefined) this.#dispatches.set(name, count + 1);
    else if (this.#dispatches.size < MAX_EVENT_NAMES) this.#dispatches.set(name, 1);
    else this.#dispatches.set('OTHER', (this.#dispatches.get('OTHER') ?? 0) + 1);
  }

  /** A reconnect was scheduled after `cause`. */
  reconnect(cause: DisconnectCause): void {
    this.#reconnects.set(cause.kind, (this.#reconnects.get(cause.kind) ?? 0) + 1);
  }

  /** A snapshot. */
  toJSON(): ShardCountsData {
    return {
      dispatches: Object.fromEntries(this.#dispatches),
      identifies: this.identifies,
      resumes: this.resumes,
      resumed: this.resumed,
      replayed: this.replayed,
      reconnects: Object.fromEntries(this.#reconnects),
      commandsSent: this.commandsSent,
      commandsRefused: this.commandsRefused,
    };
  }
}
