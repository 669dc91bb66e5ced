/**
 * WorkerFleet: shards spread over supervised worker threads, read as one stream on the main
 * thread. The main thread owns the identify queue and, per shard, the session as of the last
 * batch it received; a worker that exits unasked is started again and its shards resume
 * from there, so the loop sees every event once and no identify is spent.
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { ConfigError, resolveShardConfig } from '../config.js';
import type { ShardConfig } from '../config.js';
import { shardConfigToData } from '../config-data.js';
import { gatewayBotFor, planRange, planRecommended } from '../fleet/plan.js';
import { Turns } from '../fleet/turns.js';
import type { RecommendedConfig } from '../fleet/plan.js';
import { fleetItems } from '../fleet/reshard-items.js';
import type { FleetItem } from '../fleet/reshard-items.js';
import { Resharder } from '../fleet/resharder.js';
import type { ReshardHost } from '../fleet/resharder.js';
import { ReshardError, resolveReshardOptions } from '../fleet/resharding.js';
import type { ReshardOptions, ReshardProgress, ReshardReport } from '../fleet/resharding.js';
import { enabledLevels } from '../observability/logger.js';
import type { Logger } from '../observability/logger.js';
import { withEarlier } from '../observability/stats.js';
import { DEFAULT_SAVE_INTERVAL_MS, SessionSaver } from '../sessions/saver.js';
import type { SessionStore } from '../sessions/store.js';
import type { ShardStats } from '../observability/stats.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import { backoffDelay } from '../shard/disconnect.js';
import { ShardError } from '../shard/errors.js';
import type { ShardEvent, ShardMessage } from '../shard/events.js';
import { Fifo } from '../shard/fifo.js';
import { Session } from '../shard/session.js';
import { ShardId } from '../shard/shard-id.js';
import { WorkerShardHandle } from './handle.js';
import type { ShardReport } from './handle.js';
import type { CrossedError, CrossedItem, FleetMessage, WorkerInit, WorkerMessage } from './protocol.js';
import { startWorker } from './spawn.js';

/** Which shards a WorkerFleet runs. */
export type WorkerFleetShards =
  | {
      /** The bot's shard count. */
      readonly total: number;
      /** The first shard run here; default 0. */
      readonly start?: number;
      /** The shard after the last one run here; default `total`. */
      readonly end?: number;
    }
  | {
      /** As many as `GET /gateway/bot` (at `config.restUrl`) recommends, all of them here. */
      readonly recommended: true;
    };

/** Options of a {@link WorkerFleet}. */
export interface WorkerFleetOptions {
  /** How many worker threads; default `os.availableParallelism()`, never more than there are shards. */
  readonly workers?: number;
  /**
   * `{ total }` for all shards of a total, `{ total, start, end }` for the range [start, end),
   * `{ recommended: true }` for the count `GET /gateway/bot` recommends (through `config.restUrl`).
   */
  readonly shards: WorkerFleetShards;
  /**
   * The config every shard gets. It crosses threads as plain data (token included), so it
   * holds no functions: per-shard config comes from the module's `configureShard`.
   */
  readonly config: RecommendedConfig;
  /** Sessions to resume instead of identifying, by shard id (as `close` returned them). */
  readonly sessions?: ReadonlyMap<number, Session>;
  /**
   * Where sessions are kept between runs: loaded at start (unless `sessions` is given), saved
   * when a session begins or ends, every 5 s while they move, and on close.
   */
  readonly sessionStore?: SessionStore;
  /** A module loaded in every worker (see `WorkerModule`): an event handler and per-shard config. */
  readonly module?: URL | string;
  /**
   * The identify queue of every shard, on the main thread; default `config.queue`, else an
   * `InMemoryQueue` sized from `/gateway/bot` when recommended, else one with concurrency 1.
   */
  readonly queue?: Queue;
  /** A worker that exits more than `max` times within `windowMs` is given up on; default 5 in 60 s. */
  readonly restarts?: {
    /** Exits tolerated within the window; default 5. */
    readonly max?: number;
    /** The window, in ms; default 60 000. */
    readonly windowMs?: number;
  };
  /** Memory limits of each worker thread; one that runs out exits, and is restarted. */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Where the fleet logs worker starts, exits, restarts and give-ups, and where every shard's
   * lifecycle lines go (forwarded from the workers, with `worker` and `shardId`); default
   * `config.logger`, else silent. Levels the logger turns off (pino's `isLevelEnabled`) are
   * not sent between threads at all.
   */
  readonly logger?: Logger;
  /** How `reshard()` and its automatic mode work (a fleet of `{ total, start, end }` cannot reshard). */
  readonly reshard?: ReshardOptions;
  /** Called after each reshard finished (the old set closed), asked for or automatic. */
  readonly onReshard?: (report: ReshardReport) => void;
}

/** A WorkerFleet's numbers at one moment, for metrics. */
export interface WorkerFleetStats {
  /**
   * Every shard's stats. Counts go on across worker restarts from what the last `stats()`
   * before the exit read (what a worker counted after that dies with it, as a crashed
   * process's counters do). A shard whose worker did not answer in time has its last known stats.
   */
  readonly shards: readonly ShardStats[];
  /** The latest identify queue waits in ms (up to 10,000), measured on the main thread, oldest first. */
  readonly identifyWaits: readonly number[];
  /** How many identify waits the fleet recorded in all: the last `recorded - seen` of `identifyWaits` are new to a reader that saw `seen`. */
  readonly identifyWaitsRecorded: number;
  /** Items received from the workers and not yet taken by the loop. */
  readonly buffered: number;
}

/** One worker thread of a fleet, as `fleet.workers` lists it. */
export interface WorkerInfo {
  /** Its position, 0-based: the `worker` of its shards' handles. */
  readonly index: number;
  /** The current thread's id, or -1 while it is being restarted or after it ended. */
  readonly threadId: number;
  /** The shards it holds, ended ones included. */
  readonly shardIds: readonly number[];
  /** How many times it was started again after exiting unasked. */
  readonly restarts: number;
  /** The current thread, or null while it is being restarted or after it ended. */
  readonly thread: Worker | null;
}

/** An item of a WorkerFleet's stream: the same shape as a merged stream's, with a handle for the shard. */
export interface WorkerFleetItem {
  /** The shard the event came from. */
  readonly shard: WorkerShardHandle;
  /** A gateway payload, a close, or an error item, as a local shard yields them. */
  readonly event: ShardEvent;
}

/** An item of {@link WorkerFleet.messages}: the shard's handle and its message, unparsed. */
export interface WorkerFleetMessageItem {
  /** The shard the message came from. */
  readonly shard: WorkerShardHandle;
  /** A wanted payload's JSON text, a close, or an error, as a local shard's `nextWantedMessage` yields them. */
  readonly message: ShardMessage;
}

/** How a taken item is handed out: as an event (parsed) or as a message (text). */
interface ItemShape<T> {
  text(shard: WorkerShardHandle, text: string): T;
  close(shard: WorkerShardHandle, code: number | null, reason: string): T;
  error(shard: WorkerShardHandle, error: ShardError): T;
}

const MESSAGE_ITEMS: ItemShape<WorkerFleetMessageItem> = {
  text: (shard, text) => ({ shard, message: { type: 'text', text } }),
  close: (shard, code, reason) => ({ shard, message: { type: 'close', code, reason } }),
  error: (shard, error) => ({ shard, message: { type: 'error', error } }),
};

/** How long `stats()` waits for a worker's answer. */
const STATS_TIMEOUT_MS = 2_000;
/** Identify waits kept for the next `stats()`: a fleet nobody scrapes must not grow. */
const MAX_IDENTIFY_WAITS = 10_000;

/** Items taken by the loop between two credits sent back to a worker (and at the end of each batch). */
const CREDIT_EVERY = 256;
/** How long a closing worker has to close its shards before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;
const RESTART_BACKOFF = { initial: 500, max: 10_000, jitter: false };

/** Received items, in the fleet's buffer as they came (no object per item) until the loop has taken them all. */
interface Received {
  /** The worker they came from, credited once all are taken; null for the fleet's own items (a worker's exit). */
  readonly slot: Slot | null;
  readonly generation: number;
  readonly shards: readonly number[];
  readonly texts: readonly (string | null)[];
  readonly others: readonly CrossedItem[];
  /** The next item to take, and the next of `others`. */
  at: number;
  otherAt: number;
}

/** A command on its way to a worker. */
interface PendingCommand {
  readonly shard: number;
  readonly json: string;
  readonly resolve: () => void;
  readonly reject: (error: ShardError) => void;
  posted: boolean;
}

/** One worker position: its shards, and the thread currently filling it. */
interface Slot {
  readonly index: number;
  readonly shardIds: readonly number[];
  thread: Worker | null;
  /** Bumped with every thread, so messages and credits of an old one are told apart. */
  generation: number;
  restarts: number;
  /** When it exited unasked, within the restart window. */
  exits: number[];
  lastError: string | null;
  readonly tickets: Map<number, AbortController>;
  /** Commands not yet confirmed: posted to the thread, or waiting for one while it restarts. */
  readonly commands: Map<number, PendingCommand>;
  /** Items taken by the loop and not yet credited. */
  taken: number;
  restartTimer: NodeJS.Timeout | null;
  /** Given up after too many exits, or every shard of it ended: never started again. */
  retired: boolean;
  exited: Promise<void>;
}

const positiveInteger = (name: string, value: unknown): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigError(name, `must be an integer of at least 1, got ${String(value)}`);
  return value;
};

/** The part of the fleet's config that crosses to the workers: no REST URL, and no queue (the fleet's stays here). */
function crossingConfig(config: RecommendedConfig, gatewayUrl?: string): ShardConfig {
  const copy: RecommendedConfig = { ...config, ...(gatewayUrl === undefined ? {} : { gatewayUrl }) };
  delete copy.restUrl;
  delete copy.queue;
  delete copy.logger;
  return copy;
}

const errorFrom = (crossed: CrossedError): ShardError => new ShardError(crossed.code, crossed.message, crossed.closeCode === undefined ? undefined : { closeCode: crossed.closeCode });

/**
 * Shards on worker threads, one loop on the main thread. Events cross as text in batches
 * after the `eventTypes` filter ran in the worker, and are parsed once, here. Nothing starts
 * until the fleet is constructed; iterate it like a merged stream.
 *
 * @throws ConfigError (from the constructor) naming a bad option; errors of `GET /gateway/bot`
 *   (recommended) reject the first `next()`.
 * @example
 * const fleet = new WorkerFleet({ workers: 2, shards: { total: 16 }, config: { token, intents } });
 * for await (const { shard, event } of fleet) {
 *   if (event.t === 'MESSAGE_CREATE') console.log(shard.id.number, event.d.content);
 * }
 * const sessions = await fleet.close(CloseFrame.RESUME); // for the next fleet's `sessions`
 */
export class WorkerFleet implements AsyncIterable<WorkerFleetItem> {
  readonly #options: WorkerFleetOptions;
  readonly #maxRestarts: number;
  readonly #restartWindowMs: number;
  readonly #buffer = new Fifo<Received>();
  #buffered = 0;
  readonly #handles = new Map<number, WorkerShardHandle>();
  readonly #reports = new Map<number, ShardReport>();
  readonly #ended = new Set<number>();
  #slots: Slot[] = [];
  #queue: Queue | null = null;
  #total = 0;
  /** What each worker's shards are built from, before their sessions are added. */
  #crossing: ShardConfig;
  /** Loops waiting for an item (more than one if `next()` is called again before it settles). */
  #waiting: (() => void)[] = [];
  #nextRequest = 1;
  #closing: Promise<Map<number, Session>> | null = null;
  readonly #started: Promise<void>;
  #startError: Error | null = null;
  readonly #logger: Logger | null;
  /** Per shard, the stats last received from its worker (earlier lives included), and what its earlier lives counted. */
  readonly #lastStats = new Map<number, ShardStats>();
  readonly #earlierStats = new Map<number, ShardStats>();
  readonly #statsRequests = new Map<number, { readonly slot: Slot; readonly answer: (stats: readonly ShardStats[] | null) => void }>();
  readonly #identifyWaits: number[] = [];
  #identifyWaitsRecorded = 0;
  /** Made once the stored sessions are loaded: a fleet whose load failed must not overwrite them. */
  #saver: SessionSaver | null = null;
  readonly #resharder: Resharder<WorkerShardHandle, FleetItem<WorkerShardHandle>>;
  /** The new set, on its own workers, from the start of a reshard. */
  #successor: WorkerFleet | null = null;
  /** The successor once it serves (after the switch): what the fleet's shards, workers and stats describe. */
  #handedTo: WorkerFleet | null = null;
  /** This fleet's own stream ended after a reshard closed it: only the successor is read. */
  #ownDone = false;
  #successorDone = false;
  #pendingOwn: Promise<IteratorResult<FleetItem<WorkerShardHandle>, undefined>> | null = null;
  #pendingSuccessor: Promise<IteratorResult<FleetItem<WorkerShardHandle>, undefined>> | null = null;
  #wakeRouted: (() => void) | null = null;
  /** Routed reads, one at a time. */
  readonly #turns = new Turns();

  /**
   * @throws ConfigError naming a bad option (workers, shards, config, restarts, module).
   */
  constructor(options: WorkerFleetOptions) {
    this.#options = options;
    this.#logger = options.logger ?? options.config.logger ?? null;
    if (options.workers !== undefined) positiveInteger('workers', options.workers);
    this.#maxRestarts = options.restarts?.max ?? 5;
    this.#restartWindowMs = options.restarts?.windowMs ?? 60_000;
    if (!Number.isInteger(this.#maxRestarts) || this.#maxRestarts < 0) throw new ConfigError('restarts.max', `must be an integer of at least 0, got ${String(this.#maxRestarts)}`);
    positiveInteger('restarts.windowMs', this.#restartWindowMs);
    const shardConfig = crossingConfig(options.config);
    resolveShardConfig(shardConfig); // a bad option fails here, not in a worker
    if ('total' in options.shards) {
      const { total, start = 0, end = total } = options.shards;
      const plans = planRange({ start, end }, total, shardConfig); // the same RangeErrors as createRange
      this.#plan(
        plans.map((plan) => plan.id.number),
        total,
      );
    } else if (options.shards.recommended !== true) {
      throw new ConfigError('shards', 'must be { total }, { total, start, end } or { recommended: true }');
    }
    if (options.module !== undefined && !URL.canParse(options.module.toString())) throw new ConfigError('module', `must be a URL (new URL('./handler.js', import.meta.url)), got ${String(options.module)}`);
    this.#crossing = shardConfig;
    this.#resharder = new Resharder(this.#reshardHost(), fleetItems<WorkerShardHandle>(), resolveReshardOptions(options.reshard), this.#logger, options.onReshard ?? null);
    this.#started = this.#start().catch((error: unknown) => {
      this.#startError = error instanceof Error ? error : new Error(String(error));
      this.#wakeLoop();
    });
  }

  /**
   * Resolves once the fleet has planned its shards (for `{ recommended: true }`, after
   * `GET /gateway/bot`) and started its workers, so `shards` holds every handle.
   *
   * @throws what planning threw: `GatewayBotError` for a failed `/gateway/bot`, ConfigError.
   * @example
   * await fleet.ready();
   * console.log(`${fleet.shards.size} shards on ${fleet.workers.length} workers`);
   */
  async ready(): Promise<void> {
    await this.#started;
    if (this.#startError !== null) throw this.#startError;
  }

  /** The worker threads, with the shards each holds and how often it was restarted. */
  get workers(): readonly WorkerInfo[] {
    if (this.#handedTo !== null) return this.#handedTo.workers;
    return this.#slots.map((slot) => ({ index: slot.index, threadId: slot.thread?.threadId ?? -1, shardIds: slot.shardIds, restarts: slot.restarts, thread: slot.thread }));
  }

  /**
   * Items received from the workers and not yet taken by the loop. Bounded: a worker stops
   * reading its shards while 2,048 of its items wait (their sockets then pause in turn).
   */
  get buffered(): number {
    return this.#buffered + (this.#successor?.buffered ?? 0);
  }

  /** The handle of every shard, by id (for `{ recommended: true }`, empty until `/gateway/bot` answered). */
  get shards(): ReadonlyMap<number, WorkerShardHandle> {
    return this.#handedTo?.shards ?? this.#handles;
  }

  /** The shard count serving now (0 until a `{ recommended: true }` fleet has planned). */
  get total(): number {
    return this.#handedTo?.total ?? this.#total;
  }

  /** Where the reshard under way is, or null. */
  get resharding(): ReshardProgress | null {
    return this.#resharder.progress ?? this.#successor?.resharding ?? null;
  }

  /** How many reshards finished since the fleet started. */
  get reshards(): number {
    return this.#resharder.reshards + (this.#successor?.reshards ?? 0);
  }

  /**
   * Moves the bot to `total` shards (default: what `/gateway/bot` recommends) while it runs,
   * as `ShardFleet.reshard` does: the new set starts on workers of its own (as many as this
   * fleet has), identifies through this fleet's queue while the old set serves, and takes
   * over once READY with its guilds; each event reaches the loop once across the switch.
   * Resolves once the old set's workers are closed. After that the fleet is the new set:
   * `shards`, `workers` and `stats()` describe it. A `sessionStore` keeps the old set's
   * sessions until the old set closes, then the new set's (its keys are shard numbers of one
   * total, so the two sets never write it at once).
   *
   * @throws ReshardError: `Partial` for a fleet of `{ total, start, end }`, and the kinds
   *   `ShardFleet.reshard` names; GatewayBotError when `/gateway/bot` does not answer.
   * @example
   * const report = await fleet.reshard(32);
   */
  async reshard(total?: number): Promise<ReshardReport> {
    if (this.#handedTo !== null) return this.#handedTo.reshard(total);
    const shards = this.#options.shards;
    if ('total' in shards && ((shards.start ?? 0) !== 0 || (shards.end ?? shards.total) !== shards.total)) {
      throw new ReshardError('Partial', `this fleet runs shards ${shards.start ?? 0}..${shards.end ?? shards.total} of ${shards.total}: a fleet that holds only part of the bot cannot reshard it alone`);
    }
    await this.ready();
    return this.#resharder.reshard(total);
  }

  /** Plans the shards recommended (`GET /gateway/bot`) if asked, then starts the workers. */
  async #start(): Promise<void> {
    const options = this.#options;
    let queue = options.queue ?? options.config.queue;
    if ('recommended' in options.shards) {
      const plans = await planRecommended({ ...options.config, queue }); // a queue with update() learns the limits
      queue ??= plans[0]?.config.queue;
      this.#crossing = crossingConfig(options.config, plans[0]?.config.gatewayUrl);
      this.#plan(
        plans.map((plan) => plan.id.number),
        plans[0]?.id.total ?? 1,
      );
    }
    this.#queue = queue ?? new InMemoryQueue(1);
    if (options.sessionStore !== undefined) {
      if (options.sessions === undefined) {
        const stored = await options.sessionStore.load();
        for (const [id, report] of this.#reports) report.session = stored.get(id) ?? null;
      }
      this.#saver = new SessionSaver(options.sessionStore, DEFAULT_SAVE_INTERVAL_MS, this.#logger);
    }
    if (this.#closing !== null) return; // closed while /gateway/bot was asked: start nothing
    for (const slot of this.#slots) this.#spawn(slot);
  }

  /** A handle per shard and a slot per worker; shards are dealt round the workers, so the first identify waves (and their GUILD_CREATE floods) land on all of them. */
  #plan(ids: readonly number[], total: number): void {
    this.#total = total;
    const count = Math.min(this.#options.workers ?? availableParallelism(), ids.length);
    ids.forEach((id, at) => {
      const report: ShardReport = { state: { kind: 'Disconnected', attempts: 0 }, latency: { average: null, recent: [], heartbeats: 0 }, session: this.#options.sessions?.get(id) ?? null };
      this.#reports.set(id, report);
      this.#handles.set(id, new WorkerShardHandle(new ShardId(id, total), at % count, report, (json) => this.#send(id, json)));
    });
    this.#slots = Array.from({ length: count }, (_, index) => ({
      index,
      shardIds: ids.filter((_, at) => at % count === index),
      thread: null,
      generation: 0,
      restarts: 0,
      exits: [],
      lastError: null,
      tickets: new Map(),
      commands: new Map(),
      taken: 0,
      restartTimer: null,
      retired: false,
      exited: Promise.resolve(),
    }));
  }

  /** Starts a thread for `slot`, its live shards resuming from their last received sessions. */
  #spawn(slot: Slot): void {
    slot.restartTimer = null;
    slot.generation += 1;
    slot.taken = 0;
    const generation = slot.generation;
    const init: WorkerInit = {
      index: slot.index,
      total: this.#total,
      shards: slot.shardIds
        .filter((id) => !this.#ended.has(id))
        .map((id) => ({ id, config: shardConfigToData({ ...this.#crossing, session: this.#reports.get(id)?.session ?? undefined }, { includeToken: true }) })),
      module: this.#options.module === undefined ? null : this.#options.module.toString(),
      logLevels: this.#logger === null ? [] : enabledLevels(this.#logger),
    };
    let thread: Worker;
    try {
      thread = startWorker(init, this.#options.resourceLimits);
    } catch (error) {
      if (generation === 1) throw error; // at start: the fleet cannot run (a ConfigError says why)
      slot.lastError = error instanceof Error ? error.message : String(error);
      this.#onExit(slot, -1); // a restart that could not start counts as another exit
      return;
    }
    slot.thread = thread;
    this.#logger?.info({ worker: slot.index, threadId: thread.threadId, shards: init.shards.length, restarts: slot.restarts }, 'worker started');
    let exited!: () => void;
    slot.exited = new Promise((resolve) => (exited = resolve));
    thread.on('message', (message: WorkerMessage) => {
      if (slot.generation === generation) this.#onMessage(slot, message);
    });
    thread.on('error', (error: Error) => {
      slot.lastError = error.stack ?? error.message;
    });
    thread.on('exit', (code: number) => {
      exited();
      if (slot.generation === generation) this.#onExit(slot, code);
    });
    for (const [request, command] of slot.commands) this.#postCommand(slot, request, command);
  }

  #postCommand(slot: Slot, request: number, command: PendingCommand): void {
    command.posted = true;
    this.#post(slot, { type: 'send', request, shard: command.shard, json: command.json });
  }

  /** Rejects the commands of `slot` that were posted (to a thread that exited), that wait for a thread, or all. */
  #rejectCommands(slot: Slot, error: ShardError, which: 'posted' | 'waiting' | 'all'): void {
    for (const [request, command] of slot.commands) {
      if ((which === 'posted' && !command.posted) || (which === 'waiting' && command.posted)) continue;
      slot.commands.delete(request);
      command.reject(error);
    }
  }

  #post(slot: Slot, message: FleetMessage): void {
    slot.thread?.postMessage(message);
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    switch (message.type) {
      case 'batch':
        return this.#onBatch(slot, message);
      case 'identify':
        return this.#admit(slot, message.ticket, message.shard);
      case 'identify-abort':
        return slot.tickets.get(message.ticket)?.abort();
      case 'sent': {
        const command = slot.commands.get(message.request);
        slot.commands.delete(message.request);
        if (message.error === null) command?.resolve();
        else command?.reject(errorFrom(message.error));
        return;
      }
      case 'log':
        this.#logger?.[message.level]({ worker: slot.index, ...message.fields }, message.msg);
        return;
      case 'stats':
        this.#statsRequests.get(message.request)?.answer(message.stats);
        return;
    }
  }

  #onBatch(slot: Slot, batch: Extract<WorkerMessage, { type: 'batch' }>): void {
    if (batch.shards.length !== 0) {
      this.#buffer.push({ slot, generation: slot.generation, shards: batch.shards, texts: batch.texts, others: batch.others, at: 0, otherAt: 0 });
      this.#buffered += batch.shards.length;
    }
    if (batch.others.length !== 0) this.#noteEnded(slot, batch);
    for (const [shard, session] of batch.sessions) {
      const report = this.#reports.get(shard);
      if (report === undefined) continue;
      const previous = report.session;
      report.session = session === null ? null : Session.fromJSON(session);
      // A session that began or ended is saved at once; one that moved, on the saver's interval.
      this.#saver?.changed(shard, report.session, previous?.id !== report.session?.id);
    }
    for (const [shard, state, latency] of batch.statuses) {
      const report = this.#reports.get(shard);
      if (report === undefined) continue;
      report.state = state;
      report.latency = latency;
    }
    if (batch.shards.length !== 0) this.#wakeLoop();
  }

  /**
   * Shards of the batch that ended for good are ended from now on: a restart of their worker
   * leaves them out, and a worker whose shards have all ended is closed, not kept running.
   */
  #noteEnded(slot: Slot, batch: Extract<WorkerMessage, { type: 'batch' }>): void {
    let other = 0;
    for (let i = 0; i < batch.shards.length; i++) {
      if (batch.texts[i] !== null) continue;
      const item = batch.others[other++];
      if (item?.type !== 'error' || errorFrom(item.error).kind !== 'FatallyClosed') continue;
      const id = batch.shards[i] as number;
      this.#ended.add(id);
      const report = this.#reports.get(id);
      if (report !== undefined) report.state = { kind: 'FatallyClosed', code: item.error.closeCode ?? 0 };
    }
    if (!slot.retired && slot.shardIds.every((id) => this.#ended.has(id))) {
      slot.retired = true;
      this.#post(slot, { type: 'close', code: CloseFrame.NORMAL.code, reason: CloseFrame.NORMAL.reason });
    }
  }

  /** A worker's shard asks for its identify turn: the fleet's queue decides, on this thread. */
  #admit(slot: Slot, ticket: number, shard: number): void {
    const abort = new AbortController();
    slot.tickets.set(ticket, abort);
    const asked = performance.now();
    // Tickets restart at 1 with each thread: only this wait's own entry may settle it.
    const mine = (): boolean => {
      if (slot.tickets.get(ticket) !== abort) return false;
      slot.tickets.delete(ticket);
      return true;
    };
    const refuse = (error: unknown): void => {
      if (!mine() || abort.signal.aborted) return;
      this.#post(slot, { type: 'identify-failed', ticket, message: error instanceof Error ? error.message : String(error) });
    };
    let admitted: Promise<void>;
    try {
      admitted = (this.#queue as Queue).enqueue(shard, abort.signal);
    } catch (error) {
      refuse(error); // a queue that throws instead of rejecting
      return;
    }
    admitted.then(() => {
      if (!mine()) return;
      this.#identifyWaitsRecorded += 1;
      if (this.#identifyWaits.push(performance.now() - asked) > MAX_IDENTIFY_WAITS) this.#identifyWaits.shift();
      this.#post(slot, { type: 'identify-granted', ticket });
    }, refuse);
  }

  #onExit(slot: Slot, code: number): void {
    slot.thread = null;
    for (const pending of this.#statsRequests.values()) if (pending.slot === slot) pending.answer(null); // it will not answer
    for (const abort of slot.tickets.values()) abort.abort();
    slot.tickets.clear();
    const why = slot.lastError === null ? `exit code ${code}` : `exit code ${code}: ${slot.lastError.split('\n')[0] ?? ''}`;
    slot.lastError = null;
    this.#rejectCommands(slot, new ShardError('WORKER_EXITED', `worker ${slot.index} exited (${why}) before confirming the command was sent; it may or may not have gone out`), 'posted');
    if (this.#closing !== null || slot.retired) {
      this.#wakeLoop();
      return;
    }
    const now = performance.now();
    slot.exits = [...slot.exits.filter((at) => now - at < this.#restartWindowMs), now];
    const live = slot.shardIds.filter((id) => !this.#ended.has(id));
    for (const id of slot.shardIds) {
      const last = this.#lastStats.get(id);
      if (last !== undefined) this.#earlierStats.set(id, last); // the next life counts on from here
    }
    this.#logger?.error({ worker: slot.index, code, error: why, exits: slot.exits.length, windowMs: this.#restartWindowMs }, 'worker exited unasked');
    for (const id of live) {
      const report = this.#reports.get(id) as ShardReport;
      report.state = { kind: 'Disconnected', attempts: 0 };
    }
    if (slot.exits.length > this.#maxRestarts) {
      slot.retired = true;
      for (const id of live) {
        this.#ended.add(id);
        (this.#reports.get(id) as ShardReport).state = { kind: 'FatallyClosed', code: 0 };
      }
      this.#rejectCommands(slot, new ShardError('SEND_AFTER_CLOSE', `worker ${slot.index} was given up`), 'all');
      const message = `worker ${slot.index} exited ${slot.exits.length} times within ${this.#restartWindowMs} ms (last: ${why}): given up, its shards end`;
      this.#logger?.error({ worker: slot.index, exits: slot.exits.length, windowMs: this.#restartWindowMs, shards: live }, 'worker given up');
      for (const id of live) this.#pushItem(id, { type: 'error', error: { code: 'WORKER_GAVE_UP', message } });
      this.#wakeLoop();
      return;
    }
    const delay = backoffDelay(slot.exits.length, RESTART_BACKOFF);
    for (const id of live) {
      const message = `worker ${slot.index} exited (${why}): starting it again in ${delay} ms; shard ${id} resumes where the main thread's events end`;
      this.#pushItem(id, { type: 'error', error: { code: 'WORKER_EXITED', message } });
    }
    this.#wakeLoop();
    this.#logger?.warn({ worker: slot.index, attempt: slot.exits.length, delayMs: delay, shards: live.length }, 'restarting worker');
    slot.restarts += 1;
    slot.restartTimer = setTimeout(() => this.#spawn(slot), delay);
  }

  #pushItem(shard: number, other: CrossedItem): void {
    this.#buffer.push({ slot: null, generation: 0, shards: [shard], texts: [null], others: [other], at: 0, otherAt: 0 });
    this.#buffered += 1;
  }

  #send(shard: number, json: string): Promise<void> {
    const handle = this.#handles.get(shard) as WorkerShardHandle;
    const slot = this.#slots[handle.worker] as Slot;
    if (this.#closing !== null) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `the fleet was closed`));
    if (this.#ended.has(shard) || slot.retired) return Promise.reject(new ShardError('SEND_AFTER_CLOSE', `shard ${handle.id.toString()} has ended`));
    const request = this.#nextRequest++;
    return new Promise<void>((resolve, reject) => {
      const command: PendingCommand = { shard, json, resolve, reject, posted: false };
      slot.commands.set(request, command);
      // While the worker restarts, the command waits for the new one.
      if (slot.thread !== null) this.#postCommand(slot, request, command);
    });
  }

  /**
   * Every shard's stats, asked of every worker (a metrics scrape calls this), and the latest
   * identify waits. A worker that does not answer within 2 s, or exits first, leaves its
   * shards' last known stats, with the state the fleet knows.
   *
   * @example
   * const { shards } = await fleet.stats();
   * console.log(shards.filter((shard) => shard.state.kind !== 'Active').map((shard) => shard.shardId));
   */
  async stats(): Promise<WorkerFleetStats> {
    if (this.#handedTo !== null) return this.#handedTo.stats();
    await this.#started;
    await Promise.all(this.#slots.map((slot) => this.#askStats(slot)));
    const shards: ShardStats[] = [];
    for (const [id, report] of this.#reports) {
      const last = this.#lastStats.get(id);
      if (last !== undefined) shards.push(report.state === last.state ? last : { ...last, state: report.state });
      else shards.push(this.#statsBefore(id, report));
    }
    return { shards, identifyWaits: [...this.#identifyWaits], identifyWaitsRecorded: this.#identifyWaitsRecorded, buffered: this.#buffered };
  }

  async #askStats(slot: Slot): Promise<void> {
    const thread = slot.thread;
    if (thread === null) return;
    const request = this.#nextRequest++;
    const answered = await new Promise<readonly ShardStats[] | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), STATS_TIMEOUT_MS).unref();
      this.#statsRequests.set(request, {
        slot,
        answer: (stats) => {
          clearTimeout(timer);
          resolve(stats);
        },
      });
      this.#post(slot, { type: 'stats', request });
    });
    this.#statsRequests.delete(request);
    if (slot.thread !== thread) return; // it exited meanwhile: what it said is its earlier life now
    for (const stats of answered ?? []) this.#lastStats.set(stats.shardId, withEarlier(stats, this.#earlierStats.get(stats.shardId)));
  }

  /** A shard no worker has reported on yet: its earlier lives' counts, or zeros. */
  #statsBefore(id: number, report: ShardReport): ShardStats {
    const earlier = this.#earlierStats.get(id);
    const zero = { dispatches: {}, identifies: 0, resumes: 0, resumed: 0, replayed: 0, reconnects: {}, commandsSent: 0, commandsRefused: 0 };
    return {
      shardId: id,
      state: report.state,
      counts: earlier?.counts ?? zero,
      bytesIn: earlier?.bytesIn ?? 0,
      bytesOut: earlier?.bytesOut ?? 0,
      latencyMs: report.latency.recent.at(-1) ?? null,
      buffered: 0,
      ratelimit: null,
    };
  }

  #wakeLoop(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** Whether the stream is over: closed, or every shard ended, with nothing left to take. */
  #finished(): boolean {
    if (this.#buffer.length !== 0) return false;
    if (this.#closing !== null) return this.#slots.every((slot) => slot.thread === null);
    return this.#handles.size !== 0 && this.#ended.size === this.#handles.size;
  }

  /**
   * The next item, once one is received; done once the fleet is closed and drained, or every
   * shard ended. Answered without waiting when an item is buffered (no promise chain per event).
   */
  next(): Promise<IteratorResult<WorkerFleetItem, undefined>> {
    const servedBy = this.#servedBy;
    if (servedBy !== null) return servedBy.next();
    if (this.#routed) return this.#turns.run(() => this.#nextRouted(this.#eventItems, (fleet) => fleet.next()));
    return this.#nextOwn(this.#eventItems);
  }

  /** Whether items go through the reshard's routing: while resharding, until the hand-over is whole, and while a caller waits its turn. */
  get #routed(): boolean {
    return this.#successor !== null || this.#pendingOwn !== null || this.#turns.waiting !== 0;
  }

  /** The new set, once it alone serves: every item of this fleet taken, no reshard routing, nobody in line. */
  get #servedBy(): WorkerFleet | null {
    const successor = this.#successor;
    return successor !== null && this.#ownDone && !this.#resharder.active && this.#pendingSuccessor === null && this.#turns.waiting === 0 ? successor : null;
  }

  #nextOwn<T>(shape: ItemShape<T>): Promise<IteratorResult<T, undefined>> {
    const item = this.#take(shape);
    return item === undefined ? this.#waitForNext(shape) : Promise.resolve({ value: item, done: false });
  }

  /**
   * While resharding (and after, as the successor serves): this fleet's items and the new
   * set's, through the reshard's routing; released items first.
   */
  async #nextRouted<T extends FleetItem<WorkerShardHandle>>(shape: ItemShape<T>, pull: (fleet: WorkerFleet) => Promise<IteratorResult<T, undefined>>): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      const released = this.#resharder.takeReleased();
      if (released !== undefined) return { value: released as T, done: false };
      const successor = this.#successor;
      const routing = this.#resharder.active;
      if (successor === null && this.#pendingOwn === null && !routing) return this.#nextOwn(shape); // a reshard given up
      if (successor !== null && this.#ownDone && !routing) {
        // Handed over for good: the successor's item already asked for comes first.
        const pending = this.#pendingSuccessor as Promise<IteratorResult<T, undefined>> | null;
        this.#pendingSuccessor = null;
        return pending ?? pull(successor);
      }
      const readNew = successor !== null && !this.#successorDone;
      if (this.#ownDone && !readNew) return { value: undefined, done: true };
      if (!this.#ownDone) this.#pendingOwn ??= this.#nextOwn(shape);
      if (readNew) this.#pendingSuccessor ??= pull(successor);
      const own = this.#pendingOwn;
      const fresh = this.#pendingSuccessor;
      const woken = new Promise<null>((resolve) => (this.#wakeRouted = () => resolve(null)));
      const won = await Promise.race([
        woken,
        ...(own === null ? [] : [own.then((result) => ({ own: true, result }))]),
        ...(fresh === null || !readNew ? [] : [fresh.then((result) => ({ own: false, result }))]),
      ]);
      if (won === null) continue;
      if (won.own) this.#pendingOwn = null;
      else if (this.#successor !== successor) continue; // discarded meanwhile
      else this.#pendingSuccessor = null;
      if (won.result.done === true) {
        if (won.own) this.#ownDone = true;
        else this.#successorDone = true;
        continue;
      }
      const routed = this.#resharder.route(won.result.value);
      if (routed !== null) return { value: routed as T, done: false };
    }
  }

  /**
   * The same stream as messages, unparsed: each wanted payload as the JSON text the worker
   * received, closes and errors as a shard's `nextWantedMessage` yields them. For forwarding
   * events elsewhere (a bus, another process) where they are parsed once, at the far end. It
   * takes from the same buffer as the fleet's own iterator: read the fleet one way.
   *
   * @example
   * for await (const { shard, message } of fleet.messages()) {
   *   if (message.type === 'text') forward(shard.id.number, message.text);
   * }
   */
  messages(): AsyncIterableIterator<WorkerFleetMessageItem> {
    const iterator: AsyncIterableIterator<WorkerFleetMessageItem> = {
      next: () => {
        const servedBy = this.#servedBy;
        if (servedBy !== null) return servedBy.messages().next();
        if (this.#routed) return this.#turns.run(() => this.#nextRouted(MESSAGE_ITEMS, (fleet) => fleet.messages().next()));
        return this.#nextOwn(MESSAGE_ITEMS);
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  async #waitForNext<T>(shape: ItemShape<T>): Promise<IteratorResult<T, undefined>> {
    await this.ready();
    for (;;) {
      const item = this.#take(shape);
      if (item !== undefined) return { value: item, done: false };
      if (this.#finished()) return { value: undefined, done: true };
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** Takes the oldest buffered item, crediting its worker now and then, which may then forward as many more. */
  #take<T>(shape: ItemShape<T>): T | undefined {
    const received = this.#buffer.peek();
    if (received === undefined) return undefined;
    const at = received.at++;
    this.#buffered -= 1;
    const whole = received.at === received.shards.length;
    if (whole) this.#buffer.shift();
    const { slot } = received;
    if (slot !== null && slot.generation === received.generation && (++slot.taken >= CREDIT_EVERY || whole)) {
      this.#post(slot, { type: 'consumed', count: slot.taken });
      slot.taken = 0;
    }
    const id = received.shards[at] as number;
    const shard = this.#handles.get(id) as WorkerShardHandle;
    const text = received.texts[at];
    if (text !== null && text !== undefined) return shape.text(shard, text);
    const other = received.others[received.otherAt++] as CrossedItem;
    if (other.type === 'close') return shape.close(shard, other.code, other.reason);
    const error = errorFrom(other.error);
    if (error.kind === 'FatallyClosed') this.#ended.add(id);
    return shape.error(shard, error);
  }

  readonly #eventItems: ItemShape<WorkerFleetItem> = {
    text: (shard, text) => ({ shard, event: this.#parse(text, shard) }),
    close: (shard, code, reason) => ({ shard, event: { op: 'close', t: null, s: null, d: { code, reason } } }),
    error: (shard, error) => ({ shard, event: { op: 'error', t: null, s: null, d: error } }),
  };

  /**
   * A forwarded payload, parsed. Text that is not whole JSON is an error item: unlike a local
   * shard, which rewinds and receives it again, the worker has moved past it.
   */
  #parse(text: string, shard: WorkerShardHandle): ShardEvent {
    try {
      return JSON.parse(text) as ShardEvent;
    } catch (error) {
      const message = `shard ${shard.id.number}: a dispatch was not valid JSON: ${(error as Error).message}; skipped`;
      return { op: 'error', t: null, s: null, d: new ShardError('DISPATCH_NOT_JSON_SKIPPED', message, { cause: error }) };
    }
  }

  /**
   * Iterates the fleet's items until it is closed and drained, or every shard ended.
   * Breaking out of the loop does not close the fleet.
   */
  [Symbol.asyncIterator](): AsyncIterator<WorkerFleetItem, undefined> {
    return { next: () => this.next(), return: () => Promise.resolve({ value: undefined, done: true }) };
  }

  /**
   * Closes every shard with `frame` in its worker, then the workers. Returns each shard's
   * session as of the last batch received (for `sessions` of the next fleet, in this process
   * or another) — empty unless `frame` keeps sessions resumable. Items already received can
   * still be read; then the stream ends.
   *
   * @example
   * const sessions = await fleet.close(CloseFrame.RESUME);
   * const next = new WorkerFleet({ ...options, sessions });
   */
  close(frame: CloseFrame = CloseFrame.NORMAL): Promise<Map<number, Session>> {
    this.#resharder.close();
    const successor = this.#successor;
    if (this.#handedTo !== null) {
      this.#closing ??= this.#close(CloseFrame.NORMAL);
      return Promise.all([this.#handedTo.close(frame), this.#closing]).then(([sessions]) => sessions);
    }
    if (successor !== null) {
      // A reshard under way: the new set goes, and what it held back with it.
      this.#successor = null;
      this.#pendingSuccessor = null;
      void successor.close(CloseFrame.NORMAL);
    }
    this.#closing ??= this.#close(frame);
    return this.#closing;
  }

  /**
   * Saves this fleet's sessions in `store` from now on (the ones it holds at once): a new set
   * after a reshard, which ran without a store while the old set's sessions were kept there.
   */
  #keepSessionsIn(store: SessionStore): void {
    if (this.#saver !== null) return;
    this.#saver = new SessionSaver(store, DEFAULT_SAVE_INTERVAL_MS, this.#logger);
    for (const [id, report] of this.#reports) if (report.session !== null) this.#saver.changed(id, report.session, true);
  }

  /** What the resharder may do with this fleet: the new set is another WorkerFleet, this one the old set. */
  #reshardHost(): ReshardHost<WorkerShardHandle> {
    return {
      queue: () => this.#queue,
      serving: () => [...this.#handles.values()],
      total: () => this.#total,
      gatewayBot: () => gatewayBotFor(this.#options.config),
      startSet: async (total) => {
        const options = this.#options;
        const successor = new WorkerFleet({
          ...options,
          workers: this.#slots.length,
          shards: { total },
          sessions: undefined,
          sessionStore: undefined,
          queue: this.#queue as Queue,
          logger: this.#logger ?? undefined,
        });
        this.#successor = successor;
        this.#successorDone = false;
        try {
          await successor.ready();
        } catch (error) {
          this.#successor = null; // it never ran: the fleet goes on as it was
          await successor.close(CloseFrame.NORMAL);
          throw error;
        }
        return [...successor.shards.values()];
      },
      switched: () => (this.#handedTo = this.#successor),
      // The main thread holds nothing of the old set's and each old shard is connected: what a worker still holds, the drain time covers.
      caughtUp: (handles) => this.#buffered === 0 && handles.every((handle) => handle.state.kind === 'Active' || handle.state.kind === 'FatallyClosed'),
      closeSet: async () => {
        this.#closing ??= this.#close(CloseFrame.NORMAL);
        await this.#closing;
      },
      drained: () => this.#ownDone,
      discardSet: async () => {
        const successor = this.#successor;
        this.#successor = null;
        this.#pendingSuccessor = null;
        await successor?.close(CloseFrame.NORMAL);
      },
      wake: () => {
        const wake = this.#wakeRouted;
        this.#wakeRouted = null;
        wake?.();
      },
      finished: () => {
        this.#resharder.close(); // the new set's own resharder runs the automatic mode from now
        // The old set's sessions were cleared as it closed; the store keeps the new set's from now.
        const store = this.#options.sessionStore;
        const successor = this.#successor;
        if (store !== undefined && successor !== null) successor.#keepSessionsIn(store);
      },
    };
  }

  async #close(frame: CloseFrame): Promise<Map<number, Session>> {
    await this.#started;
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      this.#rejectCommands(slot, new ShardError('SEND_AFTER_CLOSE', 'the fleet was closed'), 'waiting');
      this.#post(slot, { type: 'close', code: frame.code, reason: frame.reason });
    }
    await Promise.all(
      this.#slots.map(async (slot) => {
        const thread = slot.thread;
        if (thread === null) return;
        const timer = setTimeout(() => void thread.terminate(), CLOSE_TIMEOUT_MS);
        await slot.exited;
        clearTimeout(timer);
      }),
    );
    this.#wakeLoop();
    const sessions = new Map<number, Session>();
    if (frame.resumable) for (const [id, report] of this.#reports) if (report.session !== null && !this.#ended.has(id)) sessions.set(id, report.session);
    if (this.#saver !== null) {
      for (const id of this.#reports.keys()) this.#saver.changed(id, sessions.get(id) ?? null, false);
      await this.#saver.stop();
    }
    return sessions;
  }

  /** Closes the fleet (with `CloseFrame.NORMAL`) when used with `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
