/**
 * ShardFleet: every shard of a bot in this process, read as one merged stream, that can
 * move to another shard count while it runs (resharding): the new set identifies through
 * the same queue while the old set serves, takes over once it has caught up, and each event
 * reaches the loop once across the switch.
 */
import { performance } from 'node:perf_hooks';
import type { APIGatewayBotInfo } from 'discord-api-types/v10';
import { ConfigError, resolveShardConfig } from '../config.js';
import type { ShardConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { errorFields } from '../observability/logger.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { Session } from '../shard/session.js';
import { Shard } from '../shard/shard.js';
import { closeAll } from './create.js';
import { fetchGatewayBot } from './gateway-bot.js';
import { ShardEventStream } from './merged-stream.js';
import type { ShardEventItem } from './merged-stream.js';
import { checkedRestUrl, planRange } from './plan.js';
import type { RecommendedConfig } from './plan.js';
import { EventPairing, NewSetProgress, eventKey } from './resharding.js';
import type { EventCopy } from './resharding.js';
import { resumeSessions } from './sessions.js';

const DISCORD_REST = 'https://discord.com/api/v10';
/** How often a reshard checks the new set's guild timeout and the old set's drain. */
const CHECK_MS = 100;

/** How a fleet reshards; every field has a default. */
export interface ReshardOptions {
  /**
   * Check `/gateway/bot` this often (ms) and reshard when it recommends more than
   * `total × (1 + threshold)` shards. Default null: only `reshard()` reshards.
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

/** What happened in a reshard, as `reshard()` resolves with it and `onReshard` gets it. */
export interface ReshardReport {
  readonly from: number;
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
  readonly from: number;
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

/** Options of a {@link ShardFleet}. */
export interface ShardFleetOptions {
  /**
   * The config every shard gets; `restUrl` is where `/gateway/bot` is asked (the count when
   * `shards` is not given, the budget before a reshard). Its `queue`, or an `InMemoryQueue`
   * sized from `/gateway/bot`, admits the identifies of every shard set.
   */
  readonly config: RecommendedConfig;
  /** How many shards to start with; default: what `/gateway/bot` recommends. */
  readonly shards?: number;
  /** Sessions to resume, by shard number (as `close(CloseFrame.RESUME)` returned them). */
  readonly sessions?: ReadonlyMap<number, Session>;
  readonly reshard?: ReshardOptions;
  /** Called after each reshard finished (the old set closed), asked for or automatic. */
  readonly onReshard?: (report: ReshardReport) => void;
}

/** Why a reshard did not happen or did not finish. */
export type ReshardErrorKind = 'InProgress' | 'Unchanged' | 'Budget' | 'NewSetFailed' | 'Closed';

/**
 * A reshard that was refused before anything changed (`InProgress`, `Unchanged`, `Budget`,
 * `Closed`) or that gave up and left the old set serving (`NewSetFailed`).
 */
export class ReshardError extends Error {
  override readonly name = 'ReshardError';
  constructor(
    readonly kind: ReshardErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A new-set event held back until the switch; cancelled when the old set delivers its copy first. */
interface HeldCopy extends EventCopy {
  /** The item while it is held back; null once handed out (or for a copy never held). */
  item: ShardEventItem | null;
  cancelled: boolean;
}

/** One reshard under way. */
class Reshard {
  readonly from: number;
  readonly to: number;
  readonly oldShards: ReadonlySet<Shard>;
  readonly newShards: ReadonlySet<Shard>;
  readonly progress: NewSetProgress;
  readonly pairing: EventPairing<HeldCopy>;
  readonly startedAt = performance.now();
  readonly held: HeldCopy[] = [];
  phase: 'identifying' | 'draining' = 'identifying';
  switchedAt = 0;
  drainedAt: number | null = null;
  peakHeld = 0;
  released = 0;
  readonly done: Promise<ReshardReport>;
  finished!: (report: ReshardReport) => void;
  failed!: (error: ReshardError) => void;

  constructor(oldShards: Shard[], newShards: Shard[], options: Required<ReshardOptions>) {
    this.done = new Promise((resolve, reject) => {
      this.finished = resolve;
      this.failed = reject;
    });
    this.from = oldShards[0]?.id.total ?? 0;
    this.to = newShards.length;
    this.oldShards = new Set(oldShards);
    this.newShards = new Set(newShards);
    this.progress = new NewSetProgress(newShards.map((shard) => shard.id.number), options.guildTimeout);
    this.pairing = new EventPairing(options.dedupeWindow);
  }
}

/**
 * Every shard of a bot in this process, read through one loop, with {@link ShardFleet.reshard}
 * to move to another shard count without downtime: the new set identifies through the same
 * queue while the old one serves, its events held back; once every new shard is READY and
 * has its guilds, it takes over and the old set closes. Events both sets received during the
 * overlap reach the loop once, paired by `t` and `d` (see `EventPairing` for where that is
 * not sound); the new set's READYs and the GUILD_CREATEs of the guilds they list are its
 * session's start, not events, and are not handed out.
 *
 * @example
 * const fleet = await ShardFleet.start({ config: { token, intents }, reshard: { checkInterval: 3_600_000 } });
 * for await (const { shard, event } of fleet) {
 *   if (event.t === 'MESSAGE_CREATE') console.log(shard.id.toString(), event.d.content);
 * }
 */
export class ShardFleet implements AsyncIterable<ShardEventItem> {
  readonly #config: ShardConfig & { queue: Queue };
  readonly #restUrl: string;
  readonly #options: Required<ReshardOptions>;
  readonly #onReshard: ((report: ReshardReport) => void) | null;
  readonly #logger: Logger | null;
  readonly #stream: ShardEventStream;
  readonly #released: ShardEventItem[] = [];
  #shards: Shard[];
  #reshard: Reshard | null = null;
  /** The merged stream's next item while a reshard may wake the loop instead. */
  #pendingNext: Promise<ShardEventItem | null> | null = null;
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #autoTimer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(config: ShardConfig & { queue: Queue }, restUrl: string, shards: Shard[], options: ShardFleetOptions) {
    this.#config = config;
    this.#restUrl = restUrl;
    this.#shards = shards;
    this.#stream = new ShardEventStream(shards);
    const reshard = options.reshard ?? {};
    this.#options = {
      checkInterval: reshard.checkInterval ?? null,
      threshold: reshard.threshold ?? 0,
      dedupeWindow: reshard.dedupeWindow ?? 60_000,
      guildTimeout: reshard.guildTimeout ?? 15_000,
      drainTime: reshard.drainTime ?? 1_000,
    };
    this.#onReshard = options.onReshard ?? null;
    this.#logger = config.logger?.child({ component: 'ShardFleet' }) ?? null;
    const interval = this.#options.checkInterval;
    if (interval !== null) {
      this.#autoTimer = setInterval(() => void this.#checkRecommended(), interval);
      this.#autoTimer.unref();
    }
  }

  /**
   * Plans and starts the fleet: `options.shards` shards, or as many as `/gateway/bot`
   * recommends. Shards connect when the loop first reads.
   *
   * @throws ConfigError for a bad config or reshard option (before any request);
   *   GatewayBotError when `/gateway/bot` is needed and does not answer (see `fetchGatewayBot`).
   * @example
   * const fleet = await ShardFleet.start({ config: { token, intents }, shards: 4 });
   */
  static async start(options: ShardFleetOptions): Promise<ShardFleet> {
    checkReshardOptions(options.reshard ?? {});
    const { restUrl: askedUrl = DISCORD_REST, ...given } = options.config;
    const restUrl = checkedRestUrl(askedUrl, resolveShardConfig(given).allowInsecureUrls);
    let total = options.shards;
    if (total !== undefined && (!Number.isInteger(total) || total < 1)) throw new ConfigError('shards', `must be an integer of at least 1, got ${String(total)}`);
    let config = given;
    if (total === undefined || given.queue === undefined) {
      const info = await gatewayBot(given, restUrl);
      total ??= info.shards;
      const limit = info.session_start_limit;
      config = { gatewayUrl: info.url, ...given, queue: given.queue ?? new InMemoryQueue(limit.max_concurrency, limit.remaining, limit.reset_after, limit.total) };
    }
    const withQueue = config as ShardConfig & { queue: Queue };
    return new ShardFleet(withQueue, restUrl, buildSet(withQueue, total, options.sessions), options);
  }

  /** The shards serving now (the old set until a reshard switches). */
  get shards(): readonly Shard[] {
    return this.#shards;
  }

  /** The shard count serving now. */
  get total(): number {
    return this.#shards[0]?.id.total ?? 0;
  }

  /** Where the reshard under way is, or null. */
  get resharding(): ReshardProgress | null {
    const reshard = this.#reshard;
    if (reshard === null) return null;
    return { from: reshard.from, to: reshard.to, phase: reshard.phase, ready: reshard.progress.ready, guildsPending: reshard.progress.guildsPending, held: reshard.held.length };
  }

  /**
   * Moves the bot to `total` shards (default: what `/gateway/bot` recommends) while it runs.
   * Resolves with a report once the new set serves and the old set is closed. The loop keeps
   * reading throughout: the switch shows in it only as the old shards' close items.
   *
   * @throws ReshardError, changing nothing: `InProgress` (another reshard runs), `Unchanged`
   *   (already `total`), `Budget` (today's identifies left, by `/gateway/bot` and the
   *   fleet's queue, do not cover the new set), `Closed`; and `NewSetFailed` when a new
   *   shard closed fatally — the new set is then closed and the old one keeps serving.
   *   GatewayBotError when `/gateway/bot` does not answer.
   * @example
   * const report = await fleet.reshard(8);
   * console.log(`${report.from} → ${report.to} shards; switched after ${report.switchAfter} ms`);
   */
  async reshard(total?: number): Promise<ReshardReport> {
    if (total !== undefined && (!Number.isInteger(total) || total < 1)) throw new RangeError(`reshard total must be an integer of at least 1, got ${String(total)}`);
    this.#refuseIf();
    const info = await gatewayBot(this.#config, this.#restUrl);
    const to = total ?? info.shards;
    this.#refuseIf();
    if (to === this.total) throw new ReshardError('Unchanged', `the fleet already runs ${to} shards`);
    const remaining = Math.min(info.session_start_limit.remaining, queueRemaining(this.#config.queue));
    if (remaining < to) {
      throw new ReshardError('Budget', `resharding to ${to} shards needs ${to} identifies, and ${remaining} of today's session_start_limit remain (it resets in ${Math.ceil(info.session_start_limit.reset_after / 60_000)} min); nothing changed`);
    }
    const reshard = new Reshard(this.#shards, buildSet(this.#config, to), this.#options);
    this.#reshard = reshard;
    this.#logger?.info({ from: reshard.from, to }, 'resharding: the new set identifies while the old one serves');
    for (const shard of reshard.newShards) this.#stream.add(shard);
    this.#timer = setInterval(() => this.#check(), CHECK_MS);
    return reshard.done;
  }

  #refuseIf(): void {
    if (this.#closed) throw new ReshardError('Closed', 'the fleet is closed');
    if (this.#reshard !== null) throw new ReshardError('InProgress', `a reshard to ${this.#reshard.to} shards is under way`);
  }

  /** The automatic mode: reshards when `/gateway/bot` recommends enough more shards. */
  async #checkRecommended(): Promise<void> {
    if (this.#reshard !== null || this.#closed) return;
    try {
      const recommended = (await gatewayBot(this.#config, this.#restUrl)).shards;
      if (recommended <= this.total * (1 + this.#options.threshold) || this.#reshard !== null) return;
      this.#logger?.info({ from: this.total, to: recommended }, 'resharding: /gateway/bot recommends more shards');
      await this.reshard(recommended);
    } catch (error) {
      if (this.#logger === null) process.emitWarning(`gloaming: ShardFleet: automatic reshard failed: ${(error as Error).message}`);
      else this.#logger.error({ err: errorFields(error) }, 'automatic reshard failed');
    }
  }

  /**
   * The next item of any shard, or null once the fleet is closed and drained. Breaking out
   * of a loop over the fleet does not close it.
   */
  async next(): Promise<ShardEventItem | null> {
    for (;;) {
      const released = this.#released.shift();
      if (released !== undefined) return released;
      if (this.#reshard === null && this.#pendingNext === null) return this.#stream.next(); // no reshard: the plain merged stream
      this.#pendingNext ??= this.#stream.next();
      const woken = new Promise<null>((resolve) => (this.#wake = () => resolve(null)));
      const item = await Promise.race([this.#pendingNext, woken.then(() => undefined)]);
      if (item === undefined) continue;
      this.#pendingNext = null;
      if (item === null) return null;
      const routed = this.#route(item);
      if (routed !== null) return routed;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ShardEventItem, void, undefined> {
    for (let item = await this.next(); item !== null; item = await this.next()) yield item;
  }

  /** During a reshard: hands an item on, holds it back, or drops it as the other set's copy. */
  #route(item: ShardEventItem): ShardEventItem | null {
    const reshard = this.#reshard;
    if (reshard === null) return item;
    const { event, shard } = item;
    const fromNew = reshard.newShards.has(shard);
    if (fromNew && event.op === 'error' && event.d.kind === 'FatallyClosed' && reshard.phase === 'identifying') void this.#abandon(reshard, event.d);
    const t: unknown = event.t;
    // Closes, errors, other payloads and the sessions' own dispatches are not events to pair.
    if (typeof t !== 'string' || (!fromNew && !reshard.oldShards.has(shard))) return item;
    const now = performance.now();
    const d: unknown = (event as { d: unknown }).d;
    if (fromNew && reshard.phase === 'identifying') {
      if (reshard.progress.see(shard.id.number, t, d, now) !== 'event') return null;
      const copy: HeldCopy = { set: 'new', at: now, item, cancelled: false };
      if (reshard.pairing.offer(eventKey(t, JSON.stringify(d)), copy) !== undefined) return null; // the old set delivered it
      reshard.held.push(copy);
      reshard.peakHeld = Math.max(reshard.peakHeld, reshard.held.length);
      if (reshard.progress.complete(now)) this.#switch(reshard);
      return null;
    }
    if (t === 'READY' || t === 'RESUMED') return item;
    const match = reshard.pairing.offer(eventKey(t, JSON.stringify(d)), { set: fromNew ? 'new' : 'old', at: now, item: null, cancelled: false });
    if (match === undefined) return item;
    if (match.item === null) return null; // the other set's copy was handed out
    match.cancelled = true; // held back: the old set's copy goes now instead
    return item;
  }

  /** The new set has caught up: it serves from now, starting with what it held back. */
  #switch(reshard: Reshard): void {
    reshard.phase = 'draining';
    reshard.switchedAt = performance.now();
    for (const copy of reshard.held) {
      if (!copy.cancelled && copy.item !== null) this.#released.push(copy.item);
      copy.item = null; // handed out: the old set's copy, when it comes, is the duplicate
    }
    reshard.released = this.#released.length;
    reshard.held.length = 0;
    this.#shards = [...reshard.newShards];
    this.#logger?.info({ from: reshard.from, to: reshard.to, released: reshard.released, after: Math.round(reshard.switchedAt - reshard.startedAt) }, 'resharding: the new set serves; the old one drains');
    this.#signal();
  }

  /** Runs while resharding: the guild timeout, then the old set's drain and close. */
  #check(): void {
    const reshard = this.#reshard;
    if (reshard === null) return;
    const now = performance.now();
    if (reshard.phase === 'identifying') {
      if (reshard.progress.complete(now)) this.#switch(reshard);
      return;
    }
    // The old set has caught up when each shard is connected with nothing but its next item buffered.
    if (reshard.drainedAt === null) {
      if ([...reshard.oldShards].every(caughtUp)) reshard.drainedAt = now;
      return;
    }
    if (now - reshard.drainedAt < this.#options.drainTime) return;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    void this.#finish(reshard);
  }

  async #finish(reshard: Reshard): Promise<void> {
    await closeAll(reshard.oldShards, CloseFrame.NORMAL);
    // What the old shards still hold goes through the pairing before it ends.
    await until(() => [...reshard.oldShards].every((shard) => !this.#stream.shards.includes(shard)) || this.#closed);
    const report: ReshardReport = {
      from: reshard.from,
      to: reshard.to,
      switchAfter: Math.round(reshard.switchedAt - reshard.startedAt),
      doneAfter: Math.round(performance.now() - reshard.startedAt),
      peakHeld: reshard.peakHeld,
      paired: reshard.pairing.matched,
      released: reshard.released,
    };
    this.#reshard = null;
    this.#logger?.info({ ...report }, 'resharded');
    reshard.finished(report);
    this.#signal();
    try {
      this.#onReshard?.(report);
    } catch (error) {
      this.#logger?.error({ err: errorFields(error) }, 'onReshard threw');
    }
  }

  /** A new shard ended fatally before the switch: the new set goes, the old one stays. */
  async #abandon(reshard: Reshard, cause: Error): Promise<void> {
    if (this.#reshard !== reshard) return;
    this.#reshard = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#logger?.error({ err: errorFields(cause), from: reshard.from, to: reshard.to }, 'resharding gave up: a new shard closed fatally; the old set keeps serving');
    for (const shard of reshard.newShards) this.#stream.remove(shard);
    await closeAll(reshard.newShards, CloseFrame.NORMAL);
    reshard.failed(new ReshardError('NewSetFailed', `resharding to ${reshard.to} shards gave up: ${cause.message}; the ${reshard.from} shards keep serving`, { cause }));
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Closes every shard (both sets, while resharding) with `frame` and returns the sessions
   * of the serving set (with `CloseFrame.RESUME`). A reshard under way is abandoned; its
   * `reshard()` rejects with kind `Closed`. Items already received can still be read.
   *
   * @example
   * const sessions = await fleet.close(CloseFrame.RESUME);
   * const next = await ShardFleet.start({ config, shards: sessions.size, sessions });
   */
  async close(frame: CloseFrame = CloseFrame.NORMAL): Promise<Map<number, Session>> {
    this.#closed = true;
    if (this.#autoTimer !== null) clearInterval(this.#autoTimer);
    if (this.#timer !== null) clearInterval(this.#timer);
    const reshard = this.#reshard;
    this.#reshard = null;
    const serving = this.#shards;
    if (reshard !== null) {
      const other = reshard.phase === 'identifying' ? reshard.newShards : reshard.oldShards;
      await closeAll(other, CloseFrame.NORMAL);
      reshard.failed(new ReshardError('Closed', 'the fleet was closed during the reshard'));
    }
    const sessions = await closeAll(serving, frame);
    this.#signal();
    return sessions;
  }

  /** Closes the fleet when used with `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** `GET /gateway/bot` with the config's token. */
function gatewayBot(config: ShardConfig, restUrl: string): Promise<APIGatewayBotInfo> {
  const resolved = resolveShardConfig(config);
  return fetchGatewayBot(restUrl, resolved.token.reveal(), { userAgent: resolved.userAgent });
}

/** The shards of a set of `total`, all sharing the config's queue. */
function buildSet(config: ShardConfig & { queue: Queue }, total: number, sessions?: ReadonlyMap<number, Session>): Shard[] {
  const plans = planRange({ start: 0, end: total }, total, config, sessions === undefined ? undefined : resumeSessions(sessions));
  return plans.map(({ id, config: planned }) => new Shard(id, planned));
}

/**
 * Whether an old shard has received everything sent to it before the switch: connected
 * (a reconnecting shard has a replay to come) with nothing but its next item buffered.
 */
const caughtUp = (shard: Shard): boolean => (shard.state.kind === 'Active' ? shard.buffered <= 1 : shard.state.kind === 'FatallyClosed');

/** Identifies left in the queue's own budget, when it keeps one (`InMemoryQueue`). */
function queueRemaining(queue: Queue): number {
  const remaining = (queue as { remaining?: unknown }).remaining;
  return typeof remaining === 'number' ? remaining : Number.POSITIVE_INFINITY;
}

function checkReshardOptions(options: ReshardOptions): void {
  const positive = (name: keyof ReshardOptions, value: number | null | undefined, min: number): void => {
    if (value === undefined || value === null) return;
    if (!Number.isFinite(value) || value < min) throw new ConfigError(`reshard.${name}`, `must be a number of at least ${min}, got ${String(value)}`);
  };
  positive('checkInterval', options.checkInterval, 1_000);
  positive('threshold', options.threshold, 0);
  positive('dedupeWindow', options.dedupeWindow, 1);
  positive('guildTimeout', options.guildTimeout, 0);
  positive('drainTime', options.drainTime, 0);
}

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, CHECK_MS));
};
