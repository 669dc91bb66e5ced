/**
 * ShardFleet: every shard of a bot in this process, read as one merged stream, that can
 * move to another shard count while it runs (resharding): the new set identifies through
 * the same queue while the old set serves, takes over once it has caught up, and each event
 * reaches the loop once across the switch.
 */
import { ConfigError, resolveShardConfig } from '../config.js';
import type { ShardConfig } from '../config.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { Logger } from '../observability/logger.js';
import type { Session } from '../shard/session.js';
import { Shard } from '../shard/shard.js';
import { closeAll } from './create.js';
import { ShardEventStream, ShardMessageStream } from './merged-stream.js';
import type { ShardEventItem, ShardMessageItem } from './merged-stream.js';
import { DISCORD_REST_URL, checkedRestUrl, gatewayBotFor, planRange } from './plan.js';
import type { RecommendedConfig } from './plan.js';
import { Resharder } from './resharder.js';
import { Turns } from './turns.js';
import type { ReshardHost } from './resharder.js';
import { fleetItems } from './reshard-items.js';
import type { FleetItem } from './reshard-items.js';
import { ReshardError, resolveReshardOptions } from './resharding.js';
import type { ReshardOptions, ReshardProgress, ReshardReport } from './resharding.js';
import { resumeSessions } from './sessions.js';
import { keepSessions } from '../sessions/saver.js';
import type { SessionKeeper } from '../sessions/saver.js';
import type { SessionStore } from '../sessions/store.js';

/** Options of a {@link ShardFleet}. */
export interface ShardFleetOptions {
  /**
   * The config every shard gets; `restUrl` is where `/gateway/bot` is asked (the count when
   * `shards` is not given, the budget before a reshard). Its `queue`, or an `InMemoryQueue`
   * sized from `/gateway/bot`, admits the identifies of every shard set.
   */
  readonly config: RecommendedConfig;
  /**
   * How many shards to start with (default: what `/gateway/bot` recommends), or
   * `{ total, start, end }` to run only shards [start, end) of `total` here (such a fleet
   * cannot reshard alone).
   */
  readonly shards?:
    | number
    | {
        /** The bot's shard count. */
        readonly total: number;
        /** The first shard run here; default 0. */
        readonly start?: number;
        /** The shard after the last one run here; default `total`. */
        readonly end?: number;
      };
  /** Sessions to resume, by shard number (as `close(CloseFrame.RESUME)` returned them). */
  readonly sessions?: ReadonlyMap<number, Session>;
  /**
   * Where the serving set's sessions are kept while the fleet runs (as `keepSessions` keeps
   * them), and loaded from at start when `sessions` is not given. After a reshard it keeps
   * the new set's, once the old set has closed (which forgets the old sessions).
   */
  readonly sessionStore?: SessionStore;
  /** How `reshard()` and its automatic mode (`checkInterval`) work; every field has a default. */
  readonly reshard?: ReshardOptions;
  /** Called after each reshard finished (the old set closed), asked for or automatic. */
  readonly onReshard?: (report: ReshardReport) => void;
}

/** The fleet's merged stream: of events, or of wanted messages, as the loop first reads it. */
type Merged = ShardEventStream | ShardMessageStream;

/**
 * Every shard of a bot in this process, read through one loop, with {@link ShardFleet.reshard}
 * to move to another shard count without downtime: the new set identifies through the same
 * queue while the old one serves, its events held back; once every new shard is READY and
 * has its guilds, it takes over and the old set closes. Events both sets received during the
 * overlap reach the loop once, paired by `t` and `d`; the new set's READYs and the
 * GUILD_CREATEs of the guilds they list are its session's start, not events, and are not
 * handed out. Pairing is unsound in one case: two events with the same `t` and `d` (a user
 * typing twice in one channel within a second), one seen only by the old set before the new
 * set had the guild and one only by the new set, within `dedupeWindow` — the second is then
 * taken for the first's copy.
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
  readonly #resharder: Resharder<Shard, FleetItem<Shard>>;
  /** Whether the fleet runs only part of the bot's shards. */
  readonly #partial: boolean;
  /** Every shard the stream reads (both sets while resharding), also before the stream exists. */
  readonly #members: Set<Shard>;
  /** Made on the first read, of events (`next`) or messages (`messages`). */
  #stream: Merged | null = null;
  #shards: readonly Shard[];
  /** The merged stream's next item, kept while a reshard may wake the loop first. */
  #pendingNext: Promise<FleetItem<Shard> | null> | null = null;
  #wake: (() => void) | null = null;
  /** Routed reads, one at a time. */
  readonly #turns = new Turns();
  /** Keeps the serving set's sessions in the `sessionStore`; moved to the new set after a reshard. */
  #keeper: Promise<SessionKeeper> | null;

  private constructor(config: ShardConfig & { queue: Queue }, restUrl: string, shards: Shard[], options: ShardFleetOptions) {
    this.#config = config;
    this.#restUrl = restUrl;
    this.#shards = shards;
    this.#members = new Set(shards);
    this.#partial = shards.length !== (shards[0]?.id.total ?? 0);
    const logger = config.logger?.child({ component: 'ShardFleet' }) ?? null;
    const store = options.sessionStore;
    this.#keeper = store === undefined ? null : Promise.resolve(keepSessions(shards, store, logger === null ? {} : { logger }));
    this.#resharder = new Resharder(this.#host(store, logger), fleetItems<Shard>(), resolveReshardOptions(options.reshard), logger, options.onReshard ?? null);
  }

  /**
   * Plans and starts the fleet: `options.shards` shards, or as many as `/gateway/bot`
   * recommends. Shards connect when the loop first reads.
   *
   * @throws ConfigError for a bad config (before any request); RangeError for a bad reshard
   *   option; GatewayBotError when `/gateway/bot` is needed and does not answer.
   * @example
   * const fleet = await ShardFleet.start({ config: { token, intents }, shards: 4 });
   */
  static async start(options: ShardFleetOptions): Promise<ShardFleet> {
    resolveReshardOptions(options.reshard);
    const { restUrl: askedUrl = DISCORD_REST_URL, ...given } = options.config;
    const restUrl = checkedRestUrl(askedUrl, resolveShardConfig(given).allowInsecureUrls);
    const asked = options.shards;
    let total = typeof asked === 'object' ? asked.total : asked;
    if (total !== undefined && (!Number.isInteger(total) || total < 1)) throw new ConfigError('shards', `must be an integer of at least 1, got ${String(total)}`);
    let config = given;
    if (total === undefined || given.queue === undefined) {
      const info = await gatewayBotFor({ ...given, restUrl });
      total ??= info.shards;
      const limit = info.session_start_limit;
      config = { gatewayUrl: info.url, ...given, queue: given.queue ?? new InMemoryQueue(limit.max_concurrency, limit.remaining, limit.reset_after, limit.total) };
    }
    const withQueue = config as ShardConfig & { queue: Queue };
    const range = typeof asked === 'object' ? { start: asked.start ?? 0, end: asked.end ?? total } : { start: 0, end: total };
    const sessions = options.sessions ?? (await options.sessionStore?.load());
    return new ShardFleet(withQueue, restUrl, buildSet(withQueue, total, range, sessions), options);
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
    return this.#resharder.progress;
  }

  /** How many reshards finished since the fleet started. */
  get reshards(): number {
    return this.#resharder.reshards;
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
   *   RangeError for a bad `total`; GatewayBotError when `/gateway/bot` does not answer.
   * @example
   * const report = await fleet.reshard(8);
   * console.log(`${report.from} → ${report.to} shards; switched after ${report.switchAfter} ms`);
   */
  reshard(total?: number): Promise<ReshardReport> {
    if (this.#partial) return Promise.reject(new ReshardError('Partial', `this fleet runs ${this.#shards.length} of the bot's ${this.total} shards: a fleet that holds only part of the bot cannot reshard it alone`));
    return this.#resharder.reshard(total);
  }

  /**
   * The next item of any shard, or null once the fleet is closed and drained. Breaking out
   * of a loop over the fleet does not close it.
   *
   * @throws Error when the fleet is already read as `messages()`.
   */
  next(): Promise<ShardEventItem | null> {
    return this.#nextOf(this.#read('events')) as Promise<ShardEventItem | null>;
  }

  /**
   * The same stream as messages, unparsed: each shard's wanted messages as
   * `nextWantedMessage` yields them (for forwarding events elsewhere, where they are parsed
   * once). Read the fleet one way: this or its events.
   *
   * @throws Error (from the iterator) when the fleet is already read as events.
   * @example
   * for await (const { shard, message } of fleet.messages()) {
   *   if (message.type === 'text') forward(shard.id.number, message.text);
   * }
   */
  messages(): AsyncIterableIterator<ShardMessageItem, undefined> {
    return this.#iterate<ShardMessageItem>('messages');
  }

  /** An iterator over the fleet read as `mode`: the merged stream's own answers while no reshard routes them. */
  #iterate<Item>(mode: 'events' | 'messages'): AsyncIterableIterator<Item, undefined> {
    const done: IteratorReturnResult<undefined> = { value: undefined, done: true };
    const iterator: AsyncIterableIterator<Item, undefined> = {
      next: () => {
        const stream = this.#read(mode);
        if (this.#unrouted) return stream.nextResult() as Promise<IteratorResult<Item, undefined>>;
        return this.#turns.run(() => this.#nextRouted(stream)).then((item) => (item === null ? done : { value: item as Item, done: false }));
      },
      return: () => Promise.resolve(done),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The merged stream, made on the first read in the way that read asks for. */
  #read(mode: 'events' | 'messages'): Merged {
    const stream = this.#stream;
    if (stream !== null) {
      if ((stream instanceof ShardEventStream) !== (mode === 'events')) throw new Error(`this ShardFleet is read as ${mode === 'events' ? 'messages' : 'events'}: read a fleet one way`);
      return stream;
    }
    const members = [...this.#members];
    this.#stream = mode === 'events' ? new ShardEventStream(members) : new ShardMessageStream(members, { wantedOnly: true });
    return this.#stream;
  }

  /** Whether no reshard routes the stream (nor a caller still in line for it): the merged stream answers as it is. */
  get #unrouted(): boolean {
    return !this.#resharder.active && this.#pendingNext === null && this.#turns.waiting === 0;
  }

  /** The next item, routed while a reshard runs: callers then take turns, as they share the one item asked for. */
  #nextOf(stream: Merged): Promise<FleetItem<Shard> | null> {
    return this.#unrouted ? stream.next() : this.#turns.run(() => this.#nextRouted(stream));
  }

  async #nextRouted(stream: Merged): Promise<FleetItem<Shard> | null> {
    for (;;) {
      if (!this.#resharder.active && this.#pendingNext === null) return stream.next(); // no reshard: the plain merged stream
      const released = this.#resharder.takeReleased();
      if (released !== undefined) return released;
      this.#pendingNext ??= stream.next();
      const woken = new Promise<undefined>((resolve) => (this.#wake = () => resolve(undefined)));
      const item = await Promise.race([this.#pendingNext, woken]);
      if (item === undefined) continue;
      this.#pendingNext = null;
      if (item === null) return null;
      const routed = this.#resharder.route(item);
      if (routed !== null) return routed;
    }
  }

  /** Iterates the fleet's events until it is closed and drained; breaking out does not close it. */
  [Symbol.asyncIterator](): AsyncIterableIterator<ShardEventItem, undefined> {
    return this.#iterate<ShardEventItem>('events');
  }

  /** What the resharder may do with this fleet's shards. */
  #host(store: SessionStore | undefined, logger: Logger | null): ReshardHost<Shard> {
    // A closed shard leaves the stream once what it held was read; never read, it holds nothing for the loop.
    const left = (shards: readonly Shard[]): boolean => {
      const members = new Set(this.#stream?.shards ?? []);
      return shards.every((shard) => !members.has(shard));
    };
    return {
      queue: () => this.#config.queue,
      serving: () => this.#shards,
      total: () => this.total,
      gatewayBot: () => gatewayBotFor({ ...this.#config, restUrl: this.#restUrl }),
      startSet: (total) => {
        const shards = buildSet(this.#config, total, { start: 0, end: total });
        for (const shard of shards) {
          this.#members.add(shard);
          this.#stream?.add(shard);
        }
        return Promise.resolve(shards);
      },
      switched: (shards) => (this.#shards = shards),
      caughtUp: (shards) => shards.every(caughtUp),
      closeSet: async (shards) => {
        for (const shard of shards) this.#members.delete(shard);
        await closeAll(shards, CloseFrame.NORMAL);
      },
      drained: left,
      discardSet: async (shards) => {
        for (const shard of shards) {
          this.#members.delete(shard);
          this.#stream?.remove(shard);
        }
        await closeAll(shards, CloseFrame.NORMAL);
      },
      wake: () => {
        const wake = this.#wake;
        this.#wake = null;
        wake?.();
      },
      finished: () => {
        // The old set forgot its sessions as it closed: once that is saved, the store keeps the new set's.
        const old = this.#keeper;
        if (old === null || store === undefined) return;
        this.#keeper = old.then(async (keeper) => {
          await keeper.stop();
          return keepSessions(this.#shards, store, logger === null ? {} : { logger });
        });
      },
    };
  }

  /**
   * Closes every shard (both sets, while resharding) with `frame` and returns the sessions
   * of the serving set (with `CloseFrame.RESUME`). A reshard under way is given up; its
   * `reshard()` rejects with kind `Closed`. Items already received can still be read.
   *
   * @example
   * const sessions = await fleet.close(CloseFrame.RESUME);
   * const next = await ShardFleet.start({ config, shards: sessions.size, sessions });
   */
  async close(frame: CloseFrame = CloseFrame.NORMAL): Promise<Map<number, Session>> {
    const other = this.#resharder.close();
    // The set that does not serve goes with what it holds: unrouted, it would be handed out twice.
    for (const shard of other) {
      this.#members.delete(shard);
      this.#stream?.remove(shard);
    }
    // A keeper moving to the new set is in place first, so it sees the serving set close.
    const keeper = await this.#keeper;
    const [sessions] = await Promise.all([closeAll(this.#shards, frame), closeAll(other, CloseFrame.NORMAL)]);
    await keeper?.stop();
    return sessions;
  }

  /** Closes the fleet when used with `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Shards [start, end) of `total`, all sharing the config's queue. */
function buildSet(config: ShardConfig & { queue: Queue }, total: number, range: { start: number; end: number }, sessions?: ReadonlyMap<number, Session>): Shard[] {
  const plans = planRange(range, total, config, sessions === undefined ? undefined : resumeSessions(sessions));
  return plans.map(({ id, config: planned }) => new Shard(id, planned));
}

/**
 * Whether an old shard has received everything sent to it before the switch: connected
 * (a reconnecting shard has a replay to come) with nothing but its next item buffered.
 */
const caughtUp = (shard: Shard): boolean => (shard.state.kind === 'Active' ? shard.buffered <= 1 : shard.state.kind === 'FatallyClosed');
