/**
 * Command-line option parsing shared by the `gloaming` subcommands: turns flag strings
 * into FakeGateway options with errors that name the flag.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { FakeGatewayOptions } from '../testing/options.js';

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
