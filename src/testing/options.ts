/**
 * FakeGateway's options: what each means, its default, and validation that names the
 * bad option.
 */
import { PRIVILEGED_INTENTS } from '../intents.js';

/**
 * How the simulator is set up. Every field is optional; the defaults are Discord's numbers.
 *
 * @example
 * const gateway = await FakeGateway.start({ shards: 4, maxConcurrency: 2, guilds: 40, rate: 50, seed: 7 });
 */
export interface FakeGatewayOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The one token accepted; by default any non-empty token is. */
  token?: string;
  /** Recommended shard count reported by `/gateway/bot` (default 1). */
  shards?: number;
  /** `max_concurrency`: identify buckets, one identify per bucket per `identifyInterval` (default 1). */
  maxConcurrency?: number;
  /** Daily identify budget `session_start_limit.total` (default 1000). */
  sessionStartLimit?: number;
  /** How long until the identify budget refills, in ms (default 24 h). */
  sessionStartResetAfter?: number;
  /** Window of one identify per bucket, in ms (default 5000; shorten it to keep tests fast). */
  identifyInterval?: number;
  /** Guilds the bot is in (default 10). */
  guilds?: number;
  /** Most guilds one shard may hold before IDENTIFY closes with 4011 (default 2500). */
  maxGuildsPerShard?: number;
  /** Traffic: dispatches per second per session, `'max'` for as fast as the client reads, 0 for none (default 0). */
  rate?: number | 'max';
  /** Seed of the simulated world and its traffic (default 1). */
  seed?: number;
  /** `heartbeat_interval` sent in HELLO, in ms (default 41250). */
  heartbeatInterval?: number;
  /** Close with 4009 a connection that has not heartbeated for this long, in ms (default 1.5 × heartbeatInterval). */
  heartbeatTimeout?: number;
  /** Privileged intents the application has enabled; others close with 4014 (default all three). */
  privilegedIntents?: number;
  /** How long a disconnected session can be resumed, in ms (default 180 000). */
  sessionTimeout?: number;
  /** Dispatches kept per session for replay; a resume from before them gets op 9 (default 100 000). */
  replayLimit?: number;
  /** After op 7 the server closes the socket this long later if the client has not, in ms (default 5000). */
  reconnectGrace?: number;
  /** Keep a log entry for every dispatch sent (default true; turn off for long soaks). */
  logDispatches?: boolean;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<FakeGatewayOptions, 'token' | 'heartbeatTimeout'>> & {
  token: string | null;
  heartbeatTimeout: number;
};

function integer(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`FakeGateway option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Fills in defaults and validates.
 *
 * @throws RangeError or TypeError naming the first bad option.
 */
export function resolveOptions(options: FakeGatewayOptions = {}): ResolvedOptions {
  const heartbeatInterval = integer('heartbeatInterval', options.heartbeatInterval ?? 41_250, 1);
  const rate = options.rate ?? 0;
  if (rate !== 'max' && !(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)) {
    throw new RangeError(`FakeGateway option rate must be a non-negative number or 'max', got ${String(rate)}`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new TypeError('FakeGateway option token must be a non-empty string');
  }
  const privilegedIntents = integer('privilegedIntents', options.privilegedIntents ?? PRIVILEGED_INTENTS, 0);
  if ((privilegedIntents & ~PRIVILEGED_INTENTS) !== 0) {
    throw new RangeError(`FakeGateway option privilegedIntents may hold only privileged bits (${PRIVILEGED_INTENTS}), got ${privilegedIntents}`);
  }
  return {
    port: integer('port', options.port ?? 0, 0, 65_535),
    token: options.token ?? null,
    shards: integer('shards', options.shards ?? 1, 1),
    maxConcurrency: integer('maxConcurrency', options.maxConcurrency ?? 1, 1),
    sessionStartLimit: integer('sessionStartLimit', options.sessionStartLimit ?? 1000, 0),
    sessionStartResetAfter: integer('sessionStartResetAfter', options.sessionStartResetAfter ?? 86_400_000, 1),
    identifyInterval: integer('identifyInterval', options.identifyInterval ?? 5_000, 0),
    guilds: integer('guilds', options.guilds ?? 10, 0),
    maxGuildsPerShard: integer('maxGuildsPerShard', options.maxGuildsPerShard ?? 2_500, 1),
    rate,
    seed: integer('seed', options.seed ?? 1, 0, 2 ** 32 - 1),
    heartbeatInterval,
    heartbeatTimeout: integer('heartbeatTimeout', options.heartbeatTimeout ?? Math.round(heartbeatInterval * 1.5), 1),
    privilegedIntents,
    sessionTimeout: integer('sessionTimeout', options.sessionTimeout ?? 180_000, 0),
    replayLimit: integer('replayLimit', options.replayLimit ?? 100_000, 1),
    reconnectGrace: integer('reconnectGrace', options.reconnectGrace ?? 5_000, 0),
    logDispatches: options.logDispatches ?? true,
  };
}
