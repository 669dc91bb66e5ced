/**
 * A shard's options: their defaults, their validation, and the bot token kept out of
 * logs, errors, `util.inspect` and JSON.
 */
import { constants as bufferConstants } from 'node:buffer';
import { inspect } from 'node:util';
import { ActivityType, PresenceUpdateStatus } from 'discord-api-types/v10';
import type { GatewayIdentifyProperties, GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { isDispatchEventName } from './codec/event-types.js';
import { zstdSupported } from './codec/inflate.js';
import type { DispatchEventName } from './codec/event-types.js';
import { ALL_INTENTS } from './intents.js';
import { isLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import type { Queue } from './queue/queue.js';
import { MAX_PAYLOAD_BYTES } from './shard/commands.js';
import { SHARD_QUERY_PARAMETERS, tokenUrlProblem } from './shard/gateway-url.js';
import { identifyPayload } from './shard/identify.js';
import { Session } from './shard/session.js';
import { DEFAULT_USER_AGENT } from './version.js';

const REDACTED = '[redacted token]';

/** Longest delay `setTimeout` honours; a larger one fires at once (with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;


/**
 * Thrown by `new Shard(…)`, the fleet builders and {@link resolveShardConfig} for an
 * invalid option. The message names the option and what was wrong; it never contains the token.
 *
 * @example
 * try {
 *   new Shard(ShardId.ONE, { token, intents, largeThreshold: 300 });
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.option); // 'largeThreshold'
 * }
 */
export class ConfigError extends TypeError {
  /**
   * The offending option as written in {@link ShardConfig}, with a path for nested ones
   * (`'timeouts.hello'`, `'presence.activities[0].name'`); `''` when the config itself is
   * not an object.
   */
  readonly option: string;

  /**
   * @param option - the option's name or path.
   * @param problem - what is wrong with it; must not contain the token.
   */
  constructor(option: string, problem: string) {
    super(option === '' ? `invalid shard config: ${problem}` : `invalid shard config option ${option}: ${problem}`);
    this.name = 'ConfigError';
    this.option = option;
  }
}

/**
 * A bot token that never shows itself: `util.inspect`, `String()`, template literals,
 * `JSON.stringify` and error messages print `[redacted token]`; {@link Token.reveal}
 * returns the raw token (without `Bot `). The raw token lives in a private field, which
 * neither `util.inspect` (even with `showHidden` or `customInspect: false`), spreading nor
 * `JSON.stringify` can reach.
 *
 * The constructor trims surrounding whitespace (a token read from a file often ends in a
 * newline) and strips a leading `Bot ` prefix.
 *
 * @throws ConfigError (option `token`) when `raw` is not a string, is empty once trimmed
 *   and stripped, or contains whitespace or control characters inside.
 *
 * @example
 * const token = new Token('Bot MTIz.abc.def');
 * `${token}`;     // '[redacted token]'
 * token.reveal(); // 'MTIz.abc.def'
 */
export class Token {
  readonly #raw: string;

  /** @param raw - the bot token, with or without the `Bot ` prefix. */
  constructor(raw: string) {
    if (typeof raw !== 'string') throw new ConfigError('token', `must be a string, got ${typeName(raw)}`);
    const token = stripToken(raw);
    if (token === '') throw new ConfigError('token', 'must not be empty');
    if (/[\s\p{Cc}]/u.test(token)) throw new ConfigError('token', 'must not contain whitespace or control characters');
    this.#raw = token;
    Object.freeze(this);
  }

  /**
   * The raw token, without `Bot `, for the one place that must send it (IDENTIFY, RESUME,
   * an Authorization header).
   *
   * @example
   * const authorization = `Bot ${token.reveal()}`;
   */
  reveal(): string {
    return this.#raw;
  }

  /**
   * Always `[redacted token]`, so string conversion cannot leak the token.
   *
   * @example
   * String(token); // '[redacted token]'
   */
  toString(): string {
    return REDACTED;
  }

  /**
   * Always `[redacted token]`, so `JSON.stringify` of a config cannot leak the token.
   *
   * @example
   * JSON.stringify({ token }); // '{"token":"[redacted token]"}'
   */
  toJSON(): string {
    return REDACTED;
  }

  /**
   * What `util.inspect`, `console.log` and `util.format('%o')` print: `[redacted token]`.
   *
   * @example
   * util.inspect(token); // '[redacted token]'
   */
  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * The options of one shard. Only `token` and `intents` are required; see each field for
 * its default. Unknown keys are rejected, to catch typos such as `intent`.
 *
 * @example
 * const config: ShardConfig = {
 *   token: process.env.DISCORD_TOKEN!,
 *   intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
 *   presence: { status: PresenceUpdateStatus.Idle, activities: [], afk: false, since: null },
 * };
 */
export interface ShardConfig {
  /**
   * The bot token, with or without the `Bot ` prefix (stored without), or a {@link Token}.
   * Surrounding whitespace is trimmed.
   */
  token: string | Token;
  /**
   * The gateway intents, a bitfield of `GatewayIntentBits`. Bits Discord does not define
   * are rejected here rather than by Discord's close 4013.
   */
  intents: number;
  /** Member count above which a guild's offline members are not sent; 50 to 250, default 50. */
  largeThreshold?: number;
  /** The presence set at IDENTIFY; default (or `null`): none, Discord shows the bot online. */
  presence?: GatewayPresenceUpdateData | null;
  /** IDENTIFY `properties`; default `{ os: process.platform, browser: 'gloaming', device: 'gloaming' }`. */
  identifyProperties?: GatewayIdentifyProperties;
  /**
   * The gateway URL; default `'wss://gateway.discord.gg'`. Stored as given, path and query
   * included; the shard adds `v`, `encoding` and `compress`, so the URL must not set them,
   * nor have a fragment. `wss:` goes anywhere; `ws:` only to loopback (127.0.0.0/8, `[::1]`,
   * `localhost`) unless `allowInsecureUrls`, since IDENTIFY carries the token.
   */
  gatewayUrl?: string;
  /**
   * Transport compression; default `'zlib-stream'` (no native code); `null`: none.
   * `'zstd-stream'` needs the optional peer dependency `zstd-napi` (a native addon).
   */
  compression?: 'zlib-stream' | 'zstd-stream' | null;
  /**
   * Whether the token may travel unencrypted to another machine: `ws:` to a host that is
   * not loopback, for `gatewayUrl` (else a ConfigError) and for a READY's
   * `resume_gateway_url` (else it is skipped with a warning and the shard resumes on
   * `gatewayUrl`), and `http:` for `createRecommended`'s `restUrl`. Default `false`; a
   * local simulator (`ws://127.0.0.1`) needs no opt-in.
   */
  allowInsecureUrls?: boolean;
  /**
   * The `User-Agent` header of the websocket handshake (and of `/gateway/bot` in
   * `createRecommended`); default `DiscordBot (gloaming, <version>) Node.js/<version>`.
   * Some gateways that are not Discord refuse a handshake without one.
   */
  userAgent?: string;
  /** Whether sent commands go through the 120-per-60-s ratelimiter; default `true`. */
  ratelimitMessages?: boolean;
  /**
   * The dispatch events `nextEvent` yields (see `eventTypesForIntents`); others are skipped
   * there but still reach `nextMessage`. Default (or `null`): all of them. The others are
   * never parsed, which is what makes filtering cheap.
   */
  eventTypes?: Iterable<DispatchEventName> | null;
  /** A session to resume instead of identifying; default `null`. */
  session?: Session | null;
  /**
   * Decides when the shard may identify; share one among the shards of a bot. Default
   * (or `null`): the shard makes its own in-memory queue with `max_concurrency` 1.
   */
  queue?: Queue | null;
  /**
   * Where the shard logs its lifecycle (connect, HELLO, identify with its queue wait, READY,
   * resume with the dispatches replayed, closes, reconnects with their cause and delay, fatal
   * ends): a pino logger or anything of its shape, given a child with `shardId`. Default (or
   * `null`): silent.
   */
  logger?: Logger | null;
  /**
   * The largest message, in bytes after decompression, the shard takes; integer >= 4096,
   * default 128 MiB. A larger one is decompressed into a fixed scratch buffer and dropped
   * (an error item says which dispatch), never gathered in memory. A message whose
   * websocket frame alone is larger is refused by the websocket layer, which closes the
   * connection (1009); on resume Discord would send it again, so keep the cap far above
   * the largest compressed message you expect.
   */
  maxInflatedSize?: number;
  /**
   * Messages buffered for a consumer that is not reading before the shard stops reading
   * the socket; integer >= 1, default 256.
   */
  maxBufferedMessages?: number;
  /**
   * Milliseconds allowed for the socket to open (`connect`, default 15 000), for HELLO to
   * arrive after that (`hello`, default 10 000: Discord sends it at once, and a reconnect
   * costs no identify) and for READY or RESUMED after IDENTIFY or RESUME (`ready`, default
   * 60 000). Positive integers up to 2^31 - 1.
   */
  timeouts?: {
    /** For the socket to open; default 15 000. */
    connect?: number;
    /** For HELLO once the socket is open; default 10 000. */
    hello?: number;
    /** For READY or RESUMED after IDENTIFY or RESUME; default 60 000. */
    ready?: number;
  };
  /**
   * Reconnect delays in milliseconds after the first, immediate retry: start at `initial`
   * (default 1 000), double up to `max` (default 60 000), randomised when `jitter` (default
   * `true`). Positive integers up to 2^31 - 1, `initial <= max`.
   */
  backoff?: {
    /** The delay before the second retry; default 1 000. */
    initial?: number;
    /** The longest delay, which doubling stops at; default 60 000. */
    max?: number;
    /** Whether each delay is randomised (between half and all of it), so shards do not retry in step; default true. */
    jitter?: boolean;
  };
  /**
   * IDENTIFY attempts in a row that may end before READY (closed, dropped, op 9, or no
   * READY in time) before the shard ends fatally; integer >= 1, default 10. Each failure
   * is an error item and waits longer (the `backoff` delays), so the default spans about
   * four minutes and ten identifies: enough to ride out a gateway incident, and a stop
   * before a wrong token or gateway burns the daily identify budget (1000) in a loop.
   */
  maxIdentifyFailures?: number;
}

/** Connect, hello and ready timeouts in milliseconds, all filled in. */
export interface ResolvedTimeouts {
  /** Milliseconds for the socket to open. */
  readonly connect: number;
  /** Milliseconds for HELLO to arrive once the socket is open. */
  readonly hello: number;
  /** Milliseconds for READY or RESUMED after IDENTIFY or RESUME. */
  readonly ready: number;
}

/** Reconnect backoff, all filled in. */
export interface ResolvedBackoff {
  /** First delay after the immediate retry, in milliseconds. */
  readonly initial: number;
  /** Cap on the delay, in milliseconds. */
  readonly max: number;
  /** Whether delays are randomised. */
  readonly jitter: boolean;
}

/**
 * A validated {@link ShardConfig} with every default filled in, the token as a
 * {@link Token}, nested objects copied, and the whole deeply frozen except `queue`. Safe to log.
 *
 * @example
 * const config = resolveShardConfig({ token, intents: 513 });
 * config.timeouts.hello; // 10000
 */
export interface ResolvedShardConfig {
  /** The bot token; prints as `[redacted token]`. */
  readonly token: Token;
  /** The gateway intents, only defined bits. */
  readonly intents: number;
  /** 50 to 250. */
  readonly largeThreshold: number;
  /** The IDENTIFY presence (a frozen copy), or `null` for none. */
  readonly presence: GatewayPresenceUpdateData | null;
  /** The IDENTIFY `properties` (a frozen copy). */
  readonly identifyProperties: GatewayIdentifyProperties;
  /** The base gateway URL, as given. */
  readonly gatewayUrl: string;
  /** The `User-Agent` header sent on the handshake. */
  readonly userAgent: string;
  /** Transport compression, or `null` for none. */
  readonly compression: 'zlib-stream' | 'zstd-stream' | null;
  /** Whether the token may go unencrypted (`ws:`, `http:`) to a host that is not loopback. */
  readonly allowInsecureUrls: boolean;
  /** Whether sent commands are ratelimited. */
  readonly ratelimitMessages: boolean;
  /** The dispatch events `nextEvent` yields, or `null` for all. */
  readonly eventTypes: ReadonlySet<DispatchEventName> | null;
  /** The session to resume, or `null` to identify. */
  readonly session: Session | null;
  /** The identify queue as given (not copied or frozen), or `null` for the shard's own. */
  readonly queue: Queue | null;
  /** The shard's logger, or null. */
  readonly logger: Logger | null;
  /** Bytes one inflated message may reach. */
  readonly maxInflatedSize: number;
  /** Messages buffered before the shard stops reading the socket. */
  readonly maxBufferedMessages: number;
  /** Connect, hello and ready timeouts. */
  readonly timeouts: ResolvedTimeouts;
  /** Reconnect backoff. */
  readonly backoff: ResolvedBackoff;
  /** IDENTIFY attempts in a row that may end before READY before the shard ends fatally. */
  readonly maxIdentifyFailures: number;
}

const OPTIONS = [
  'token', 'intents', 'largeThreshold', 'presence', 'identifyProperties', 'gatewayUrl', 'compression', 'allowInsecureUrls',
  'userAgent', 'ratelimitMessages', 'eventTypes', 'session', 'queue', 'logger', 'maxInflatedSize', 'maxBufferedMessages', 'timeouts', 'backoff',
  'maxIdentifyFailures',
] as const satisfies readonly (keyof ShardConfig)[];

const PRESENCE_STATUSES: readonly string[] = Object.values(PresenceUpdateStatus);
const ACTIVITY_TYPES: readonly unknown[] = Object.values(ActivityType).filter((value) => typeof value === 'number');

/** The token without surrounding whitespace or the `Bot ` prefix. */
function stripToken(raw: string): string {
  // `Bot` must be followed by whitespace or the end, so a token that merely starts with "Bot" stays whole
  return raw.trim().replace(/^Bot(?:\s+|$)/i, '');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Edit distance, to suggest the option a mistyped key meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggest(key: string, known: readonly string[]): string {
  const loose = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
  const match =
    known.find((name) => loose(name) === loose(key)) ??
    known.find((name) => distance(name, key) <= 2) ??
    // `compress` (Discord's query parameter) for `compression`
    known.find((name) => key.length >= 4 && loose(name).startsWith(loose(key)));
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validation helpers that know the raw token, so no value they quote in a message can
 * carry it (say a token pasted into the wrong option).
 */
class Checker {
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  /** A value for an error message: primitives quoted (strings shortened), objects by kind only. */
  show(value: unknown): string {
    if (typeof value === 'string' && value.includes(this.#secret)) return REDACTED;
    if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol') return typeName(value);
    return inspect(value, { maxStringLength: 60 });
  }

  fail(option: string, problem: string, value: unknown): never {
    throw new ConfigError(option, `${problem}, got ${this.show(value)}`);
  }

  integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(option, max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  boolean(option: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(option, 'must be a boolean', value);
    return value;
  }

  /** A frozen set of known dispatch event names, or null (all) when absent. */
  eventTypes(value: unknown): ReadonlySet<DispatchEventName> | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'object' || !(Symbol.iterator in value)) this.fail('eventTypes', 'must be an iterable of dispatch event names or null', value);
    const names = new Set<DispatchEventName>();
    for (const name of value as Iterable<unknown>) {
      if (!isDispatchEventName(name)) this.fail('eventTypes', 'must hold only dispatch event names such as MESSAGE_CREATE', name);
      names.add(name);
    }
    return Object.freeze(names);
  }

  /** `value` as a record whose keys are all in `known`, or `{}` when undefined. */
  group(option: string, value: unknown, known: readonly string[]): Record<string, unknown> {
    if (value === undefined) return {};
    if (!isRecord(value)) this.fail(option, 'must be an object', value);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) throw new ConfigError(`${option}.${key}`, `unknown option${suggest(key, known)}`);
    }
    return value;
  }

  /** A JSON copy of `value`: what Discord will receive, detached from the caller's object. */
  jsonCopy(option: string, value: unknown): unknown {
    try {
      return JSON.parse(JSON.stringify(value)) as unknown;
    } catch {
      return this.fail(option, 'must be JSON-serialisable data', value);
    }
  }

  presence(value: unknown): GatewayPresenceUpdateData | null {
    if (value === undefined || value === null) return null;
    if (!isRecord(value)) this.fail('presence', 'must be an object or null', value);
    const copy = this.jsonCopy('presence', value) as Record<string, unknown>;
    const { since, activities, status, afk } = copy;
    if (since !== null && (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)) {
      this.fail('presence.since', 'must be a Unix time in milliseconds or null', since);
    }
    if (typeof status !== 'string' || !PRESENCE_STATUSES.includes(status)) {
      this.fail('presence.status', `must be one of ${PRESENCE_STATUSES.join(', ')}`, status);
    }
    if (typeof afk !== 'boolean') this.fail('presence.afk', 'must be a boolean', afk);
    if (!Array.isArray(activities)) this.fail('presence.activities', 'must be an array', activities);
    activities.forEach((activity: unknown, index) => {
      const at = `presence.activities[${index}]`;
      if (!isRecord(activity)) this.fail(at, 'must be an object', activity);
      if (typeof activity.name !== 'string') this.fail(`${at}.name`, 'must be a string', activity.name);
      if (!ACTIVITY_TYPES.includes(activity.type)) this.fail(`${at}.type`, `must be an ActivityType (${ACTIVITY_TYPES.join(', ')})`, activity.type);
      for (const key of ['state', 'url'] as const) {
        if (activity[key] !== undefined && activity[key] !== null && typeof activity[key] !== 'string') {
          this.fail(`${at}.${key}`, 'must be a string or null', activity[key]);
        }
      }
    });
    return copy as unknown as GatewayPresenceUpdateData;
  }

  identifyProperties(value: unknown): GatewayIdentifyProperties {
    if (value === undefined) return { os: process.platform, browser: 'gloaming', device: 'gloaming' };
    if (!isRecord(value)) this.fail('identifyProperties', 'must be an object', value);
    const copy = this.jsonCopy('identifyProperties', value) as Record<string, unknown>;
    for (const key of ['os', 'browser', 'device'] as const) {
      if (typeof copy[key] !== 'string') this.fail(`identifyProperties.${key}`, 'must be a string', copy[key]);
    }
    return copy as unknown as GatewayIdentifyProperties;
  }

  gatewayUrl(value: unknown, allowInsecureUrls: boolean): string {
    if (value === undefined) return 'wss://gateway.discord.gg';
    if (typeof value !== 'string') return this.fail('gatewayUrl', 'must be a string', value);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.fail('gatewayUrl', 'must be a valid URL', value);
    }
    const problem = tokenUrlProblem(url, 'ws:', 'wss:', allowInsecureUrls);
    if (problem !== null) this.fail('gatewayUrl', problem, value);
    if (url.hash !== '' || value.includes('#')) this.fail('gatewayUrl', 'must not have a fragment', value);
    const own = SHARD_QUERY_PARAMETERS.find((name) => url.searchParams.has(name));
    if (own !== undefined) this.fail('gatewayUrl', `must not set ${own} in its query: the shard sets v, encoding and compress (see compression)`, value);
    return value;
  }

  /** A header value: visible ASCII and spaces, as HTTP allows without encoding. */
  userAgent(value: unknown): string {
    if (value === undefined) return DEFAULT_USER_AGENT;
    if (typeof value !== 'string' || !/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)) {
      this.fail('userAgent', 'must be a non-empty string of printable ASCII (an HTTP header value)', value);
    }
    return value;
  }

  intents(value: unknown): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return this.fail('intents', 'must be a non-negative integer bitfield of GatewayIntentBits', value);
    }
    // bitwise operators see only 32 bits, so find undefined bits with arithmetic
    const undefinedBits: number[] = [];
    for (let bit = 1, rest = value; rest > 0; bit *= 2, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1 && (bit > ALL_INTENTS || (ALL_INTENTS & bit) === 0)) undefinedBits.push(bit);
    }
    if (undefinedBits.length > 0) {
      const named = undefinedBits.map((bit) => `${bit} (1 << ${Math.log2(bit)})`).join(', ');
      const which = undefinedBits.length === 1 ? `bit ${named} is not a gateway intent` : `bits ${named} are not gateway intents`;
      this.fail('intents', `${which} (Discord would close with 4013)`, value);
    }
    return value;
  }
}

/**
 * Validates a {@link ShardConfig} and fills in its defaults. The result is deeply frozen
 * (except the caller's `queue`) and holds copies of `presence`, `identifyProperties`,
 * `timeouts` and `backoff`, so later changes to the caller's objects do not reach the shard. A {@link ResolvedShardConfig}
 * passed back in resolves to an equal config.
 *
 * @throws ConfigError naming the first invalid option: an unknown key, a missing or empty
 *   token, intents with undefined bits, a value of the wrong type or out of range, or a
 *   presence and identify properties too large for Discord's 4096-byte IDENTIFY.
 *
 * @example
 * const config = resolveShardConfig({ token: 'Bot MTIz.abc.def', intents: 513, timeouts: { hello: 5_000 } });
 * config.largeThreshold;   // 50
 * config.timeouts.connect; // 15000
 * `${config.token}`;       // '[redacted token]'
 */
export function resolveShardConfig(config: ShardConfig): ResolvedShardConfig {
  if (!isRecord(config)) throw new ConfigError('', `expected an options object, got ${typeName(config)}`);
  // Unknown keys come first: `tokn` should be reported as a typo, not as a missing token.
  const given = config.token instanceof Token ? config.token.reveal() : typeof config.token === 'string' ? stripToken(config.token) : '';
  for (const key of Object.keys(config)) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      // someone may have written `{ [token]: … }`; the key is then not quoted
      const shown = given !== '' && key.includes(given) ? REDACTED : key;
      throw new ConfigError(shown, `unknown option${suggest(key, OPTIONS)}`);
    }
  }
  if (config.token === undefined || config.token === null) throw new ConfigError('token', 'is required');
  const token = config.token instanceof Token ? config.token : new Token(config.token);
  const check = new Checker(token.reveal());

  const intents = check.intents(config.intents);
  const largeThreshold = check.integer('largeThreshold', config.largeThreshold, 50, 50, 250);
  const presence = check.presence(config.presence);
  const identifyProperties = check.identifyProperties(config.identifyProperties);
  const allowInsecureUrls = check.boolean('allowInsecureUrls', config.allowInsecureUrls, false);
  const gatewayUrl = check.gatewayUrl(config.gatewayUrl, allowInsecureUrls);
  const userAgent = check.userAgent(config.userAgent);

  const compression = config.compression === undefined ? 'zlib-stream' : config.compression;
  if (compression !== null && compression !== 'zlib-stream' && compression !== 'zstd-stream') {
    check.fail('compression', "must be 'zlib-stream', 'zstd-stream' or null", compression);
  }
  if (compression === 'zstd-stream' && !zstdSupported()) {
    throw new ConfigError('compression', "'zstd-stream' needs the optional package zstd-napi, which is not installed (npm install zstd-napi), or use 'zlib-stream'");
  }
  const ratelimitMessages = check.boolean('ratelimitMessages', config.ratelimitMessages, true);

  const eventTypes = check.eventTypes(config.eventTypes);

  const session = config.session ?? null;
  if (session !== null && !(session instanceof Session)) {
    check.fail('session', 'must be a Session or null (read a stored one with Session.fromJSON)', session);
  }

  const queue = config.queue ?? null;
  if (queue !== null && (typeof queue !== 'object' || typeof (queue as Partial<Queue>).enqueue !== 'function')) {
    check.fail('queue', 'must be a Queue (an object with an enqueue method) or null', queue);
  }

  const logger = config.logger ?? null;
  if (logger !== null && !isLogger(logger)) {
    check.fail('logger', 'must be a logger with trace, debug, info, warn, error, fatal and child (pino has them), or null', logger);
  }

  const maxInflatedSize = check.integer('maxInflatedSize', config.maxInflatedSize, 128 * 1024 * 1024, 4096, bufferConstants.MAX_LENGTH);
  const maxBufferedMessages = check.integer('maxBufferedMessages', config.maxBufferedMessages, 256, 1, Number.MAX_SAFE_INTEGER);

  const t = check.group('timeouts', config.timeouts, ['connect', 'hello', 'ready']);
  const timeouts: ResolvedTimeouts = {
    connect: check.integer('timeouts.connect', t.connect, 15_000, 1, MAX_TIMER_MS),
    hello: check.integer('timeouts.hello', t.hello, 10_000, 1, MAX_TIMER_MS),
    ready: check.integer('timeouts.ready', t.ready, 60_000, 1, MAX_TIMER_MS),
  };

  const b = check.group('backoff', config.backoff, ['initial', 'max', 'jitter']);
  const backoff: ResolvedBackoff = {
    initial: check.integer('backoff.initial', b.initial, 1_000, 1, MAX_TIMER_MS),
    max: check.integer('backoff.max', b.max, 60_000, 1, MAX_TIMER_MS),
    jitter: check.boolean('backoff.jitter', b.jitter, true),
  };
  if (backoff.initial > backoff.max) {
    throw new ConfigError('backoff.initial', `must not exceed backoff.max (${backoff.max}), got ${backoff.initial}`);
  }
  const maxIdentifyFailures = check.integer('maxIdentifyFailures', config.maxIdentifyFailures, 10, 1, Number.MAX_SAFE_INTEGER);

  // The largest IDENTIFY this config can produce; checked here so an oversized presence
  // fails at construction instead of as close 4002 on every connect.
  const largest = identifyPayload('x'.repeat(Buffer.byteLength(token.reveal())), { intents, identifyProperties, largeThreshold, presence }, [2 ** 16 - 1, 2 ** 16]);
  const identifyBytes = Buffer.byteLength(JSON.stringify(largest));
  if (identifyBytes > MAX_PAYLOAD_BYTES) {
    throw new ConfigError(
      presence === null ? 'identifyProperties' : 'presence',
      `IDENTIFY would be up to ${identifyBytes} bytes, over Discord's ${MAX_PAYLOAD_BYTES}-byte limit (close 4002)`,
    );
  }

  // Frozen part by part: the queue is the caller's live object and must stay mutable.
  return Object.freeze({
    token,
    intents,
    largeThreshold,
    presence: deepFreeze(presence),
    identifyProperties: deepFreeze(identifyProperties),
    gatewayUrl,
    userAgent,
    compression,
    allowInsecureUrls,
    ratelimitMessages,
    eventTypes,
    session,
    queue,
    logger,
    maxInflatedSize,
    maxBufferedMessages,
    timeouts: Object.freeze(timeouts),
    backoff: Object.freeze(backoff),
    maxIdentifyFailures,
  } satisfies ResolvedShardConfig);
}
