/**
 * `gloaming demo` (what `npm start` runs): a fleet of real shards started through the
 * identify queue and read through one merged stream (or a WorkerFleet with `--workers N`),
 * shown live — each shard's state (and worker), identify progress, events per second and
 * heartbeat latency. Against an in-process FakeGateway by default, against Discord when
 * DISCORD_TOKEN is set.
 */
import { GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import { closeAll, createRecommended } from '../fleet/create.js';
import { ShardEventStream } from '../fleet/merged-stream.js';
import type { RecommendedConfig } from '../fleet/plan.js';
import { resumeSessions } from '../fleet/sessions.js';
import { keepSessions } from '../sessions/saver.js';
import { JsonFileSessionStore } from '../sessions/store.js';
import type { SessionStore } from '../sessions/store.js';
import { InMemoryQueue } from '../queue/in-memory-queue.js';
import type { Queue } from '../queue/queue.js';
import { CloseFrame } from '../shard/close-codes.js';
import type { ShardEvent } from '../shard/events.js';
import type { Session } from '../shard/session.js';
import type { Shard } from '../shard/shard.js';
import { FakeGateway } from '../testing/fake-gateway.js';
import { WorkerShardHandle } from '../workers/handle.js';
import { WorkerFleet } from '../workers/worker-fleet.js';
import { cliLogger, gatewayOptions, metricsAddress, parseFlags, positive, UsageError } from './args.js';
import { untilStopped } from './until-stopped.js';

/** What the demo shows for one shard. */
interface ShardRow {
  shard: number;
  /** The worker thread holding it (`--workers`), or null in one thread. */
  worker: number | null;
  state: string;
  eventsPerSecond: number;
  events: number;
  latencyMs: number | null;
  sequence: number | null;
}

const DISCORD_REST = 'https://discord.com/api/v10';

/** The fleet's identify queue, watched so the screen can tell shards waiting in it from shards identifying. */
class WatchedQueue implements Queue {
  /** Shards waiting for their turn to identify. */
  readonly waiting = new Set<number>();

  constructor(readonly inner: Queue) {}

  enqueue(shardId: number, signal?: AbortSignal): Promise<void> {
    this.waiting.add(shardId);
    return this.inner.enqueue(shardId, signal).finally(() => this.waiting.delete(shardId));
  }
}

/** What the screen reads of a shard, local or in a worker. */
type DemoShard = Shard | WorkerShardHandle;

/** The demo's shards however they are hosted: their items, their queue (watched when it is local), and closing them with RESUME. */
interface DemoFleet {
  readonly shards: readonly DemoShard[];
  readonly items: AsyncIterable<{ readonly shard: DemoShard; readonly event: ShardEvent }>;
  readonly queue: WatchedQueue | null;
  readonly maxConcurrency: number | null;
  close(): Promise<Map<number, Session>>;
}

/** The shards /gateway/bot recommends, in this thread, read through one merged stream. */
async function localFleet(config: RecommendedConfig, saved: Map<number, Session>, store: SessionStore | null): Promise<DemoFleet & { readonly target: Shard[] }> {
  let queue: WatchedQueue | null = null;
  const shards = await createRecommended(
    config,
    resumeSessions(saved, (_id, shardConfig) => {
      // Every shard shares createRecommended's queue, so one watcher wraps it for all.
      queue ??= new WatchedQueue(shardConfig.queue as Queue);
      return { ...shardConfig, queue };
    }),
  );
  const inner = (queue as WatchedQueue | null)?.inner;
  const keeper = store === null ? null : keepSessions(shards, store);
  let items: ShardEventStream | null = null;
  return {
    shards,
    target: shards,
    // Made when first read, after `--metrics` began watching: the shards connect when the stream first peeks.
    get items() {
      return (items ??= new ShardEventStream(shards));
    },
    queue,
    maxConcurrency: inner instanceof InMemoryQueue ? inner.maxConcurrency : null,
    close: async () => {
      const sessions = await closeAll(shards, CloseFrame.RESUME);
      await keeper?.stop();
      return sessions;
    },
  };
}

/** The same shards on `workers` worker threads (a WorkerFleet). */
async function workerFleet(config: RecommendedConfig, saved: Map<number, Session>, store: SessionStore | null, workers: number): Promise<DemoFleet & { readonly target: WorkerFleet }> {
  const fleet = new WorkerFleet({ workers, shards: { recommended: true }, config, sessions: saved, ...(store === null ? {} : { sessionStore: store }) });
  await fleet.ready();
  return { shards: [...fleet.shards.values()], target: fleet, items: fleet, queue: null, maxConcurrency: null, close: () => fleet.close(CloseFrame.RESUME) };
}

/** Errors the live screen keeps below the table. */
const ERRORS_SHOWN = 5;

/** The live screen, written over the last one from the top left, each line cleared to its end. */
function render(title: string, header: string, rows: ShardRow[], errors: readonly string[]): string {
  const workers = rows.some((row) => row.worker !== null);
  const lines = rows.map(
    (row) =>
      `${String(row.shard).padStart(5)}${workers ? String(row.worker).padStart(8) : ''}  ${row.state.padEnd(16)}${String(row.eventsPerSecond).padStart(8)}${String(row.events).padStart(10)}` +
      `${(row.latencyMs === null ? '-' : row.latencyMs.toFixed(1)).padStart(10)}${String(row.sequence ?? '-').padStart(10)}`,
  );
  const screen = [
    title,
    header,
    `shard${workers ? '  worker' : ''}  state           events/s     total  latency ms  sequence`,
    ...lines,
    '',
    'latency: - until the first heartbeat is acknowledged (it goes out within one heartbeat interval of HELLO)',
    errors.length === 0 ? 'no errors' : `last ${errors.length === 1 ? 'error' : `${errors.length} errors`}:`,
    ...errors,
  ];
  return `\x1b[H${screen.map((line) => `${line}\x1b[K`).join('\n')}\n\x1b[J`;
}

/**
 * Runs the demo until Ctrl-C (or `--duration`), then closes the fleet with RESUME and,
 * with `--sessions FILE`, saves the sessions so the next run resumes instead of identifying.
 *
 * @throws UsageError for a bad flag.
 */
export async function demoCommand(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    json: { type: 'boolean' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    sessions: { type: 'string' },
    'rest-url': { type: 'string' },
    workers: { type: 'string' },
    metrics: { type: 'string' },
    'log-level': { type: 'string' },
  });
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
  const json = values.json === true;
  const discordToken = process.env.DISCORD_TOKEN;
  const sessionsFile = (values.sessions as string | undefined) ?? (discordToken ? 'gloaming-sessions.json' : undefined);
  const shardCount = positive('shards', values.shards, 16);
  const concurrency = positive('concurrency', values.concurrency, 4);
  const workers = values.workers === undefined ? null : positive('workers', values.workers, 1);
  const metrics = metricsAddress(values.metrics as string | undefined);
  const logger = cliLogger(values['log-level']);

  let gateway: FakeGateway | null = null;
  let restUrl = values['rest-url'] as string | undefined;
  if (discordToken) restUrl ??= DISCORD_REST;
  else if (restUrl === undefined) {
    gateway = await FakeGateway.start(
      gatewayOptions(values, { shards: shardCount, maxConcurrency: concurrency, guilds: shardCount * 5, rate: 20, logDispatches: false }),
    );
    restUrl = gateway.restUrl;
  }
  const print = (text: string, record: object): void => {
    process.stdout.write(json ? `${JSON.stringify(record)}\n` : `${text}\n`);
  };
  const target = discordToken ? 'Discord' : gateway ? `an in-process FakeGateway (${gateway.url})` : restUrl;
  print(`gloaming demo against ${target}. Ctrl-C stops.`, { type: 'start', target, restUrl });

  // A new in-process simulator knows no session of an earlier run: resuming one could only fail.
  if (gateway !== null && sessionsFile !== undefined) {
    print(`sessions in ${sessionsFile} are not resumed or saved: the in-process simulator starts empty every run (run \`gloaming fake-gateway\` and pass its restUrl as --rest-url to resume across runs)`, {
      type: 'notice',
      message: 'sessions are not resumed or saved against the in-process simulator',
    });
  }
  // Saved while the fleet runs, as they move, so even a killed demo resumes next time.
  const store = sessionsFile === undefined || gateway !== null ? null : new JsonFileSessionStore(sessionsFile);
  const saved = store === null ? new Map<number, Session>() : await store.load();
  const config = {
    token: discordToken ?? (values.token as string | undefined) ?? 'demo-token',
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages,
    restUrl,
    allowInsecureUrls: !discordToken,
    ...(logger === null ? {} : { logger }),
  };
  const fleet = workers === null ? await localFleet(config, saved, store) : await workerFleet(config, saved, store, workers);
  const { shards } = fleet;
  // Loaded only when asked for: prom-client is an optional dependency.
  const server = metrics === null ? null : await (await import('../metrics/server.js')).serveMetrics(fleet.target, metrics);
  if (server !== null) print(`metrics on ${server.url}/metrics, health on ${server.url}/healthz`, { type: 'metrics', url: server.url });
  const title = `gloaming demo: ${shards.length} shards (as /gateway/bot answered)${workers === null ? '' : ` on ${workers} worker threads`}, max_concurrency ${fleet.maxConcurrency ?? concurrency}, against ${target}. Ctrl-C stops.`;
  print(title, { type: 'fleet', shards: shards.length, maxConcurrency: fleet.maxConcurrency ?? concurrency, workers });
  print(`${saved.size} saved sessions to resume; the rest identify through the queue`, { type: 'sessions', resuming: saved.size });

  const tty = process.stdout.isTTY && !json;
  const errors: string[] = [];
  if (tty) process.stdout.write('\x1b[2J');
  const counts = new Map<DemoShard, { total: number; lastSecond: number }>(shards.map((shard) => [shard, { total: 0, lastSecond: 0 }]));
  const reading = (async () => {
    for await (const { shard, event } of fleet.items) {
      const count = counts.get(shard);
      if (count && event.op === GatewayOpcodes.Dispatch) count.total += 1;
      if (event.op !== 'error') continue;
      const line = `shard ${shard.id.number}: ${event.d.code}: ${event.d.message}`;
      if (!tty) print(line, { type: 'error', shard: shard.id.number, code: event.d.code, kind: event.d.kind, reconnecting: event.d.reconnecting, message: event.d.message });
      else if (errors.push(line) > ERRORS_SHOWN) errors.shift();
    }
  })();

  const stateOf = (shard: DemoShard): string => {
    const { state } = shard;
    if (state.kind === 'Disconnected') return `Disconnected(${state.attempts})`;
    // Identifying covers the wait for the queue too: a wave of identifies shows as Queued, then Identifying.
    if (state.kind === 'Identifying' && fleet.queue?.waiting.has(shard.id.number) === true) return 'Queued';
    return state.kind;
  };
  const tick = setInterval(() => {
    const rows: ShardRow[] = shards.map((shard) => {
      const count = counts.get(shard) as { total: number; lastSecond: number };
      const row: ShardRow = {
        shard: shard.id.number,
        worker: shard instanceof WorkerShardHandle ? shard.worker : null,
        state: stateOf(shard),
        eventsPerSecond: count.total - count.lastSecond,
        events: count.total,
        latencyMs: shard.latency.recent.at(-1) ?? null,
        sequence: shard.session?.sequence ?? null,
      };
      count.lastSecond = count.total;
      return row;
    });
    const active = rows.filter((row) => row.state === 'Active').length;
    const header = `${active}/${rows.length} shards active, ${rows.reduce((sum, row) => sum + row.eventsPerSecond, 0)} events/s`;
    if (json) print('', { type: 'status', time: Date.now(), active, shards: rows });
    else if (tty) process.stdout.write(render(title, header, rows, errors));
    else print(header, {});
  }, 1_000);

  await untilStopped(duration);
  clearInterval(tick);
  await server?.close();
  const sessions = await fleet.close();
  await reading;
  const total = [...counts.values()].reduce((sum, count) => sum + count.total, 0);
  print(`closed ${shards.length} shards with RESUME after ${total} events; ${store === null ? `sessions not saved${gateway === null ? ' (use --sessions FILE)' : ''}` : `${sessions.size} sessions saved to ${sessionsFile}`}`, {
    type: 'stopped',
    events: total,
    sessionsSaved: store === null ? 0 : sessions.size,
  });
  await gateway?.close();
}
