/**
 * One simulated gateway session: its numbered dispatches (kept for replay), the
 * connection it is attached to, and how long it stays resumable once detached.
 */
import { randomBytes } from 'node:crypto';
import { Random } from './random.js';

/** A dispatch as the session stored it: numbered and serialised once. */
export interface StoredDispatch {
  readonly sequence: number;
  readonly t: string;
  /** The whole payload `{"op":0,"t":…,"s":…,"d":…}` as sent. */
  readonly payload: string;
  /** The world event it carries (the same number in every session that got it), or null. */
  readonly world: number | null;
}

/** What a session needs to know about the connection it is attached to. */
export interface SessionSink {
  /** Called after a dispatch is appended, so the connection can send it. */
  deliver(): void;
  /** Called when another connection resumes the session: this one must go. */
  drop(): void;
}

/** Session lifecycle: attached to a connection, detached but resumable, or over. */
export type SessionState = 'attached' | 'detached' | 'ended';

/**
 * A session of one shard.
 *
 * @example
 * const session = new SimulatedSession({ shard: 0, numShards: 1, intents: 513, largeThreshold: 50, seed: 1, replayLimit: 1000 });
 * session.append('READY', { v: 10 });
 */
export class SimulatedSession {
  readonly id = randomBytes(16).toString('hex');
  readonly shard: number;
  readonly numShards: number;
  readonly intents: number;
  readonly largeThreshold: number;
  /** The traffic of this session, seeded so a run repeats. */
  readonly rng: Random;
  readonly #replayLimit: number;
  readonly #dispatches: StoredDispatch[] = [];
  #sequence: number;
  #sink: SessionSink | null = null;
  #state: SessionState = 'attached';
  #expiresAt = Number.POSITIVE_INFINITY;
  /** Fractional dispatches owed by the rate-driven traffic clock. */
  trafficCredit = 0;
  /** The last presence the client set with op 3, if any. */
  presence: unknown = null;

  constructor(options: {
    shard: number;
    numShards: number;
    intents: number;
    largeThreshold: number;
    seed: number;
    replayLimit: number;
    /** The sequence of the first dispatch (READY); default 1, as Discord. */
    firstSequence?: number;
  }) {
    this.#sequence = (options.firstSequence ?? 1) - 1;
    this.shard = options.shard;
    this.numShards = options.numShards;
    this.intents = options.intents;
    this.largeThreshold = options.largeThreshold;
    this.rng = new Random(options.seed);
    this.#replayLimit = options.replayLimit;
  }

  /** The last sequence number given out (one below the first before any). */
  get sequence(): number {
    return this.#sequence;
  }

  get state(): SessionState {
    return this.#state;
  }

  /**
   * Numbers, stores and (when attached) delivers a dispatch; returns its sequence number.
   * `world` numbers a traffic event, so the log can tell the same event in two sessions apart
   * from two events that look alike.
   */
  append(t: string, d: unknown, world: number | null = null): number {
    const sequence = ++this.#sequence;
    const payload = `{"op":0,"t":${JSON.stringify(t)},"s":${sequence},"d":${JSON.stringify(d)}}`;
    this.#dispatches.push({ sequence, t, payload, world });
    // Trim in batches so a long session does not shift a large array on every dispatch.
    const excess = this.#dispatches.length - this.#replayLimit;
    if (excess > Math.max(1, this.#replayLimit >> 3)) this.#dispatches.splice(0, excess);
    this.#sink?.deliver();
    return sequence;
  }

  /**
   * The stored dispatches after `sequence`, in order, or null when some of them are no
   * longer kept (the replay limit dropped them).
   */
  after(sequence: number): StoredDispatch[] | null {
    const first = this.#dispatches[0];
    if (first === undefined) return sequence === this.#sequence ? [] : null;
    if (sequence < first.sequence - 1) return null;
    return this.#dispatches.slice(sequence - first.sequence + 1);
  }

  /** Attaches a connection that will receive what is appended from now on, dropping the previous one. */
  attach(sink: SessionSink): void {
    const previous = this.#sink;
    this.#sink = null;
    if (previous !== null && previous !== sink) previous.drop();
    this.#sink = sink;
    this.#state = 'attached';
    this.#expiresAt = Number.POSITIVE_INFINITY;
  }

  /** The connection went away without ending the session: resumable for `timeoutMs`. */
  detach(sink: SessionSink, timeoutMs: number, now = Date.now()): void {
    if (this.#sink !== sink || this.#state === 'ended') return;
    this.#sink = null;
    this.#state = 'detached';
    this.#expiresAt = now + timeoutMs;
  }

  /** Whether the connection `sink` is the one this session delivers to. */
  isAttachedTo(sink: SessionSink): boolean {
    return this.#sink === sink;
  }

  /** The session is over: it can no longer be resumed and its history is dropped. */
  end(): void {
    this.#state = 'ended';
    this.#sink = null;
    this.#dispatches.length = 0;
  }

  /** Whether this session's shard gets the events of `guildId` (`(id >> 22) % num_shards`); a DM's (null) go to shard 0. */
  owns(guildId: string | null): boolean {
    return guildId === null ? this.shard === 0 : Number((BigInt(guildId) >> 22n) % BigInt(this.numShards)) === this.shard;
  }

  /** Whether a RESUME could still pick this session up at `now`. */
  resumable(now = Date.now()): boolean {
    return this.#state !== 'ended' && now < this.#expiresAt;
  }
}
