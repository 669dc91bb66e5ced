/**
 * The logger gloaming writes to: pino's shape, so `pino()` plugs in as it is, and anything
 * else with the same six methods and `child`. gloaming is silent without one.
 */

/** The levels gloaming logs at, least severe first (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a logger method is called: structured fields first, then the message. */
export type LogMethod = (fields: object, message?: string) => void;

/**
 * What gloaming logs through. Every line has structured fields (`shardId`, `attempt`, `code`,
 * `delayMs`, `cause`, `waitMs`, `replayed`, …) and a short message; the token never appears.
 *
 * @example
 * import pino from 'pino';
 * const shard = new Shard([0, 1], { token, intents, logger: pino({ level: 'debug' }) });
 */
export interface Logger {
  /** State changes, one per step. */
  trace: LogMethod;
  /** Connects, HELLOs, identify queue waits. */
  debug: LogMethod;
  /** Identifies, READY, resumes, closes, first reconnects, worker starts. */
  info: LogMethod;
  /** Reconnects in a row, shard errors, Redis outages, worker restarts. */
  warn: LogMethod;
  /** Shards that end for good, workers that exit or are given up, observers that throw. */
  error: LogMethod;
  /** Not used by gloaming today; part of pino's shape. */
  fatal: LogMethod;
  /** A logger that adds `bindings` to every line (gloaming binds `shardId`, `worker`). */
  child(bindings: Record<string, unknown>): Logger;
  /** pino's level check; when present, levels it turns off are not even sent between threads. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * The levels `logger` writes, as far as it says (all of them when it has no `isLevelEnabled`).
 *
 * @internal
 */
export function enabledLevels(logger: Logger): LogLevel[] {
  return LOG_LEVELS.filter((level) => logger.isLevelEnabled?.(level) ?? true);
}

/**
 * Whether `value` has a logger's shape.
 *
 * @internal
 * @example
 * isLogger(console); // false: console has no fatal() nor child()
 */
export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return [...LOG_LEVELS, 'child'].every((name) => typeof record[name] === 'function');
}

/**
 * The error fields of a log line: name, message and code, never the cause chain's payloads.
 *
 * @internal
 */
export function errorFields(error: unknown): { name: string; message: string; code?: string } {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}
