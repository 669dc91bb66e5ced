/**
 * FakeGateway's options: what each means, its default, and validation that names the
 * bad option.
 */
import { PRIVILEGED_INTENTS } from '../intents.js';

/**
 * Gateways that speak Discord's protocol but are not Discord's servers. `'spacebar'` plays
 * Spacebar's gateway (an open-source reimplementation) as observed: READY at sequence 0,
 * RESUME refused with op 9, HEARTBEAT_ACK with `d: {}`, a minimal READY, `v` ignored,
 * intents and shard not checked, a bad token closed with 4000, a handshake without a
 * `User-Agent` closed with 4002, client payloads it cannot read ignored, 30 s heartbeats.
 */
export type FakeGatewayPreset = 'discord' | 'spacebar';

/** The options a preset sets, and their values under each. */
type PresetOptions = Pick<
  ResolvedOptions,
  | 'firstSequence'
  | 'resume'
  | 'heartbeatAckData'
  | 'minimalReady'
  | 'checkVersion'
  | 'strictIdentify'
  | 'invalidTokenCloseCode'
  | 'requireUserAgent'
  | 'ignoreInvalidPayloads'
  | 'heartbeatInterval'
>;

const PRESETS: Record<FakeGatewayPreset, PresetOptions> = {
  discord: {
    firstSequence: 1,
    resume: true,
    heartbeatAckData: null,
    minimalReady: false,
    checkVersion: true,
    strictIdentify: true,
    invalidTokenCloseCode: 4004,
    requireUserAgent: false,
    ignoreInvalidPayloads: false,
    heartbeatInterval: 41_250,
  },
  spacebar: {
    firstSequence: 0,
    resume: false,
    heartbeatAckData: {},
    minimalReady: true,
    checkVersion: false,
    strictIdentify: false,
    invalidTokenCloseCode: 4000,
    requireUserAgent: true,
    ignoreInvalidPayloads: true,
    heartbeatInterval: 30_000,
  },
};

/**
 * How the simulator is set up. Every field is optional; the defaults are Discord's numbers,
 * or those of another gateway with `preset`.
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
  /** Keep a log entry for every dispatch sent and every traffic event (default true; turn off for long soaks). */
  logDispatches?: boolean;
  /** The path `url` serves the gateway on, such as `'/gateway'` (default `''`, the root). */
  path?: string;
  /**
   * The `resume_gateway_url` READY announces, any string (default: this simulator's own
   * `/resume` URL), to test what a client does with a remote, cleartext or broken one.
   */
  resumeGatewayUrl?: string;
  /** Send HELLO on every connection (default true; false plays a gateway that never does). */
  hello?: boolean;
  /**
   * Which gateway to play: `'discord'` (default) or `'spacebar'`. A preset only sets the
   * defaults of the options below (and of `heartbeatInterval`); an option given wins.
   */
  preset?: FakeGatewayPreset;
  /** The sequence of each session's READY; later dispatches count up from it (discord 1, spacebar 0). */
  firstSequence?: number;
  /** Whether RESUME works; if not, op 6 gets op 9 `d:false` and a dropped session ends (discord true, spacebar false). */
  resume?: boolean;
  /** The `d` of HEARTBEAT_ACK, any JSON value (discord null, spacebar `{}`). */
  heartbeatAckData?: unknown;
  /** READY with only `v`, `user`, `guilds` and `session_id`: no `resume_gateway_url`, `shard` or `application` (spacebar true). */
  minimalReady?: boolean;
  /** Close with 4012 a connection whose `v` is not 10 (discord true; spacebar false: `v` is ignored). */
  checkVersion?: boolean;
  /** Close an IDENTIFY with undefined or unapproved intents (4013, 4014) or an invalid shard (4010) (discord true, spacebar false). */
  strictIdentify?: boolean;
  /** The close code for a bad token (discord 4004, spacebar 4000). */
  invalidTokenCloseCode?: number;
  /** Close with 4002 at once a websocket handshake without a `User-Agent` header (spacebar true). */
  requireUserAgent?: boolean;
  /** Ignore client payloads that are not JSON or have an unknown opcode, instead of closing with 4002 / 4001 (spacebar true). */
  ignoreInvalidPayloads?: boolean;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<FakeGatewayOptions, 'token' | 'heartbeatTimeout' | 'heartbeatAckData' | 'resumeGatewayUrl'>> & {
  /** The one token accepted; null accepts any non-empty token. */
  token: string | null;
  /** The `resume_gateway_url` READY announces; null for this simulator's own `/resume` URL. */
  resumeGatewayUrl: string | null;
  /** Close with 4009 a connection that has not heartbeated for this long, in ms. */
  heartbeatTimeout: number;
  /** The `d` of HEARTBEAT_ACK, any JSON value (the preset's unless given). */
  heartbeatAckData: unknown;
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
  const presetName = options.preset ?? 'discord';
  const preset = PRESETS[presetName];
  if (preset === undefined) throw new RangeError(`FakeGateway option preset must be one of ${Object.keys(PRESETS).join(', ')}, got ${String(presetName)}`);
  const boolean = (name: keyof PresetOptions | 'hello', value: boolean | undefined, fallback: boolean): boolean => {
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`FakeGateway option ${name} must be a boolean, got ${String(value)}`);
    return value ?? fallback;
  };
  const path = options.path ?? '';
  if (typeof path !== 'string' || !(path === '' || /^\/[\w./-]*[\w-]$/.test(path)) || path === '/resume') {
    throw new RangeError(`FakeGateway option path must be '' or an absolute path such as '/gateway' (not '/resume'), got ${String(path)}`);
  }
  if (options.resumeGatewayUrl !== undefined && typeof options.resumeGatewayUrl !== 'string') {
    throw new TypeError('FakeGateway option resumeGatewayUrl must be a string');
  }
  const heartbeatAckData = options.heartbeatAckData === undefined ? preset.heartbeatAckData : options.heartbeatAckData;
  if (JSON.stringify(heartbeatAckData) === undefined) throw new TypeError('FakeGateway option heartbeatAckData must be a JSON value');
  const heartbeatInterval = integer('heartbeatInterval', options.heartbeatInterval ?? preset.heartbeatInterval, 1);
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
    path,
    resumeGatewayUrl: options.resumeGatewayUrl ?? null,
    hello: boolean('hello', options.hello, true),
    preset: presetName,
    firstSequence: integer('firstSequence', options.firstSequence ?? preset.firstSequence, 0, 2 ** 52),
    resume: boolean('resume', options.resume, preset.resume),
    heartbeatAckData,
    minimalReady: boolean('minimalReady', options.minimalReady, preset.minimalReady),
    checkVersion: boolean('checkVersion', options.checkVersion, preset.checkVersion),
    strictIdentify: boolean('strictIdentify', options.strictIdentify, preset.strictIdentify),
    invalidTokenCloseCode: integer('invalidTokenCloseCode', options.invalidTokenCloseCode ?? preset.invalidTokenCloseCode, 4000, 4999),
    requireUserAgent: boolean('requireUserAgent', options.requireUserAgent, preset.requireUserAgent),
    ignoreInvalidPayloads: boolean('ignoreInvalidPayloads', options.ignoreInvalidPayloads, preset.ignoreInvalidPayloads),
  };
}
