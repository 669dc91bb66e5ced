/**
 * A shard config as plain data, for the places a config has to cross: `postMessage` to a
 * worker thread, a JSON file or a message to another process. Classes and functions do
 * not survive those, so the token travels as a string (only when asked for), the session
 * as its JSON form and the event types as an array; a queue and a logger cannot travel at all.
 */
import type { DispatchEventName } from './codec/event-types.js';
import { ConfigError, resolveShardConfig } from './config.js';
import type { ShardConfig } from './config.js';
import { Session } from './shard/session.js';
import type { SessionJSON } from './shard/session.js';

/**
 * The plain-data form of a {@link ShardConfig}: every option given explicitly, safe for
 * `structuredClone`, `postMessage` and `JSON.stringify`. It holds the token in clear:
 * keep it out of logs and files that others read.
 */
export interface ShardConfigData extends Omit<Required<ShardConfig>, 'token' | 'eventTypes' | 'session' | 'queue' | 'logger'> {
  /** The bot token without the `Bot ` prefix, in clear. */
  token: string;
  /** The dispatch types to deliver, or null for all. */
  eventTypes: DispatchEventName[] | null;
  /** The session to resume, or null to identify. */
  session: SessionJSON | null;
}

/**
 * The plain-data form of `config`, validated and with every default filled in, so the
 * side that reads it builds exactly the shard this side would have built.
 *
 * @param options - `includeToken: true` acknowledges that the result holds the token in clear.
 * @throws ConfigError for an invalid config (as `new Shard` would), when `includeToken` is
 *   not `true`, or (option `queue`, `logger`) when the config has a queue or a logger: they
 *   are objects with methods, so each side needs its own (a queue shared, for example on
 *   Redis) or a proxy to it.
 *
 * @example
 * worker.postMessage({ shard: 3, config: shardConfigToData({ token, intents }, { includeToken: true }) });
 */
export function shardConfigToData(config: ShardConfig, options: { includeToken: true }): ShardConfigData {
  if (options?.includeToken !== true) throw new ConfigError('includeToken', 'must be true: the plain-data form holds the token in clear');
  const resolved = resolveShardConfig(config);
  if (resolved.queue !== null) {
    throw new ConfigError('queue', 'a queue cannot become plain data; give the other side its own queue (shared, for example on Redis) or a proxy to this one');
  }
  if (resolved.logger !== null) {
    throw new ConfigError('logger', 'a logger cannot become plain data; give the other side its own, or forward its lines (a WorkerFleet takes a logger option and does)');
  }
  return {
    token: resolved.token.reveal(),
    intents: resolved.intents,
    largeThreshold: resolved.largeThreshold,
    presence: structuredClone(resolved.presence),
    identifyProperties: { ...resolved.identifyProperties },
    gatewayUrl: resolved.gatewayUrl,
    compression: resolved.compression,
    allowInsecureUrls: resolved.allowInsecureUrls,
    userAgent: resolved.userAgent,
    ratelimitMessages: resolved.ratelimitMessages,
    eventTypes: resolved.eventTypes === null ? null : [...resolved.eventTypes],
    session: resolved.session === null ? null : resolved.session.toJSON(),
    maxInflatedSize: resolved.maxInflatedSize,
    maxBufferedMessages: resolved.maxBufferedMessages,
    timeouts: { ...resolved.timeouts },
    backoff: { ...resolved.backoff },
    maxIdentifyFailures: resolved.maxIdentifyFailures,
  };
}

/**
 * The {@link ShardConfig} that `data` (from {@link shardConfigToData}, after any number of
 * clones or a JSON round trip) stands for, ready for `new Shard` or `queue` to be added.
 *
 * @throws ConfigError when `data` is not an object or any option in it is invalid, naming the
 *   option; a bad session names `session`.
 *
 * @example
 * parentPort.on('message', ({ shard, config }) => new Shard(new ShardId(shard, 16), shardConfigFromData(config)));
 */
export function shardConfigFromData(data: unknown): ShardConfig {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError('', 'expected the plain-data form of a shard config (an object)');
  const { session, ...rest } = data as Record<string, unknown>;
  let parsed: Session | null = null;
  if (session !== undefined && session !== null) {
    try {
      parsed = Session.fromJSON(session);
    } catch (error) {
      throw new ConfigError('session', (error as Error).message);
    }
  }
  const config = { ...rest, session: parsed } as unknown as ShardConfig;
  resolveShardConfig(config); // the receiving side learns of a bad option here, not at connect
  return config;
}
