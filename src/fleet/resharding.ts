/**
 * The switch from one shard set to another while both run: which of the new set's
 * dispatches are its session's own (READY, the GUILD_CREATEs of its READY's guilds), when
 * the new set has caught up, and which copies of an event the two sets both received are
 * one event. Fleets that reshard build on it; it knows shards only by number.
 */
import { createHash } from 'node:crypto';

/** Which of the two shard sets a copy came from. */
export type ShardSetName = 'old' | 'new';

/** One copy of an event, as {@link EventPairing} keeps it until the other set's copy comes. */
export interface EventCopy {
  readonly set: ShardSetName;
  /** When it was offered, `performance.now()`. */
  readonly at: number;
}

/**
 * The identity of a dispatch for pairing its copies across shard sets: a digest of `t` and
 * the JSON of `d`. Discord sends both sets the same `d`, byte for byte; the sequence
 * numbers differ (each session numbers its own), so they are not part of it.
 */
export function eventKey(t: string, data: string): string {
  return createHash('sha256').update(t).update('\n').update(data).digest('base64');
}

/**
 * Pairs the copies of each event that two shard sets receive while both run. The first copy
 * of an event is kept; a copy from the other set then matches it (and is the duplicate);
 * one from the same set is another event that looks alike and is kept too, so two alike
 * events that both sets see pair up one to one. A copy the other set never matches is
 * forgotten `windowMs` after it came: the other set was not covering its guild yet.
 *
 * Where it is not sound: two events with the same `t` and the same `d` (a user typing twice
 * in a channel within the same second) pair wrongly only when one set sees the first and
 * the other set only the second, both within the window — one is then taken for the
 * other's copy and dropped.
 */
export class EventPairing<C extends EventCopy = EventCopy> {
  readonly #windowMs: number;
  /** Unmatched copies by key, oldest first; all of one set (a copy of the other set would have matched). */
  readonly #unmatched = new Map<string, C[]>();
  /** Every key offered, in order, for forgetting what the window passed. */
  readonly #order: { readonly key: string; readonly at: number }[] = [];
  #orderAt = 0;
  #matched = 0;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** How many copies wait for their other set's copy. */
  get unmatched(): number {
    let count = 0;
    for (const copies of this.#unmatched.values()) count += copies.length;
    return count;
  }

  /** How many copies were matched (each is an event both sets received). */
  get matched(): number {
    return this.#matched;
  }

  /**
   * Offers `copy` of the event `key`. Returns the other set's unmatched copy it matches
   * (the two are one event), or undefined when `copy` is the first of its event and is kept.
   */
  offer(key: string, copy: C): C | undefined {
    this.#forget(copy.at);
    const copies = this.#unmatched.get(key);
    if (copies !== undefined && copies[0]?.set !== copy.set) {
      const match = copies.shift() as C;
      if (copies.length === 0) this.#unmatched.delete(key);
      this.#matched += 1;
      return match;
    }
    if (copies === undefined) this.#unmatched.set(key, [copy]);
    else copies.push(copy);
    this.#order.push({ key, at: copy.at });
    return undefined;
  }

  /** Drops copies older than the window. */
  #forget(now: number): void {
    const cutoff = now - this.#windowMs;
    while (this.#orderAt < this.#order.length && (this.#order[this.#orderAt] as { at: number }).at < cutoff) {
      const { key } = this.#order[this.#orderAt++] as { key: string };
      const copies = this.#unmatched.get(key);
      if (copies === undefined) continue;
      while (copies.length > 0 && (copies[0] as C).at < cutoff) copies.shift();
      if (copies.length === 0) this.#unmatched.delete(key);
    }
    if (this.#orderAt > 1024 && this.#orderAt * 2 > this.#order.length) {
      this.#order.splice(0, this.#orderAt);
      this.#orderAt = 0;
    }
  }
}

/** What a new shard set's dispatch is to the switch. */
export type NewSetDispatch =
  /** READY or RESUMED: the session's own, not an event of the world. */
  | 'session'
  /** A GUILD_CREATE (or an unavailable GUILD_DELETE) of a guild its READY listed: the state the old set already gave. */
  | 'snapshot'
  /** Anything else: an event both sets may receive. */
  | 'event';

/**
 * Follows the new set's shards to the point where it can take over: every shard READY and
 * each guild its READY listed created (or reported unavailable), or `guildTimeoutMs` passed
 * since that READY — as Discord never sends GUILD_CREATE for a guild in an outage.
 */
export class NewSetProgress {
  /** Per shard: the guilds still to come after its READY, or null before READY. */
  readonly #pending = new Map<number, Set<string> | null>();
  readonly #readyAt = new Map<number, number>();
  readonly #guildTimeoutMs: number;

  constructor(shards: Iterable<number>, guildTimeoutMs: number) {
    for (const shard of shards) this.#pending.set(shard, null);
    this.#guildTimeoutMs = guildTimeoutMs;
  }

  /**
   * Classifies a dispatch of shard `shard` and follows its progress. A new READY (the shard
   * had to identify again) starts the shard's guilds over.
   */
  see(shard: number, t: string, d: unknown, now: number): NewSetDispatch {
    if (t === 'READY') {
      const guilds = (d as { guilds?: { id?: unknown }[] } | null)?.guilds;
      const ids = Array.isArray(guilds) ? guilds.flatMap((guild) => (typeof guild?.id === 'string' ? [guild.id] : [])) : [];
      this.#pending.set(shard, new Set(ids));
      this.#readyAt.set(shard, now);
      return 'session';
    }
    if (t === 'RESUMED') return 'session';
    if (t !== 'GUILD_CREATE' && t !== 'GUILD_DELETE') return 'event';
    const id = (d as { id?: unknown } | null)?.id;
    const pending = this.#pending.get(shard);
    if (typeof id !== 'string' || pending === null || pending === undefined || !pending.has(id)) return 'event';
    if (t === 'GUILD_DELETE' && (d as { unavailable?: unknown }).unavailable !== true) return 'event'; // removed from the guild: an event
    pending.delete(id);
    return 'snapshot';
  }

  /** Whether every shard is READY with its guilds created, or waited for long enough. */
  complete(now: number): boolean {
    for (const [shard, pending] of this.#pending) {
      if (pending === null) return false;
      if (pending.size > 0 && now - (this.#readyAt.get(shard) as number) < this.#guildTimeoutMs) return false;
    }
    return true;
  }

  /** Shards that are READY. */
  get ready(): number {
    let count = 0;
    for (const pending of this.#pending.values()) if (pending !== null) count += 1;
    return count;
  }

  /** Guilds listed in READYs and not yet created. */
  get guildsPending(): number {
    let count = 0;
    for (const pending of this.#pending.values()) count += pending?.size ?? 0;
    return count;
  }
}
