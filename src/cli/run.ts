/**
 * `gloaming run`: the gateway service as a process. Options come from flags, then
 * `GLOAMING_*` environment variables, then a JSON config file (`--config`), in that order of
 * precedence; the token only from `DISCORD_TOKEN` or the config file, never a flag (flags
 * show in `ps`).
 */
import { readFileSync } from 'node:fs';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { isDispatchEventName } from '../codec/event-types.js';
import type { DispatchEventName } from '../codec/event-types.js';
import type { GatewayServiceOptions } from '../service/service.js';
import { UsageError, cliLogger, metricsAddress, positive } from './args.js';
import { parseArgs } from 'node:util';
import { untilStopped } from './until-stopped.js';

/** The flags of `gloaming run`; each is also `GLOAMING_<NAME>` in the environment and `name` in the config file. */
const RUN_FLAGS = {
  config: { type: 'string' },
  redis: { type: 'string' },
  shards: { type: 'string' },
  total: { type: 'string' },
  cluster: { type: 'string' },
  workers: { type: 'string' },
  metrics: { type: 'string' },
  'gateway-url': { type: 'string' },
  'rest-url': { type: 'string' },
  events: { type: 'string' },
  intents: { type: 'string' },
  prefix: { type: 'string' },
  cap: { type: 'string' },
  'max-concurrency': { type: 'string' },
  'identify-interval': { type: 'string' },
  'application-id': { type: 'string' },
  'log-level': { type: 'string' },
  'reshard-interval': { type: 'string' },
  'reshard-threshold': { type: 'string' },
} as const;

export const RUN_USAGE = `usage: gloaming run [options]

The gateway service: shards identifying through a Redis queue, sessions kept in Redis, every
wanted dispatch published to Redis Streams for GatewayConsumer (gloaming/redis), commands
from consumers sent on the shards. SIGTERM or SIGINT closes with RESUME and saves the
sessions; the next start resumes. Needs ioredis (npm install ioredis).

  --redis URL            redis:// URL (required)
  --shards A-B           the shards to run (default all), with --total N (default: /gateway/bot)
  --cluster I/N          or cluster I of N: an even share of the total
  --workers N            run the shards on N worker threads
  --events A,B           the dispatch types to publish (default: every type the intents bring)
  --intents N            gateway intents (default ${GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages}: GUILDS and GUILD_MESSAGES)
  --gateway-url URL      connect here (a proxy or FakeGateway); with --total, /gateway/bot is not asked
  --rest-url URL         ask this REST base for /gateway/bot
  --max-concurrency N    buckets when /gateway/bot is not asked (default 1)
  --identify-interval MS spacing of identifies per bucket (default 5250)
  --prefix P  --cap N    the bus's key prefix (gloaming:bus:) and entries kept per stream (100000)
  --application-id ID    scopes the sessions in Redis (default: from the token)
  --reshard-interval MS  ask /gateway/bot this often and reshard, without downtime, when it
                         recommends more shards (a service of all the shards only); SIGUSR2
                         reshards to the recommended count now
  --reshard-threshold F  reshard only when the recommendation exceeds the count by this
                         fraction (default 0)
  --metrics HOST:PORT    serve /metrics and /healthz
  --log-level L          trace … fatal or silent (default info): JSON lines on stderr
  --config FILE          a JSON object of these options by name ("redis", "shards", …, and "token")

The token: DISCORD_TOKEN, or "token" in the config file. Every option is also GLOAMING_<NAME>
in the environment (GLOAMING_REDIS, GLOAMING_GATEWAY_URL, …).`;

type RunFlag = keyof typeof RUN_FLAGS;

/** The options of `gloaming run` from argv, the environment and the config file. */
export function runOptions(args: string[], env: NodeJS.ProcessEnv): { service: Omit<GatewayServiceOptions, 'logger'>; metrics: { host: string; port: number } | null; logLevel: unknown } {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options: RUN_FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const configFile = (values.config as string | undefined) ?? env.GLOAMING_CONFIG;
  const file = configFile === undefined ? {} : readConfig(configFile);
  const get = (name: RunFlag): string | undefined => {
    const fromFile = file[name];
    if (fromFile !== undefined && typeof fromFile !== 'string' && typeof fromFile !== 'number') throw new UsageError(`--config: "${name}" must be a string or a number`);
    return (values[name] as string | undefined) ?? env[`GLOAMING_${name.toUpperCase().replaceAll('-', '_')}`] ?? (fromFile === undefined ? undefined : String(fromFile));
  };
  const token = env.DISCORD_TOKEN ?? (typeof file.token === 'string' ? file.token : undefined);
  if (token === undefined || token === '') throw new UsageError('no token: set DISCORD_TOKEN, or "token" in the --config file');
  const redis = get('redis');
  if (redis === undefined) throw new UsageError('--redis URL is required (or GLOAMING_REDIS)');
  const integer = (name: RunFlag): number | undefined => {
    const value = get(name);
    return value === undefined ? undefined : positive(name, value, 0);
  };
  const milliseconds = (name: RunFlag): number | undefined => {
    const value = get(name);
    if (value !== undefined && !/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer of milliseconds, got ${JSON.stringify(value)}`);
    return value === undefined ? undefined : Number(value);
  };
  const shards = get('shards');
  let range: [number, number] | undefined;
  if (shards !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(shards);
    if (match === null) throw new UsageError(`--shards takes A-B (or one id), got ${JSON.stringify(shards)}`);
    range = [Number(match[1]), Number(match[2] ?? match[1]) + 1];
  }
  const clusterValue = get('cluster');
  let cluster: { index: number; count: number } | undefined;
  if (clusterValue !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(clusterValue);
    if (match === null) throw new UsageError(`--cluster takes INDEX/COUNT (for example 0/4), got ${JSON.stringify(clusterValue)}`);
    cluster = { index: Number(match[1]), count: Number(match[2]) };
  }
  const eventsValue = get('events');
  let events: DispatchEventName[] | null = null;
  if (eventsValue !== undefined) {
    const names = eventsValue.split(',').map((name) => name.trim());
    const bad = names.find((name) => !isDispatchEventName(name));
    if (bad !== undefined) throw new UsageError(`--events takes dispatch event names (MESSAGE_CREATE,GUILD_CREATE,…), got ${JSON.stringify(bad)}`);
    events = names as DispatchEventName[];
  }
  const intents = get('intents');
  if (intents !== undefined && !/^\d+$/.test(intents)) throw new UsageError(`--intents must be a non-negative integer, got ${JSON.stringify(intents)}`);
  const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  const gatewayUrl = get('gateway-url');
  const restUrl = get('rest-url');
  const service: Omit<GatewayServiceOptions, 'logger'> = {
    token,
    redis,
    intents: intents === undefined ? GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages : Number(intents),
    events,
    // A gateway or REST base on ws:// or http:// is a simulator or a proxy on a private network.
    allowInsecureUrls: [gatewayUrl, restUrl].some((url) => url !== undefined && /^(ws|http):\/\//.test(url)),
    ...optional('range', range),
    ...optional('cluster', cluster),
    ...optional('total', integer('total')),
    ...optional('workers', integer('workers')),
    ...optional('gatewayUrl', gatewayUrl),
    ...optional('restUrl', restUrl),
    ...optional('prefix', get('prefix')),
    ...optional('cap', integer('cap')),
    ...optional('maxConcurrency', integer('max-concurrency')),
    ...optional('identifyIntervalMs', milliseconds('identify-interval')),
    ...optional('applicationId', get('application-id')),
    ...reshardOptions(milliseconds('reshard-interval'), get('reshard-threshold')),
  };
  return { service, metrics: metricsAddress(get('metrics')), logLevel: get('log-level') ?? 'info' };
}

/** `--reshard-interval` and `--reshard-threshold` as the service's reshard options. */
function reshardOptions(interval: number | undefined, threshold: string | undefined): Pick<GatewayServiceOptions, 'reshard'> {
  if (threshold !== undefined && !/^\d+(\.\d+)?$/.test(threshold)) throw new UsageError(`--reshard-threshold must be a non-negative number (a fraction: 0.2 is 20% more), got ${JSON.stringify(threshold)}`);
  if (interval !== undefined && interval < 1_000) throw new UsageError(`--reshard-interval must be at least 1000 ms, got ${interval}`);
  if (interval === undefined && threshold === undefined) return {};
  return { reshard: { checkInterval: interval ?? null, ...(threshold === undefined ? {} : { threshold: Number(threshold) }) } };
}

function readConfig(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--config ${path} must hold a JSON object of options`);
  return parsed as Record<string, unknown>;
}

/** One line on stdout for whoever supervises the process. */
const say = (record: object): void => void process.stdout.write(`${JSON.stringify(record)}\n`);

/**
 * Runs the service until SIGTERM or SIGINT (exit 0 after a RESUME close), or a fatal close
 * (exit 1, the reason on stderr).
 *
 * @throws UsageError for bad options; the service's start errors (Redis, `/gateway/bot`).
 */
export async function runCommand(args: string[]): Promise<void> {
  const { service: options, metrics, logLevel } = runOptions(args, process.env);
  const logger = cliLogger(logLevel);
  // Loaded here: the service needs ioredis, which `gloaming demo` does not.
  const { GatewayService } = await import('../service/service.js');
  let service: Awaited<ReturnType<typeof GatewayService.start>>;
  try {
    service = await GatewayService.start({ ...options, logger, onReshard: (report) => say({ type: 'resharded', ...report }) });
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) throw error; // option errors: exit 2
    process.stderr.write(`gloaming run: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const server = metrics === null ? null : await (await import('../metrics/server.js')).serveMetrics(service.metricsTarget, metrics);
  say({ type: 'started', total: service.total, shards: service.shardIds, workers: options.workers ?? 0, metrics: server?.url ?? null });
  const watch = setInterval(() => {
    if (!service.active) return;
    clearInterval(watch);
    say({ type: 'active', shards: service.shardIds.length });
  }, 100);
  const started = service;
  const reshardNow = (): void => {
    say({ type: 'resharding' });
    started.reshard().catch((error: unknown) => say({ type: 'reshard-refused', reason: (error as Error).message }));
  };
  process.on('SIGUSR2', reshardNow);
  const failure = await Promise.race([service.done, untilStopped().then(() => null)]);
  process.off('SIGUSR2', reshardNow);
  clearInterval(watch);
  await service.stop();
  await server?.close();
  say({ type: 'stopped', published: service.published, reason: failure === null ? 'signal' : failure.message });
  if (failure !== null) {
    process.stderr.write(`gloaming run: ${failure.message}\n`);
    process.exitCode = 1;
  }
}
