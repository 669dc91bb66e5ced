/**
 * The switch from one shard set to another while both run: which of the new set's
 * dispatches are its session's own (READY, the GUILD_CREATEs of its READY's guilds), when
 * the new set has caught up, and which copies of an event the two sets both received are
 * one event. Fleets that reshard (local shards, worker threads) build on it; it sees their
 * items only through {@link ReshardItems}.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** How a fleet reshards; every field has a default. */
export interface ReshardOptions {
  /**
   * Check `/gateway/bot` this often (ms, at least 1,000) and reshard when it recommends
   * more than `total × (1 + threshold)` shards. Default null: only `reshard()` reshards.
   */
  checkInterval?: number | null;
  /** The fraction by which the recommendation must exceed the current count (default 0: any increase). */
  threshold?: number;
  /** How long a copy of an event waits for the other set's copy, ms (default 60,000). */
  dedupeWindow?: number;
  /** How long a new shard waits for the GUILD_CREATEs its READY announced, ms (default 15,000). */
  guildTimeout?: number;
  /** How long the old set keeps serving after it has caught up, before it closes, ms (default 1,000). */
  drainTime?: number;
}

/** {@link ReshardOptions} with the defaults filled in, checked. @throws RangeError naming the bad option. */
export function resolveReshardOptions(options: ReshardOptions = {}): Required<ReshardOptions> {
  const check = (name: keyof ReshardOptions, value: number | null | undefined, min: number): void => {
    if (value === undefined || value === null) return;
    if (!Number.isFinite(value) || value < min) throw new RangeError(`reshard.${name} must be a number of at least ${min}, got ${String(value)}`);
  };
  check('checkInterval', options.checkInterval, 1_000);
  check('threshold', options.threshold, 0);
  check('dedupeWindow', options.dedupeWindow, 1);
  check('guildTimeout', options.guildTimeout, 0);
  check('drainTime', options.drainTime, 0);
  return {
    checkInterval: options.checkInterval ?? null,
    threshold: options.threshold ?? 0,
    dedupeWindow: options.dedupeWindow ?? 60_000,
    guildTimeout: options.guildTimeout ?? 15_000,
    drainTime: options.drainTime ?? 1_000,
  };
}

/** What happened in a reshard, as `reshard()` resolves with it and `onReshard` gets it. */
export interface ReshardReport {
  /** The shard count before. */
  readonly from: number;
  /** The shard count after. */
  readonly to: number;
  /** ms from the start to the switch (the new set READY with its guilds). */
  readonly switchAfter: number;
  /** ms from the start until the old set was closed. */
  readonly doneAfter: number;
  /** The most new-set events held back at once. */
  readonly peakHeld: number;
  /** Events both sets received, handed to the loop once. */
  readonly paired: number;
  /** Held-back events handed to the loop at the switch (the old set had not received them). */
  readonly released: number;
}

/** Where a reshard is, for logs and dashboards. */
export interface ReshardProgress {
  /** The shard count serving until the switch. */
  readonly from: number;
  /** The shard count being started. */
  readonly to: number;
  /** `identifying`: the new set connects while the old serves; `draining`: the new set serves, the old one finishes. */
  readonly phase: 'identifying' | 'draining';
  /** New shards READY so far. */
  readonly ready: number;
  /** Guilds the new set's READYs listed that have not been created yet. */
  readonly guildsPending: number;
  /** New-set events held back now. */
  readonly held: number;
}

/** Why a reshard did not happen or did not finish. */
export type ReshardErrorKind = 'InProgress' | 'Unchanged' | 'Budget' | 'Partial' | 'NewSetFailed' | 'Closed';

/**
 * A reshard that was refused before anything changed (`InProgress`, `Unchanged`, `Budget`,
 * `Partial` for a fleet that runs only a range of the bot's shards, `Closed`), or that gave
 * up and left the old set serving (`NewSetFailed`; `Closed` when the fleet was closed
 * meanwhile).
 *
 * @example
 * try { await fleet.reshard(); } catch (error) { if (error instanceof ReshardError && error.kind === 'Budget') waitUntilTomorrow(); }
 */
export class ReshardError extends Error {
  /** Always `'ReshardError'`. */
  override readonly name = 'ReshardError';
  constructor(
    /** Why the reshard was refused or ended (see {@link ReshardErrorKind}). */
    readonly kind: ReshardErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

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
    pending.delete(id);
    // Removed from the guild before its GUILD_CREATE came: an event, and no guild to wait for.
    return t === 'GUILD_DELETE' && (d as { unavailable?: unknown }).unavailable !== true ? 'event' : 'snapshot';
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

/** How a {@link ReshardSwitch} reads a fleet's items (events or raw messages). */
export interface ReshardItems<S, I> {
  /** The shard (or handle) an item came from. */
  shard(item: I): S;
  /** Its shard number. */
  number(shard: S): number;
  /** The dispatch's name, or null for an item that is not a dispatch (closes, errors, other payloads). */
  t(item: I): string | null;
  /** The dispatch's `d`, parsed: read for the new set's READYs and guild events only. */
  data(item: I): unknown;
  /** The dispatch's `d` as JSON text, the same for both sets' copies: what copies are paired by. */
  dataText(item: I): string;
  /** The error of an item that reports its shard closed for good, else null. */
  fatal(item: I): Error | null;
}

/** A copy the pairing keeps: for a held-back new-set event, the item until it is handed out or the old set's copy goes instead. */
interface HeldCopy<I> extends EventCopy {
  item: I | null;
}

/**
 * One reshard's routing of items: the old set's are handed on (the first copy of each event
 * remembered), the new set's held back until it has caught up, then released (those the
 * old set has not delivered) and handed on; a copy of an event the other set already
 * delivered is dropped. The fleet reads both sets into {@link ReshardSwitch.route}, takes
 * {@link ReshardSwitch.released} after a switch, and closes the old set once it drained.
 */
export class ReshardSwitch<S, I> {
  readonly from: number;
  readonly to: number;
  readonly oldShards: ReadonlySet<S>;
  readonly newShards: ReadonlySet<S>;
  readonly startedAt = performance.now();
  readonly #items: ReshardItems<S, I>;
  readonly #progress: NewSetProgress;
  readonly #pairing: EventPairing<HeldCopy<I>>;
  #held: HeldCopy<I>[] = [];
  /** How many of `#held` still hold their item. */
  #live = 0;
  #released: I[] = [];
  #phase: 'identifying' | 'draining' = 'identifying';
  #switchedAt = 0;
  #peakHeld = 0;
  #releasedCount = 0;

  constructor(sets: { from: number; to: number; oldShards: Iterable<S>; newShards: Iterable<S> }, options: Required<ReshardOptions>, items: ReshardItems<S, I>) {
    this.from = sets.from;
    this.to = sets.to;
    this.oldShards = new Set(sets.oldShards);
    this.newShards = new Set(sets.newShards);
    this.#items = items;
    this.#progress = new NewSetProgress([...this.newShards].map((shard) => items.number(shard)), options.guildTimeout);
    this.#pairing = new EventPairing(options.dedupeWindow);
  }

  get phase(): 'identifying' | 'draining' {
    return this.#phase;
  }

  get progress(): ReshardProgress {
    return { from: this.from, to: this.to, phase: this.#phase, ready: this.#progress.ready, guildsPending: this.#progress.guildsPending, held: this.#live };
  }

  /** The item to hand to the loop, or null when it is held back or the other set's copy. */
  route(item: I): I | null {
    const shard = this.#items.shard(item);
    const fromNew = this.newShards.has(shard);
    const t = this.#items.t(item);
    // Closes, errors and other payloads are not events to pair; neither are other shards' items.
    if (t === null || (!fromNew && !this.oldShards.has(shard))) return item;
    const now = performance.now();
    if (fromNew && this.#phase === 'identifying') {
      const guildEvent = t === 'READY' || t === 'RESUMED' || t === 'GUILD_CREATE' || t === 'GUILD_DELETE';
      if (this.#progress.see(this.#items.number(shard), t, guildEvent ? this.#items.data(item) : null, now) !== 'event') {
        this.#switchIfComplete(now);
        return null;
      }
      const copy: HeldCopy<I> = { set: 'new', at: now, item };
      if (this.#pairing.offer(eventKey(t, this.#items.dataText(item)), copy) !== undefined) return null; // the old set delivered it
      this.#held.push(copy);
      this.#live += 1;
      this.#peakHeld = Math.max(this.#peakHeld, this.#live);
      this.#switchIfComplete(now);
      return null;
    }
    if (t === 'READY' || t === 'RESUMED') return item;
    const match = this.#pairing.offer(eventKey(t, this.#items.dataText(item)), { set: fromNew ? 'new' : 'old', at: now, item: null });
    if (match === undefined) return item;
    if (match.item === null) return null; // the other set's copy was handed out
    // Held back: the old set's copy goes now instead.
    match.item = null;
    this.#live -= 1;
    if (this.#held.length > 64 && this.#live * 2 < this.#held.length) this.#held = this.#held.filter((copy) => copy.item !== null);
    return item;
  }

  /** Switches once the new set has caught up (also when only the guild timeout passed); returns whether it has switched. */
  tick(): boolean {
    this.#switchIfComplete(performance.now());
    return this.#phase === 'draining';
  }

  /** Takes the held-back items the switch released, oldest first. */
  released(): I[] {
    const released = this.#released;
    this.#released = [];
    return released;
  }

  /** The report once the old set is closed. */
  report(): ReshardReport {
    return {
      from: this.from,
      to: this.to,
      switchAfter: Math.round(this.#switchedAt - this.startedAt),
      doneAfter: Math.round(performance.now() - this.startedAt),
      peakHeld: this.#peakHeld,
      paired: this.#pairing.matched,
      released: this.#releasedCount,
    };
  }

  #switchIfComplete(now: number): void {
    if (this.#phase !== 'identifying' || !this.#progress.complete(now)) return;
    this.#phase = 'draining';
    this.#switchedAt = now;
    for (const copy of this.#held) {
      if (copy.item !== null) this.#released.push(copy.item);
      copy.item = null; // handed out: the old set's copy, when it comes, is the duplicate
    }
    this.#releasedCount = this.#released.length;
    this.#held = [];
    this.#live = 0;
  }
}
