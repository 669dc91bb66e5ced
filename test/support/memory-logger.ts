/**
 * A logger for tests that keeps every line in memory: what a bot author's own logger
 * would receive, bindings merged in, in order.
 */
import { LOG_LEVELS } from '../../src/observability/logger.js';
import type { Logger, LogLevel } from '../../src/observability/logger.js';

/** One line as written: its level, message, and the bindings and fields merged. */
export interface LogLine extends Record<string, unknown> {
  readonly level: LogLevel;
  readonly msg: string;
}

/**
 * Keeps the lines of itself and of every child, in one shared list: every line it is given,
 * whatever `minimum` says. `minimum` only sets what `isLevelEnabled` answers, so a test sees
 * a line that should not have been written.
 */
export class MemoryLogger implements Logger {
  readonly trace = this.#method('trace');
  readonly debug = this.#method('debug');
  readonly info = this.#method('info');
  readonly warn = this.#method('warn');
  readonly error = this.#method('error');
  readonly fatal = this.#method('fatal');

  constructor(
    readonly lines: LogLine[] = [],
    readonly bindings: Record<string, unknown> = {},
    readonly minimum: LogLevel = 'trace',
  ) {}

  child(bindings: Record<string, unknown>): MemoryLogger {
    return new MemoryLogger(this.lines, { ...this.bindings, ...bindings }, this.minimum);
  }

  isLevelEnabled(level: string): boolean {
    return LOG_LEVELS.indexOf(level as LogLevel) >= LOG_LEVELS.indexOf(this.minimum);
  }

  /** The lines with message `msg` (and, when given, these fields). */
  find(msg: string, fields: Record<string, unknown> = {}): LogLine[] {
    return this.lines.filter((line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value));
  }

  #method(level: LogLevel): (fields: object, msg?: string) => void {
    return (fields, msg = '') => void this.lines.push({ ...this.bindings, ...fields, level, msg });
  }
}
