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
import { closeAll, createRange } from '../fleet/create.js';
import { fetchGatewayBot } from '../fleet/gateway-bot.js';
import { ShardMessageStream } from '../fleet/merged-stream.js';
import { resumeSessions } from '../fleet/sessions.js';
import type { Logger } from '../observability/logger.js';
import { CommandRelay } from '../redis/command-relay.js';
import { redisConnection } from '../redis/connection.js';
import { DEFAULT_BUS_PREFIX, busKeys } from '../redis/event-bus.js';
import { EventPublisher } from '../redis/event-publisher.js';
import { RedisQueue } from '../redis/redis-queue.js';
import { RedisSessionStore, applicationIdOf } from '../redis/session-store.js';
import { DEFAULT_SAVE_INTERVAL_MS, SessionSaver } from '../sessions/saver.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { ShardError } from '../shard/errors.js';
import type { ShardMessage } from '../shard/events.js';
import { Session } from '../shard/session.js';
import type { ShardId } from '../shard/shard-id.js';
import type { Shard } from '../shard/shard.js';
import { WorkerFleet } from '../workers/worker-fleet.js';

const DISPATCH: number = GatewayOpcodes.Dispatch;
/** How often the sessions as far as published are handed to the saver. */
const CHECKPOINT_MS = 1_000;
/** How long start waits for Redis to answer. */
const REDIS_START_TIMEOUT_MS = 5_000;

/** What a {@link GatewayService} runs. */
export interface GatewayServiceOptions {
  readonly token: string;
  readonly intents: number;
  /** A `redis://` URL: the identify queue, the sessions and the event bus. */
  readonly redis: string;
  /** The shard total; default the count `/gateway/bot` recommends. */
  readonly total?: number;
  /** The shards this service runs, `[start, end)`; default all of `total` (or a `cluster`'s share). */
  readonly range?: readonly [start: number, end: number];
  /** Run cluster `index` of `count`: an even share of the shards. */
  readonly cluster?: { readonly index: number; readonly count: number };
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
  readonly logger?: Logger | null;
}

/** The session of a shard as far as this service has seen it. */
interface Tracked {
  id: string;
  sequence: number;
  resumeUrl: string | null;
}

/** The shards, however they are hosted. */
interface HostedShards {
  readonly ids: readonly number[];
  /** Each shard's wanted messages, unparsed. */
  readonly items: AsyncIterable<{ readonly shard: { readonly id: ShardId }; readonly message: ShardMessage }>;
  /** What metrics read: the local shards or the worker fleet. */
  readonly target: Shard[] | WorkerFleet;
  send(shard: number, json: string): Promise<void>;
  states(): string[];
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
  readonly #relay: CommandRelay;
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
  /** The shard total (of every service of the bot, not only this one). */
  readonly total: number;

  private constructor(options: GatewayServiceOptions, parts: { client: RedisClient; shards: HostedShards; queue: RedisQueue; store: RedisSessionStore; total: number; stored: Map<number, Session> }) {
    this.#client = parts.client;
    this.#shards = parts.shards;
    this.#queue = parts.queue;
    this.total = parts.total;
    const logger = options.logger ?? null;
    this.#logger = logger;
    this.#wanted = options.events === undefined || options.events === null ? null : new Set(options.events);
    for (const [id, session] of parts.stored) if (parts.shards.ids.includes(id)) this.#tracked.set(id, { id: session.id, sequence: session.sequence, resumeUrl: session.resumeUrl });
    this.#saver = new SessionSaver(parts.store, DEFAULT_SAVE_INTERVAL_MS, logger);
    const saved = new Map<number, string>([...this.#tracked].map(([id, tracked]) => [id, tracked.id]));
    this.#publisher = new EventPublisher({ redis: parts.client, prefix: options.prefix, cap: options.cap, logger }, (sessions) => {
      // A session that began is saved at once: a service killed now resumes it rather than identifying.
      for (const [id, session] of sessions) {
        this.#saver.changed(id, session, saved.get(id) !== session.id);
        saved.set(id, session.id);
      }
    });
    this.#relay = new CommandRelay({ redis: parts.client, prefix: options.prefix, logger }, parts.shards.ids, (shard, json) => parts.shards.send(shard, json));
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
    let limits: APIGatewayBotInfo['session_start_limit'] | undefined;
    if (total === undefined || gatewayUrl === undefined) {
      const info = await fetchGatewayBot(options.restUrl ?? 'https://discord.com/api/v10', options.token);
      total ??= info.shards;
      gatewayUrl ??= info.url;
      limits = info.session_start_limit;
    }
    const [start, end] = shardRange(total, options.range, options.cluster);
    const queue = new RedisQueue({ redis: client, maxConcurrency: limits?.max_concurrency ?? options.maxConcurrency ?? 1, ...(options.identifyIntervalMs === undefined ? {} : { intervalMs: options.identifyIntervalMs }), ...(options.logger ? { logger: options.logger } : {}) });
    if (limits !== undefined) await queue.update(limits.max_concurrency, limits.remaining, limits.reset_after, limits.total);
    const store = new RedisSessionStore({ redis: client, ...(options.applicationId === undefined ? { applicationId: applicationIdOf(options.token) } : { applicationId: options.applicationId }) });
    const stored = await store.load();
    await client.set(busKeys(options.prefix ?? DEFAULT_BUS_PREFIX).total, String(total));
    const config = {
      token: options.token,
      intents: options.intents,
      gatewayUrl,
      // READY and RESUMED always: the service follows each shard's session by them.
      eventTypes: options.events === undefined || options.events === null ? null : [...new Set<DispatchEventName>([...options.events, GatewayDispatchEvents.Ready, GatewayDispatchEvents.Resumed])],
      ...(options.allowInsecureUrls === undefined ? {} : { allowInsecureUrls: options.allowInsecureUrls }),
      ...(options.logger ? { logger: options.logger } : {}),
    };
    const shards = options.workers ? workerShards(options.workers, total, start, end, config, queue, stored) : localShards(total, start, end, { ...config, queue }, stored);
    return new GatewayService(options, { client, shards, queue, store, total, stored });
  }

  /** The shards this service runs. */
  get shardIds(): readonly number[] {
    return this.#shards.ids;
  }

  /** What `serveMetrics` reads: the local shards, or the worker fleet. */
  get metricsTarget(): Shard[] | WorkerFleet {
    return this.#shards.target;
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
        this.#dispatch(shard.id.number, message.text);
        if (this.#publisher.full) await this.#publisher.room();
      } else if (message.type === 'error' && message.error.kind === 'FatallyClosed' && this.#failure === null) {
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
  #dispatch(id: number, text: string): void {
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
    let tracked = this.#tracked.get(id);
    if (t === (GatewayDispatchEvents.Ready as string)) {
      const ready = JSON.parse(data) as GatewayReadyDispatchData;
      tracked = { id: ready.session_id, sequence: s, resumeUrl: ready.resume_gateway_url ?? null };
      this.#tracked.set(id, tracked);
    } else if (tracked === undefined) {
      return; // a dispatch before any READY: no session to place it in (no gateway sends one)
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
    for (const id of this.#moved) {
      const tracked = this.#tracked.get(id) as Tracked;
      sessions.set(id, new Session(tracked.id, tracked.sequence, tracked.resumeUrl));
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

type ServiceShardConfig = Parameters<typeof createRange>[2];

function localShards(total: number, start: number, end: number, config: ServiceShardConfig, stored: ReadonlyMap<number, Session>): HostedShards {
  const shards = createRange({ start, end }, total, config, resumeSessions(stored));
  const byId = new Map(shards.map((shard) => [shard.id.number, shard]));
  return {
    ids: shards.map((shard) => shard.id.number),
    items: new ShardMessageStream(shards.map((shard) => ({ id: shard.id, peekMessage: () => shard.peekWantedMessage(), nextMessage: () => shard.nextWantedMessage() }))),
    target: shards,
    send: (id, json) => (byId.get(id) as Shard).send(json),
    states: () => shards.map((shard) => shard.state.kind),
    close: (frame) => closeAll(shards, frame),
  };
}

function workerShards(workers: number, total: number, start: number, end: number, config: ServiceShardConfig, queue: RedisQueue, stored: ReadonlyMap<number, Session>): HostedShards {
  const fleet = new WorkerFleet({ workers, shards: { total, start, end }, config, queue, sessions: stored });
  const handles = [...fleet.shards.values()];
  return {
    ids: handles.map((handle) => handle.id.number),
    items: fleet.messages(),
    target: fleet,
    send: (id, json) => (fleet.shards.get(id) as NonNullable<ReturnType<typeof fleet.shards.get>>).send(json),
    states: () => handles.map((handle) => handle.state.kind),
    close: (frame) => fleet.close(frame),
  };
}
