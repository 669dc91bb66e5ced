/**
 * The gateway service that `gloaming run` starts: shards (in this thread or on worker
 * threads) identifying through the Redis queue and resuming from Redis sessions, every wanted
 * dispatch published to the event bus, commands from consumers relayed to the shards. A
 * session is saved only as far as its events are in Redis, so a service killed at any moment
 * resumes without a gap; what it replays twice, consumers recognise.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { APIGatewayBotInfo, GatewayReadyDispatchData } from 'discord-api-types/v10';
import type { Redis as RedisClient } from 'ioredis';
import { dispatchData } from '../codec/dispatch-data.js';
import type { DispatchEventName } from '../codec/event-types.js';
import { peekPayload } from '../codec/peek.js';
import { DISCORD_REST_URL, gatewayBotFor } from '../fleet/plan.js';
import type { RecommendedConfig } from '../fleet/plan.js';
import type { ReshardOptions, ReshardReport } from '../fleet/resharding.js';
import { ShardFleet } from '../fleet/shard-fleet.js';
import type { Logger } from '../observability/logger.js';
import { errorFields } from '../observability/logger.js';
import { CommandRelay } from '../redis/command-relay.js';
import { redisConnection } from '../redis/connection.js';
import { DEFAULT_BUS_PREFIX, busKeys } from '../redis/event-bus.js';
import { EventPublisher } from '../redis/event-publisher.js';
import { RedisQueue } from '../redis/redis-queue.js';
import { RedisSessionStore, applicationIdOf } from '../redis/session-store.js';
import { DEFAULT_SAVE_INTERVAL_MS, SessionSaver } from '../sessions/saver.js';
import { CloseFrame } from '../shard/close-codes.js';
import { ShardError } from '../shard/errors.js';
import type { ShardMessage } from '../shard/events.js';
import { Session } from '../shard/session.js';
import type { ShardId } from '../shard/shard-id.js';
import { WorkerFleet } from '../workers/worker-fleet.js';

const DISPATCH: number = GatewayOpcodes.Dispatch;
/** How often the sessions as far as published are handed to the saver. */
const CHECKPOINT_MS = 1_000;
/** How long start waits for Redis to answer. */
const REDIS_START_TIMEOUT_MS = 5_000;

/** What a {@link GatewayService} runs. */
export interface GatewayServiceOptions {
  /** The bot token every shard identifies with (never written to Redis, logs or metrics). */
  readonly token: string;
  /** The gateway intents every shard identifies with. */
  readonly intents: number;
  /** A `redis://` URL: the identify queue, the sessions and the event bus. */
  readonly redis: string;
  /** The shard total; default the count `/gateway/bot` recommends. */
  readonly total?: number;
  /** The shards this service runs, `[start, end)`; default all of `total` (or a `cluster`'s share). */
  readonly range?: readonly [start: number, end: number];
  /** Run cluster `index` of `count`: an even share of the shards. */
  readonly cluster?: {
    /** This service's cluster, from 0. */
    readonly index: number;
    /** How many clusters share the shards. */
    readonly count: number;
  };
  /** Worker threads for the shards (a WorkerFleet); 0 or absent runs them on this thread. */
  readonly workers?: number;
  /** The gateway to connect to; default what `/gateway/bot` answers. */
  readonly gatewayUrl?: string;
  /** The REST base for `/gateway/bot`; default Discord's. */
  readonly restUrl?: string;
  /** `max_concurrency` when `/gateway/bot` is not asked (`total` and `gatewayUrl` given); default 1. */
  readonly maxConcurrency?: number;
  /** Spacing of identifies per bucket; default 5,250 ms (simulators may allow less). */
  readonly identifyIntervalMs?: number;
  /** The dispatch types published; default every type the intents bring. */
  readonly events?: readonly DispatchEventName[] | null;
  /** The event bus's key prefix; default `gloaming:bus:`. */
  readonly prefix?: string;
  /** About how many entries each event stream keeps; default 100,000. */
  readonly cap?: number;
  /** Scopes the sessions in Redis; default from the token. */
  readonly applicationId?: string;
  /** Allow ws:// and http:// URLs (simulators on loopback). */
  readonly allowInsecureUrls?: boolean;
  /**
   * How the service reshards (only one that runs all of the bot's shards can): with
   * `checkInterval`, on its own when `/gateway/bot` recommends more shards; else when
   * `reshard()` is called (`gloaming run`: SIGUSR2).
   */
  readonly reshard?: ReshardOptions;
  /** Called after each reshard, once the bus, the command streams and the sessions follow the new set. */
  readonly onReshard?: (report: ReshardReport) => void;
  /** Where the service, its shards and its Redis parts log; default silent. */
  readonly logger?: Logger | null;
}

/** The session of a shard as far as this service has published it. */
interface Tracked {
  id: string;
  sequence: number;
  resumeUrl: string | null;
  /** The shard total of the set it belongs to (two sets run while resharding). */
  total: number;
}

/** The shards, however they are hosted: a ShardFleet or a WorkerFleet, both of which reshard. */
interface HostedShards {
  /** The shards serving now. */
  ids(): readonly number[];
  /** The shard total serving now. */
  total(): number;
  /** Each shard's wanted messages, unparsed. */
  readonly items: AsyncIterable<{ readonly shard: { readonly id: ShardId; readonly session: Session | null }; readonly message: ShardMessage }>;
  /** What metrics read. */
  readonly target: ShardFleet | WorkerFleet;
  send(shard: number, json: string): Promise<void>;
  states(): string[];
  reshard(total?: number): Promise<ReshardReport>;
  close(frame: CloseFrame): Promise<unknown>;
}

/**
 * Runs a gateway service until {@link GatewayService.stop} or a fatal close.
 *
 * @throws (from `start`) Error when Redis does not answer, GatewayBotError for a refused
 *   token or a failed `/gateway/bot`, RangeError for shards that do not fit the total.
 * @example
 * const service = await GatewayService.start({ token, intents, redis: 'redis://127.0.0.1:6379', workers: 2 });
 * process.once('SIGTERM', () => void service.stop());
 * await service.done;
 */
export class GatewayService {
  readonly #client: RedisClient;
  readonly #shards: HostedShards;
  readonly #queue: RedisQueue;
  readonly #saver: SessionSaver;
  readonly #publisher: EventPublisher<Map<number, Session>>;
  readonly #options: GatewayServiceOptions;
  #relay: CommandRelay;
  readonly #wanted: ReadonlySet<string> | null;
  readonly #logger: Logger | null;
  readonly #tracked = new Map<number, Tracked>();
  readonly #moved = new Set<number>();
  readonly #checkpoints: NodeJS.Timeout;
  readonly #pumped: Promise<void>;
  #stopping: Promise<void> | null = null;
  #failure: ShardError | null = null;
  /** Resolves once the service stopped: with null after `stop()`, with the error after a fatal close. */
  readonly done: Promise<ShardError | null>;

  private constructor(
    options: GatewayServiceOptions,
    parts: { client: RedisClient; shards: HostedShards; queue: RedisQueue; store: RedisSessionStore; stored: Map<number, Session>; hooks: ServiceHooks },
  ) {
    this.#options = options;
    this.#client = parts.client;
    this.#shards = parts.shards;
    this.#queue = parts.queue;
    parts.hooks.resharded = (report) => this.#resharded(report);
    const logger = options.logger ?? null;
    this.#logger = logger;
    this.#wanted = options.events === undefined || options.events === null ? null : new Set(options.events);
    const total = parts.shards.total();
    const ids = new Set(parts.shards.ids());
    for (const [id, session] of parts.stored) if (ids.has(id)) this.#tracked.set(id, { id: session.id, sequence: session.sequence, resumeUrl: session.resumeUrl, total });
    this.#saver = new SessionSaver(parts.store, DEFAULT_SAVE_INTERVAL_MS, logger);
    const saved = new Map<number, string>([...this.#tracked].map(([id, tracked]) => [id, tracked.id]));
    this.#publisher = new EventPublisher({ redis: parts.client, prefix: options.prefix, cap: options.cap, logger }, (sessions) => {
      // A session that began is saved at once: a service killed now resumes it rather than identifying.
      for (const [id, session] of sessions) {
        this.#saver.changed(id, session, saved.get(id) !== session.id);
        saved.set(id, session.id);
      }
    });
    this.#relay = this.#commandRelay();
    this.#checkpoints = setInterval(() => this.#checkpoint(), CHECKPOINT_MS);
    this.#pumped = this.#pump();
    this.done = this.#pumped.then(async () => {
      await this.stop();
      return this.#failure;
    });
  }

  /** Connects to Redis, plans the shards and starts them; resolves once they are connecting. */
  static async start(options: GatewayServiceOptions): Promise<GatewayService> {
    const { client } = redisConnection(options.redis, { maxRetriesPerRequest: 1 });
    try {
      await Promise.race([client.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${REDIS_START_TIMEOUT_MS} ms`)), REDIS_START_TIMEOUT_MS).unref())]);
    } catch (error) {
      client.disconnect();
      throw new Error(`Redis cannot be reached: ${(error as Error).message}`, { cause: error });
    }
    try {
      return await GatewayService.#startWith(options, client);
    } catch (error) {
      client.disconnect();
      throw error;
    }
  }

  static async #startWith(options: GatewayServiceOptions, client: RedisClient): Promise<GatewayService> {
    let { total, gatewayUrl } = options;
    // What every shard identifies with and where /gateway/bot is asked: at start and before a reshard.
    const account = {
      token: options.token,
      intents: options.intents,
      restUrl: options.restUrl ?? DISCORD_REST_URL,
      ...(options.allowInsecureUrls === undefined ? {} : { allowInsecureUrls: options.allowInsecureUrls }),
    };
    let limits: APIGatewayBotInfo['session_start_limit'] | undefined;
    if (total === undefined || gatewayUrl === undefined) {
      const info = await gatewayBotFor(account);
      total ??= info.shards;
      gatewayUrl ??= info.url;
      limits = info.session_start_limit;
    }
    const [start, end] = shardRange(total, options.range, options.cluster);
    const queue = new RedisQueue({ redis: client, maxConcurrency: limits?.max_concurrency ?? options.maxConcurrency ?? 1, ...(options.identifyIntervalMs === undefined ? {} : { intervalMs: options.identifyIntervalMs }), ...(options.logger ? { logger: options.logger } : {}) });
    if (limits !== undefined) await queue.update(limits.max_concurrency, limits.remaining, limits.reset_after, limits.total);
    const store = new RedisSessionStore({ redis: client, ...(options.applicationId === undefined ? { applicationId: applicationIdOf(options.token) } : { applicationId: options.applicationId }) });
    let stored = await store.load();
    const totalKey = busKeys(options.prefix ?? DEFAULT_BUS_PREFIX).total;
    const storedTotal = await client.get(totalKey);
    if (stored.size > 0 && storedTotal !== null && Number(storedTotal) !== total) {
      // Sessions of another shard count cover other guilds: resuming one as this shard would mix them up.
      options.logger?.warn({ storedTotal: Number(storedTotal), total }, 'the stored sessions are of another shard total: identifying instead of resuming');
      stored = new Map();
    }
    await client.set(totalKey, String(total));
    const config = {
      ...account,
      gatewayUrl,
      // READY and RESUMED always: the service follows each shard's session by them.
      eventTypes: options.events === undefined || options.events === null ? null : [...new Set<DispatchEventName>([...options.events, GatewayDispatchEvents.Ready, GatewayDispatchEvents.Resumed])],
      ...(options.logger ? { logger: options.logger } : {}),
    };
    const hooks: ServiceHooks = { resharded: () => undefined };
    const fleetOptions = { total, start, end, config, queue, stored, reshard: options.reshard, onReshard: (report: ReshardReport) => hooks.resharded(report) };
    const shards = options.workers ? workerShards(options.workers, fleetOptions) : await localShards(fleetOptions);
    return new GatewayService(options, { client, shards, queue, store, stored, hooks });
  }

  /** The shards this service runs. */
  get shardIds(): readonly number[] {
    return this.#shards.ids();
  }

  /** The shard total (of every service of the bot, not only this one). */
  get total(): number {
    return this.#shards.total();
  }

  /** What `serveMetrics` reads: the fleet of local shards, or the worker fleet. */
  get metricsTarget(): ShardFleet | WorkerFleet {
    return this.#shards.target;
  }

  /**
   * Moves the bot to `total` shards (default: what `/gateway/bot` recommends) without
   * stopping: the new set identifies through the Redis queue while the old one publishes,
   * and each event is published once across the switch (see `ShardFleet.reshard`). Then the
   * bus's shard total, the command streams listened to and the stored sessions follow the
   * new set. Only a service that runs all of the bot's shards can reshard.
   *
   * @throws ReshardError (`Partial` for a service of a range or a cluster; `Budget`,
   *   `Unchanged`, `InProgress`, `NewSetFailed`, `Closed`), GatewayBotError.
   * @example
   * process.on('SIGUSR2', () => void service.reshard().catch(console.error));
   */
  reshard(total?: number): Promise<ReshardReport> {
    return this.#shards.reshard(total);
  }

  /** After a reshard: the bus's total, the command streams and the saved sessions are the new set's. */
  #resharded(report: ReshardReport): void {
    const ids = new Set(this.#shards.ids());
    for (const [id, tracked] of this.#tracked) {
      if (tracked.total === report.to) continue;
      this.#tracked.delete(id);
      this.#moved.delete(id);
      if (!ids.has(id)) this.#saver.changed(id, null, true); // a shard number the new set does not have
    }
    void this.#client.set(busKeys(this.#options.prefix ?? DEFAULT_BUS_PREFIX).total, String(report.to)).catch((error: unknown) => {
      this.#logger?.error({ err: errorFields(error) }, 'the new shard total could not be written to Redis: consumers route commands by the old one');
    });
    const old = this.#relay;
    this.#relay = this.#commandRelay();
    void old.close();
    this.#logger?.info({ ...report }, 'the service resharded');
    try {
      this.#options.onReshard?.(report);
    } catch (error) {
      this.#logger?.error({ err: errorFields(error) }, 'onReshard threw');
    }
  }

  #commandRelay(): CommandRelay {
    const shards = this.#shards;
    return new CommandRelay({ redis: this.#client, prefix: this.#options.prefix, logger: this.#logger }, shards.ids(), (shard, json) => shards.send(shard, json));
  }

  /** Whether every shard is Active (connected and identified or resumed). */
  get active(): boolean {
    return this.#shards.states().every((state) => state === 'Active');
  }

  /** Events published to Redis so far. */
  get published(): number {
    return this.#publisher.published;
  }

  /**
   * Closes every shard with RESUME, publishes what they delivered, saves their sessions (the
   * next start resumes them) and closes the connections. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#shards.close(CloseFrame.RESUME);
    await this.#pumped;
    clearInterval(this.#checkpoints);
    await this.#publisher.flush();
    for (const [id, tracked] of this.#tracked) this.#saver.changed(id, new Session(tracked.id, tracked.sequence, tracked.resumeUrl), true);
    await this.#saver.stop();
    await this.#relay.close();
    await this.#queue.close();
    await this.#publisher.close();
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  /** Publishes every wanted dispatch, following each shard's session; stops everything on a fatal close. */
  async #pump(): Promise<void> {
    for await (const { shard, message } of this.#shards.items) {
      if (message.type === 'text') {
        this.#dispatch(shard, message.text);
        if (this.#publisher.full) await this.#publisher.room();
      } else if (message.type === 'error' && message.error.kind === 'FatallyClosed' && shard.id.total === this.#shards.total() && this.#failure === null) {
        // A shard of the serving set (a new set's shard that fails ends only its reshard).
        this.#failure = message.error;
        void this.stop();
      }
    }
  }

  /**
   * One payload as the shard received it. Its `d` is published as received, without a parse
   * and a stringify: only READY, and payloads whose envelope is not in Discord's order, are
   * parsed here.
   */
  #dispatch(shard: { readonly id: ShardId; readonly session: Session | null }, text: string): void {
    const id = shard.id.number;
    const head = peekPayload(text);
    if (head !== null && head.op !== DISPATCH) return;
    let data = head === null ? null : dispatchData(text);
    let t: unknown = head?.t;
    let s: unknown = head?.s;
    if (data === null) {
      const payload = this.#parse(id, text);
      if (payload?.op !== DISPATCH) return;
      ({ t, s } = payload);
      data = JSON.stringify(payload.d);
    }
    if (typeof t !== 'string' || typeof s !== 'number') return; // not a dispatch any gateway sends
    const total = shard.id.total;
    let tracked = this.#tracked.get(id);
    if (t === (GatewayDispatchEvents.Ready as string)) {
      const ready = JSON.parse(data) as GatewayReadyDispatchData;
      tracked = { id: ready.session_id, sequence: s, resumeUrl: ready.resume_gateway_url ?? null, total };
      this.#tracked.set(id, tracked);
    } else if (tracked === undefined || tracked.total !== total) {
      // The other set's shard of this number (resharding: the new set's READY is not handed out), or no READY yet.
      const session = shard.session;
      if (session === null) return; // a dispatch before any READY: no session to place it in (no gateway sends one)
      tracked = { id: session.id, sequence: s, resumeUrl: session.resumeUrl, total };
      this.#tracked.set(id, tracked);
    }
    tracked.sequence = s;
    this.#moved.add(id);
    if (this.#wanted === null || this.#wanted.has(t)) this.#publisher.publish(id, tracked.id, s, t, data);
  }

  /** A payload the envelope peek could not read, parsed in full; null (and a warning) when it is not JSON. */
  #parse(id: number, text: string): { op: unknown; t?: unknown; s?: unknown; d?: unknown } | null {
    try {
      return JSON.parse(text) as { op: unknown; t?: unknown; s?: unknown; d?: unknown };
    } catch (error) {
      this.#logger?.warn({ shard: id, err: error as Error }, 'a payload was not valid JSON; skipped');
      return null;
    }
  }

  /** Hands the sessions that moved to the publisher, which reports them once their events are in Redis. */
  #checkpoint(): void {
    if (this.#moved.size === 0) return;
    const sessions = new Map<number, Session>();
    const serving = this.#shards.total();
    for (const id of this.#moved) {
      const tracked = this.#tracked.get(id) as Tracked;
      // While resharding the old set drains after the switch: only the serving set's sessions are kept.
      if (tracked.total === serving) sessions.set(id, new Session(tracked.id, tracked.sequence, tracked.resumeUrl));
    }
    this.#moved.clear();
    this.#publisher.checkpoint(sessions);
  }
}

/**
 * `[start, end)` of the shards to run, checked against `total`.
 *
 * @throws RangeError naming what does not fit.
 */
export function shardRange(total: number, range?: readonly [number, number], cluster?: { readonly index: number; readonly count: number }): [number, number] {
  if (!Number.isSafeInteger(total) || total < 1) throw new RangeError(`the shard total must be a positive integer, got ${String(total)}`);
  if (range !== undefined && cluster !== undefined) throw new RangeError('give the shards or a cluster, not both');
  if (cluster !== undefined) {
    const { index, count } = cluster;
    if (!Number.isSafeInteger(count) || count < 1 || count > total || !Number.isSafeInteger(index) || index < 0 || index >= count) throw new RangeError(`cluster ${index}/${count} does not fit ${total} shards: the count must be 1–${total} and the index below it`);
    return [Math.floor((total * index) / count), Math.floor((total * (index + 1)) / count)];
  }
  const [start, end] = range ?? [0, total];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start || end > total) throw new RangeError(`shards ${start}–${end - 1} do not fit a total of ${total} (ids run from 0 to ${total - 1})`);
  return [start, end];
}

/** Lets the fleets, made before the service, reach it. */
interface ServiceHooks {
  resharded: (report: ReshardReport) => void;
}

/** What both ways of hosting the shards are made from. */
interface FleetParts {
  readonly total: number;
  readonly start: number;
  readonly end: number;
  readonly config: RecommendedConfig;
  readonly queue: RedisQueue;
  readonly stored: ReadonlyMap<number, Session>;
  readonly reshard: ReshardOptions | undefined;
  readonly onReshard: (report: ReshardReport) => void;
}

/** A member of either fleet, as the service touches it. */
interface Member {
  readonly id: ShardId;
  readonly state: { readonly kind: string };
  send(json: string): Promise<void>;
}

/** Either fleet, with what the service asks of it; `members` are the shards serving now. */
function hosted(fleet: ShardFleet | WorkerFleet, members: () => readonly Member[]): HostedShards {
  return {
    ids: () => members().map((member) => member.id.number),
    total: () => fleet.total,
    items: fleet.messages(),
    target: fleet,
    send: async (id, json) => {
      const member = members().find((candidate) => candidate.id.number === id);
      if (member === undefined) throw new ShardError('SEND_AFTER_CLOSE', `shard ${id} is not one of the ${fleet.total} this service runs`);
      await member.send(json);
    },
    states: () => members().map((member) => member.state.kind),
    reshard: (total) => fleet.reshard(total),
    close: (frame) => fleet.close(frame),
  };
}

async function localShards(parts: FleetParts): Promise<HostedShards> {
  const fleet = await ShardFleet.start({
    config: { ...parts.config, queue: parts.queue },
    shards: { total: parts.total, start: parts.start, end: parts.end },
    sessions: parts.stored,
    ...(parts.reshard === undefined ? {} : { reshard: parts.reshard }),
    onReshard: parts.onReshard,
  });
  return hosted(fleet, () => fleet.shards);
}

function workerShards(workers: number, parts: FleetParts): HostedShards {
  const fleet = new WorkerFleet({
    workers,
    shards: { total: parts.total, start: parts.start, end: parts.end },
    config: parts.config,
    queue: parts.queue,
    sessions: parts.stored,
    ...(parts.reshard === undefined ? {} : { reshard: parts.reshard }),
    onReshard: parts.onReshard,
  });
  return hosted(fleet, () => [...fleet.shards.values()]);
}
