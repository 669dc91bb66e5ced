/**
 * Command-line option parsing shared by the `gloaming` subcommands: turns flag strings
 * into FakeGateway options with errors that name the flag.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Logger, LogLevel } from '../observability/logger.js';
import type { FakeGatewayOptions } from '../testing/options.js';
import { CLI_LOG_LEVELS, jsonLogger } from './json-logger.js';

/** The simulator flags every subcommand that starts a FakeGateway accepts. */
export const GATEWAY_FLAGS = {
  port: { type: 'string' },
  token: { type: 'string' },
  shards: { type: 'string' },
  'max-concurrency': { type: 'string' },
  guilds: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'identify-interval': { type: 'string' },
  preset: { type: 'string' },
} as const;

/** A usage error: printed without a stack, exit code 2. */
export class UsageError extends Error {}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return number;
}

/** Parses `args` with the simulator flags plus `extra`, rejecting unknown flags. */
export function parseFlags(args: string[], extra: NonNullable<ParseArgsConfig['options']>): { values: Record<string, unknown> } {
  try {
    return parseArgs({ args, options: { ...GATEWAY_FLAGS, ...extra }, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** FakeGateway options from parsed simulator flags; `defaults` fill what is not given. */
export function gatewayOptions(values: Record<string, unknown>, defaults: FakeGatewayOptions = {}): FakeGatewayOptions {
  const get = (name: keyof typeof GATEWAY_FLAGS): string | undefined => values[name] as string | undefined;
  const rate = get('rate');
  const options: FakeGatewayOptions = { ...defaults };
  const set = <K extends keyof FakeGatewayOptions>(key: K, value: FakeGatewayOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('port', integerFlag('port', get('port')));
  set('token', get('token'));
  set('shards', integerFlag('shards', get('shards')));
  set('maxConcurrency', integerFlag('max-concurrency', get('max-concurrency')));
  set('guilds', integerFlag('guilds', get('guilds')));
  if (rate !== undefined && rate !== 'max' && !/^\d+$/.test(rate)) throw new UsageError(`--rate takes a number of dispatches per second or max, got ${JSON.stringify(rate)}`);
  set('rate', rate === 'max' ? 'max' : integerFlag('rate', rate));
  set('seed', integerFlag('seed', get('seed')));
  set('heartbeatInterval', integerFlag('heartbeat-interval', get('heartbeat-interval')));
  set('identifyInterval', integerFlag('identify-interval', get('identify-interval')));
  const preset = get('preset');
  if (preset !== undefined && preset !== 'discord' && preset !== 'spacebar') throw new UsageError(`--preset must be discord or spacebar, got ${JSON.stringify(preset)}`);
  set('preset', preset);
  return options;
}

/** A flag that must be a positive integer, or `fallback` when absent. */
export function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return number;
}

/** `--metrics HOST:PORT` split, or a UsageError naming the flag. */
export function metricsAddress(value: string | undefined): { host: string; port: number } | null {
  if (value === undefined) return null;
  const match = /^(.*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || match[1] === '' || port > 65_535) throw new UsageError(`--metrics takes HOST:PORT (for example 127.0.0.1:9464), got ${JSON.stringify(value)}`);
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port };
}

/** A command's logger from `--log-level` (default warn: the screen is on stdout, the lines go to stderr), or null for silent. */
export function cliLogger(value: unknown): Logger | null {
  const level = value ?? 'warn';
  if (!(CLI_LOG_LEVELS as readonly unknown[]).includes(level)) throw new UsageError(`--log-level must be one of ${CLI_LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  return level === 'silent' ? null : jsonLogger(level as LogLevel, (line) => process.stderr.write(line));
}
