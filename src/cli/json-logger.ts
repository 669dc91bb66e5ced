/**
 * The CLI's logger: one JSON line per entry on a stream, pino's line shape (`level` as a
 * number, `time`, `msg`, the fields). Its own few lines rather than pino, which would add 13
 * packages to every install of the library for a demo's handful of lines per reconnect; a bot
 * passes its own pino to the `logger` options.
 */
import { LOG_LEVELS } from '../observability/logger.js';
import type { Logger, LogLevel, LogMethod } from '../observability/logger.js';

/** The CLI's `--log-level` values: a level, or `silent`. */
export const CLI_LOG_LEVELS = [...LOG_LEVELS, 'silent'] as const;

/** pino's numbers for its levels, so tools that read pino lines read these. */
const LEVEL_NUMBERS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** A logger writing lines at `minimum` and above to `write`. */
export function jsonLogger(minimum: LogLevel, write: (line: string) => void, bindings: Readonly<Record<string, unknown>> = {}): Logger {
  const enabled = (level: string): boolean => LOG_LEVELS.indexOf(level as LogLevel) >= LOG_LEVELS.indexOf(minimum);
  const method =
    (level: LogLevel): LogMethod =>
    (fields, msg) => {
      if (enabled(level)) write(`${JSON.stringify({ level: LEVEL_NUMBERS[level], time: Date.now(), ...bindings, ...fields, msg })}\n`);
    };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => jsonLogger(minimum, write, { ...bindings, ...more }),
    isLevelEnabled: enabled,
  };
}
