/**
 * The course of a reshard around its routing: refusing up front what cannot work (another
 * reshard, the same count, a daily budget too small), starting the new set, the automatic
 * check of `/gateway/bot`, the old set's drain and close, and giving up when a new shard
 * closes fatally. Each fleet that reshards hosts one and tells it how to touch its shards.
 */
import { performance } from 'node:perf_hooks';
import type { APIGatewayBotInfo } from 'discord-api-types/v10';
import type { Logger } from '../observability/logger.js';
import { errorFields } from '../observability/logger.js';
import type { Queue } from '../queue/queue.js';
import { Fifo } from '../shard/fifo.js';
import { ReshardError, ReshardSwitch } from './resharding.js';
import type { ReshardItems, ReshardOptions, ReshardProgress, ReshardReport } from './resharding.js';

/** How often a reshard checks the new set's guild timeout and the old set's drain. */
const CHECK_MS = 100;

/** What a fleet lets its {@link Resharder} do with its shards. */
export interface ReshardHost<S> {
  /** The shards serving now. */
  serving(): readonly S[];
  /** The shard count serving now. */
  total(): number;
  /** `GET /gateway/bot`: the recommended count and today's identify budget. */
  gatewayBot(): Promise<APIGatewayBotInfo>;
  /** The fleet's identify queue, whose own budget counts too when it keeps one. */
  queue(): Queue | null;
  /** Builds a set of `total` shards on the fleet's queue and starts reading it. */
  startSet(total: number): Promise<readonly S[]>;
  /** The new set serves from now. */
  switched(newShards: readonly S[]): void;
  /** Whether every old shard has received what was sent to it before the switch (connected, nothing buffered). */
  caughtUp(oldShards: readonly S[]): boolean;
  /** Closes shards for good (`CloseFrame.NORMAL`); what they received still goes through the loop. */
  closeSet(shards: readonly S[]): Promise<void>;
  /** Whether everything the closed shards received has gone through the loop. */
  drained(shards: readonly S[]): boolean;
  /** Stops reading shards and closes them: what they hold is dropped. */
  discardSet(shards: readonly S[]): Promise<void>;
  /** Wakes the loop, which then takes {@link Resharder.takeReleased}. */
  wake(): void;
  /** Called once a reshard finished, before `onReshard`. */
  finished?(): void;
}

interface Running<S, I> {
  readonly route: ReshardSwitch<S, I>;
  readonly done: Promise<ReshardReport>;
  readonly finished: (report: ReshardReport) => void;
  readonly failed: (error: ReshardError) => void;
  readonly timer: NodeJS.Timeout;
  announced: boolean;
  drainedAt: number | null;
}

/**
 * Runs a fleet's reshards, one at a time, and its automatic mode.
 *
 * @internal
 */
export class Resharder<S, I> {
  readonly #host: ReshardHost<S>;
  readonly #items: ReshardItems<S, I>;
  readonly #options: Required<ReshardOptions>;
  readonly #logger: Logger | null;
  readonly #onReshard: ((report: ReshardReport) => void) | null;
  readonly #autoTimer: NodeJS.Timeout | null = null;
  readonly #released = new Fifo<I>();
  #running: Running<S, I> | null = null;
  #starting = false;
  #closed = false;
  #reshards = 0;

  constructor(host: ReshardHost<S>, items: ReshardItems<S, I>, options: Required<ReshardOptions>, logger: Logger | null, onReshard: ((report: ReshardReport) => void) | null) {
    this.#host = host;
    this.#items = items;
    this.#options = options;
    this.#logger = logger;
    this.#onReshard = onReshard;
    if (options.checkInterval !== null) {
      this.#autoTimer = setInterval(() => void this.#checkRecommended(), options.checkInterval);
      this.#autoTimer.unref();
    }
  }

  /** Whether items need routing (a reshard is under way), or released items wait. */
  get active(): boolean {
    return this.#running !== null || this.#released.length > 0;
  }

  /** Where the reshard under way is, or null. */
  get progress(): ReshardProgress | null {
    return this.#running?.route.progress ?? null;
  }

  /** How many reshards finished. */
  get reshards(): number {
    return this.#reshards;
  }

  /** Starts a reshard; resolves when the old set is closed. See `ShardFleet.reshard`. */
  async reshard(total?: number): Promise<ReshardReport> {
    if (total !== undefined && (!Number.isInteger(total) || total < 1)) throw new RangeError(`reshard total must be an integer of at least 1, got ${String(total)}`);
    this.#refuseIf();
    this.#starting = true;
    let running: Running<S, I>;
    try {
      const info = await this.#host.gatewayBot();
      if (this.#closed) throw new ReshardError('Closed', 'the fleet is closed');
      const from = this.#host.total();
      const to = total ?? info.shards;
      if (to === from) throw new ReshardError('Unchanged', `the fleet already runs ${to} shards`);
      const remaining = Math.min(info.session_start_limit.remaining, queueRemaining(this.#host.queue()));
      if (remaining < to) {
        const resetMinutes = Math.ceil(info.session_start_limit.reset_after / 60_000);
        throw new ReshardError('Budget', `resharding to ${to} shards needs ${to} identifies, and ${remaining} of today's session_start_limit remain (it resets in ${resetMinutes} min); nothing changed`);
      }
      const oldShards = this.#host.serving();
      const newShards = await this.#host.startSet(to);
      running = this.#run(new ReshardSwitch({ from, to, oldShards, newShards }, this.#options, this.#items));
      this.#logger?.info({ from, to }, 'resharding: the new set identifies while the old one serves');
    } finally {
      this.#starting = false;
    }
    return running.done;
  }

  /** An item of either set: handed on, or null when held back or the other set's copy. */
  route(item: I): I | null {
    const running = this.#running;
    if (running === null) return item;
    const { route } = running;
    if (route.phase === 'identifying' && route.newShards.has(this.#items.shard(item))) {
      const fatal = this.#items.fatal(item);
      if (fatal !== null) {
        void this.#abandon(running, fatal);
        return item;
      }
    }
    const routed = route.route(item);
    if (route.phase === 'draining') this.#announce(running);
    return routed;
  }

  /** Takes the oldest held-back item the switch released and the loop has not had, or undefined. */
  takeReleased(): I | undefined {
    return this.#released.shift();
  }

  /**
   * Ends the resharder: no more automatic checks; a reshard under way rejects with kind
   * `Closed`. Returns the shards of the set that does not serve, for the fleet to close.
   */
  close(): readonly S[] {
    this.#closed = true;
    if (this.#autoTimer !== null) clearInterval(this.#autoTimer);
    const running = this.#running;
    if (running === null) return [];
    this.#running = null;
    clearInterval(running.timer);
    running.failed(new ReshardError('Closed', 'the fleet was closed during the reshard'));
    return [...(running.route.phase === 'identifying' ? running.route.newShards : running.route.oldShards)];
  }

  #refuseIf(): void {
    if (this.#closed) throw new ReshardError('Closed', 'the fleet is closed');
    const running = this.#running;
    if (running !== null) throw new ReshardError('InProgress', `a reshard to ${running.route.to} shards is under way`);
    if (this.#starting) throw new ReshardError('InProgress', 'a reshard is starting');
  }

  #run(route: ReshardSwitch<S, I>): Running<S, I> {
    let finished!: (report: ReshardReport) => void;
    let failed!: (error: ReshardError) => void;
    const done = new Promise<ReshardReport>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    const running: Running<S, I> = { route, done, finished, failed, announced: false, drainedAt: null, timer: setInterval(() => this.#check(running), CHECK_MS) };
    this.#running = running;
    return running;
  }

  /** Once, after the switch: the new set serves, its released items go to the loop first. */
  #announce(running: Running<S, I>): void {
    if (running.announced) return;
    running.announced = true;
    const { route } = running;
    for (const item of route.released()) this.#released.push(item);
    this.#host.switched([...route.newShards]);
    this.#logger?.info({ from: route.from, to: route.to, released: this.#released.length, after: Math.round(performance.now() - route.startedAt) }, 'resharding: the new set serves; the old one drains');
    this.#host.wake();
  }

  /** Runs while resharding: the guild timeout, then the old set's drain and close. */
  #check(running: Running<S, I>): void {
    if (this.#running !== running) return;
    const { route } = running;
    if (!route.tick()) return;
    this.#announce(running);
    const now = performance.now();
    const oldShards = [...route.oldShards];
    if (running.drainedAt === null) {
      if (this.#host.caughtUp(oldShards)) running.drainedAt = now;
      return;
    }
    if (now - running.drainedAt < this.#options.drainTime) return;
    clearInterval(running.timer);
    void this.#finish(running, oldShards);
  }

  async #finish(running: Running<S, I>, oldShards: readonly S[]): Promise<void> {
    await this.#host.closeSet(oldShards);
    // What the old shards still hold goes through the pairing before the reshard ends.
    while (!this.#host.drained(oldShards) && this.#running === running) await new Promise((resolve) => setTimeout(resolve, CHECK_MS));
    if (this.#running !== running) return; // closed meanwhile
    this.#running = null;
    this.#reshards += 1;
    this.#host.finished?.();
    const report = running.route.report();
    this.#logger?.info({ ...report }, 'resharded');
    running.finished(report);
    this.#host.wake();
    try {
      this.#onReshard?.(report);
    } catch (error) {
      this.#logger?.error({ err: errorFields(error) }, 'onReshard threw');
    }
  }

  /** A new shard ended fatally before the switch: the new set goes, the old one stays. */
  async #abandon(running: Running<S, I>, cause: Error): Promise<void> {
    if (this.#running !== running) return;
    this.#running = null;
    clearInterval(running.timer);
    const { route } = running;
    this.#logger?.error({ err: errorFields(cause), from: route.from, to: route.to }, 'resharding gave up: a new shard closed fatally; the old set keeps serving');
    await this.#host.discardSet([...route.newShards]);
    running.failed(new ReshardError('NewSetFailed', `resharding to ${route.to} shards gave up: ${cause.message}; the ${route.from} shards keep serving`, { cause }));
  }

  /** The automatic mode: reshards when `/gateway/bot` recommends enough more shards. */
  async #checkRecommended(): Promise<void> {
    if (this.#running !== null || this.#starting || this.#closed) return;
    try {
      const recommended = (await this.#host.gatewayBot()).shards;
      const total = this.#host.total();
      if (recommended <= total * (1 + this.#options.threshold) || this.#running !== null || this.#starting) return;
      this.#logger?.info({ from: total, to: recommended }, 'resharding: /gateway/bot recommends more shards');
      await this.reshard(recommended);
    } catch (error) {
      if (this.#logger === null) process.emitWarning(`gloaming: automatic reshard failed: ${(error as Error).message}`);
      else this.#logger.error({ err: errorFields(error) }, 'automatic reshard failed');
    }
  }
}

/** Identifies left in the queue's own budget, when it keeps one (`InMemoryQueue`). */
function queueRemaining(queue: Queue | null): number {
  const remaining = (queue as { remaining?: unknown } | null)?.remaining;
  return typeof remaining === 'number' ? remaining : Number.POSITIVE_INFINITY;
}
