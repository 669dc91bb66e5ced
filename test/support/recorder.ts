/**
 * What a log, a metrics exporter or a session store would know of a shard, built from its
 * observer calls alone; tests hold it against the gateway's log.
 */
import type { DisconnectCause } from '../../src/shard/disconnect.js';
import type { ShardObserver } from '../../src/shard/observer.js';
import type { Session } from '../../src/shard/session.js';
import type { Shard, ShardState } from '../../src/shard/shard.js';

/** Sorted, merged, inclusive [first, last] runs of integers: a session's sequences, kept small. */
export type Ranges = [number, number][];

/** Adds `n` to `ranges` in place; in order (the common case) it extends or appends the last run. */
export function addToRanges(ranges: Ranges, n: number): void {
  const last = ranges.at(-1);
  if (last === undefined || n > last[1] + 1) ranges.push([n, n]);
  else if (n === last[1] + 1) last[1] = n;
  else if (n < last[0]) {
    const merged = new Set(ranges.flatMap(([first, end]) => Array.from({ length: end - first + 1 }, (_, i) => first + i)).concat(n));
    ranges.splice(0, ranges.length, ...toRanges([...merged]));
  }
}

/** The runs of a list of integers (any order, repeats allowed). */
export function toRanges(values: readonly number[]): Ranges {
  const ranges: Ranges = [];
  for (const n of [...new Set(values)].sort((a, b) => a - b)) addToRanges(ranges, n);
  return ranges;
}

/** The part of `ranges` at or below `max`. */
export function rangesUpTo(ranges: Ranges, max: number): Ranges {
  return ranges.filter(([first]) => first <= max).map(([first, last]): [number, number] => [first, Math.min(last, max)]);
}

/** One recorder may watch many shards. */
export class Recorder implements ShardObserver {
  /** Shard ids, one per IDENTIFY sent. */
  readonly identifies: number[] = [];
  /** Resumes that completed (RESUMED), in order. */
  readonly resumes: { shard: number; session: string }[] = [];
  /** Every session that began (READY), with the shard it began on. */
  readonly sessions = new Map<string, { readonly shard: number; readonly sequences: Ranges }>();
  readonly reconnectCauses: DisconnectCause[] = [];
  readonly closeCauses: DisconnectCause[] = [];
  readonly errorCodes: string[] = [];
  readonly #current = new Map<number, string>();
  readonly #resuming = new Map<number, string>();

  /** The session a shard is in now, or undefined. */
  currentSession(shard: number): string | undefined {
    return this.#current.get(shard);
  }

  identifySent(shard: Shard): void {
    this.identifies.push(shard.id.number);
  }
  resumeSent(shard: Shard, session: Session): void {
    this.#resuming.set(shard.id.number, session.id);
  }
  stateChanged(shard: Shard, state: ShardState, previous: ShardState): void {
    const session = this.#resuming.get(shard.id.number);
    if (state.kind === 'Active' && previous.kind === 'Resuming' && session !== undefined) this.resumes.push({ shard: shard.id.number, session });
    if (state.kind !== 'Resuming') this.#resuming.delete(shard.id.number);
  }
  sessionChanged(shard: Shard, session: Session | null): void {
    if (session === null) {
      this.#current.delete(shard.id.number);
      return;
    }
    if (this.#current.get(shard.id.number) === session.id) return; // a resume URL change
    this.#current.set(shard.id.number, session.id);
    this.sessions.set(session.id, { shard: shard.id.number, sequences: [[session.sequence, session.sequence]] });
  }
  sequenceChanged(shard: Shard, sequence: number): void {
    const session = this.#current.get(shard.id.number);
    if (session !== undefined) addToRanges(this.sessions.get(session)?.sequences ?? [], sequence);
  }
  closed(_shard: Shard, { cause }: { cause: DisconnectCause }): void {
    this.closeCauses.push(cause);
  }
  reconnecting(_shard: Shard, { cause }: { cause: DisconnectCause }): void {
    this.reconnectCauses.push(cause);
  }
  error(_shard: Shard, error: { code: string }): void {
    this.errorCodes.push(error.code);
  }
}
