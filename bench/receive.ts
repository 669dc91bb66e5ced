/**
 * Issue 4's benchmark: the receive path of gloaming against its peers, in the same run,
 * on the same bytes. Prints a markdown table and the ratios issue 4 sets targets for.
 *
 * - Traffic: FakeGateway's realistic traffic (World seed 1, 100 guilds, all intents,
 *   message content), generated and compressed once before anything is timed: one zlib
 *   deflate context per stream, Z_SYNC_FLUSH per message, HELLO, READY, then the
 *   dispatches, the last an INTERACTION_CREATE end marker. With 16 shards each connection
 *   gets its own sixteenth of the dispatches: identical streams on every connection would
 *   let a client that interleaves them finely reuse warm caches that real shards never
 *   share.
 * - Server: a child process (`receive-server.ts`) that writes the pre-framed stream to
 *   each socket as fast as the client reads; its CPU is not counted.
 * - Clients: each run of each client is a fresh child process (`clients/*.ts`, bundled
 *   with esbuild when the benchmark starts, so every run measures the same code and no
 *   TypeScript loader sits in the process). A client connects 1 or 16 shards, takes its
 *   CPU baseline once all are READY, then the server streams; it reports its own CPU
 *   (user + system, all threads) per dispatch, events/s, RSS and heap.
 * - Idle memory: 200 shards connect, get READY and idle; (RSS after - RSS before) / 200
 *   after forced GCs, each reading taken after 12 s of idling (clients/harness.ts).
 *
 * Run: npm run bench [-- --runs 3 --events 100000 --idle-shards 200 --shards 1,16 --quick --only a,b]
 * (`--idle-shards 0` skips idle memory; `--shards 16` runs the 16-shard column only.)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { REPORT_PREFIX, askServer } from './receive-shared.js';
import type { ClientArgs, ClientReport, ServerReport, ServerRequest } from './receive-shared.js';
import { writeStreams } from './streams.js';
import type { StreamStats } from './streams.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------- options

interface Options {
  runs: number;
  /** Dispatches per client run over all shards (16 shards get a sixteenth each). */
  events: number;
  /** 0: no idle-memory runs. */
  idleShards: number;
  /** Which throughput columns to run. */
  shardCounts: ShardCount[];
  only: Set<string> | null;
}

const SHARD_COUNTS = [1, 16] as const;
type ShardCount = (typeof SHARD_COUNTS)[number];

function parseOptions(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at === -1 ? undefined : argv[at + 1];
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
    return parsed;
  };
  const only = value('--only');
  const shards = value('--shards')?.split(',').map(Number) ?? [...SHARD_COUNTS];
  const unknown = shards.filter((n) => !(SHARD_COUNTS as readonly number[]).includes(n));
  if (unknown.length > 0) throw new Error(`--shards takes ${SHARD_COUNTS.join(' and/or ')}, comma-separated; got ${String(value('--shards'))}`);
  return {
    runs: integer('--runs', quick ? 1 : 3, 1),
    events: integer('--events', quick ? 10_000 : 100_000, 160),
    idleShards: integer('--idle-shards', quick ? 50 : 200, 0),
    shardCounts: SHARD_COUNTS.filter((n) => shards.includes(n)),
    only: only === undefined ? null : new Set(only.split(',')),
  };
}

const options = parseOptions(process.argv.slice(2));

interface Client {
  readonly name: string;
  /** The bundle it runs as (idle rows may reuse a throughput client in idle mode). */
  readonly bundle: string;
  readonly throughput: boolean;
  readonly idle: boolean;
  /** Why it cannot run here, or null. */
  readonly skip: string | null;
}

function zlibSyncMissing(): string | null {
  try {
    createRequire(import.meta.url)('zlib-sync');
    return null;
  } catch (error) {
    return `zlib-sync could not be loaded (${(error as Error).message.split('\n')[0]}); install it (native addon, node-gyp)`;
  }
}

const zlibSync = zlibSyncMissing();
const CLIENTS: readonly Client[] = [
  { name: 'gloaming-full', bundle: 'gloaming-full', throughput: true, idle: true, skip: null },
  { name: 'gloaming-metrics', bundle: 'gloaming-metrics', throughput: true, idle: false, skip: null },
  { name: 'gloaming-interactions', bundle: 'gloaming-interactions', throughput: true, idle: false, skip: null },
  { name: 'gloaming-fleet', bundle: 'gloaming-fleet', throughput: true, idle: false, skip: null },
  { name: 'gloaming-workers', bundle: 'gloaming-workers', throughput: true, idle: false, skip: null },
  { name: 'gloaming-workers-handler', bundle: 'gloaming-workers-handler', throughput: true, idle: false, skip: null },
  { name: 'limit', bundle: 'limit', throughput: true, idle: false, skip: null },
  { name: 'floor-socket', bundle: 'floor-socket', throughput: true, idle: false, skip: null },
  { name: 'discordjs-zlib-sync', bundle: 'discordjs-zlib-sync', throughput: true, idle: true, skip: zlibSync },
  { name: 'discordjs-node-zlib', bundle: 'discordjs-node-zlib', throughput: true, idle: true, skip: null },
  { name: 'discordjs-workers', bundle: 'discordjs-workers', throughput: true, idle: false, skip: zlibSync },
  { name: 'discordeno', bundle: 'discordeno', throughput: true, idle: true, skip: null },
  { name: 'floor-ws-zlib', bundle: 'floor-ws-zlib', throughput: false, idle: true, skip: null },
].filter((client) => options.only === null || options.only.has(client.name));

const log = (line: string): void => void process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------- children

const children = new Set<ChildProcess>();
const killChildren = (): void => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

const cacheDir = join(root, 'node_modules', '.cache', 'gloaming-bench');
const dataDir = mkdtempSync(join(os.tmpdir(), 'gloaming-bench-'));
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));

/** Bundles the server and the clients, each with src/ inside and node_modules outside. */
async function bundle(): Promise<void> {
  mkdirSync(cacheDir, { recursive: true });
  const entries: Record<string, string> = { 'receive-server': join(root, 'bench', 'receive-server.ts') };
  for (const client of CLIENTS) entries[client.bundle] = join(root, 'bench', 'clients', `${client.bundle}.ts`);
  // What the WorkerFleet clients start in their threads, beside them: the fleet's worker side
  // (as the package ships it, worker-entry.js next to the code that spawns it) and the handler module.
  writeFileSync(join(cacheDir, 'package.json'), '{ "type": "module" }\n');
  entries['worker-handler'] = join(root, 'bench', 'clients', 'worker-handler.ts');
  const options = { outdir: cacheDir, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' } as const;
  await build({ ...options, entryPoints: { 'worker-entry': join(root, 'src', 'workers', 'worker-entry.ts') } });
  await build({ ...options, entryPoints: entries, outExtension: { '.js': '.mjs' } });
}

/** A fingerprint of src/ and its newest file, to say which gloaming was measured. */
function sourceSnapshot(): { hash: string; newest: string; newestAt: Date } {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  walk(join(root, 'src'));
  files.sort();
  const hash = createHash('sha256');
  let newest = '';
  let newestAt = new Date(0);
  for (const file of files) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file));
    const at = statSync(file).mtime;
    if (at > newestAt) [newest, newestAt] = [relative(root, file), at];
  }
  return { hash: hash.digest('hex').slice(0, 12), newest, newestAt };
}

// ---------------------------------------------------------------------------- server

/** The traffic server, started once the bundles exist. */
let server!: ChildProcess;

const fromServer = <T extends ServerReport['type']>(type: T, request?: ServerRequest): Promise<Extract<ServerReport, { type: T }>> => askServer(server, type, request);

// ---------------------------------------------------------------------------- running clients

type Final = Extract<ClientReport, { type: 'result' | 'idle' }>;
let groupCounter = 0;
/** Extra node flags for every client process, e.g. `BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'` (NODE_OPTIONS refuses --cpu-prof). */
const clientFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

function runClient(client: Client, args: Omit<ClientArgs, 'gatewayUrl' | 'restApi'>, port: number, timeoutMs: number): Promise<Final> {
  const group = `g${++groupCounter}`;
  const path = `b/${group}/${args.shards}/${args.events}`;
  const full: ClientArgs = { ...args, gatewayUrl: `ws://127.0.0.1:${port}/${path}`, restApi: `http://127.0.0.1:${port}/api/${path}` };
  const child = spawn(process.execPath, ['--expose-gc', ...clientFlags, join(cacheDir, `${client.bundle}.mjs`), JSON.stringify(full)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let tail = '';
  const keep = (text: string): void => {
    tail = (tail + text).slice(-2000);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  let final: Final | null = null;
  let error: string | null = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith(REPORT_PREFIX)) {
      keep(`${line}\n`);
      return;
    }
    const message = JSON.parse(line.slice(REPORT_PREFIX.length)) as ClientReport;
    if (message.type === 'ready') server.send({ type: 'go', group } satisfies ServerRequest);
    else if (message.type === 'error') error = message.message;
    else final = message;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      error = `timed out after ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (final !== null && error === null) resolve(final);
      else reject(new Error(error ?? `exited with ${code ?? signal}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

interface Throughput {
  cpuPerEvent: number;
  eventsPerSecond: number;
  rssMB: number;
  heapMB: number;
}

const throughput = new Map<string, Map<ShardCount, Throughput[]>>();
const idle = new Map<string, number[]>();
const failures = new Map<string, string>();

function record<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

// ---------------------------------------------------------------------------- report

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function stat(client: string, shards: ShardCount, pick: (t: Throughput) => number): number {
  return median((throughput.get(client)?.get(shards) ?? []).map(pick));
}

const fmt = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const fmtInt = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');

function describe(events: number, stream: StreamStats | undefined): string {
  if (stream === undefined) return '';
  return (
    `${fmtInt(events)} dispatches; over all: mean ${fmt(stream.meanJson, 0)} B JSON, ${fmt(stream.meanCompressed, 0)} B on the wire ` +
    `(ratio ${fmt(stream.meanJson / stream.meanCompressed, 2)}), ${stream.interactions} INTERACTION_CREATE, ${stream.guildCreates} GUILD_CREATE`
  );
}

function printReport(traffic: Map<number, StreamStats>, perShard16: number, snapshot: ReturnType<typeof sourceSnapshot>, started: Date): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const out: string[] = [];
  out.push(`## Receive path (issue 4) — ${started.toISOString()} to ${new Date().toISOString()}`);
  out.push('');
  out.push(`Machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`);
  out.push(`gloaming measured: src/ as bundled at the start (fingerprint ${snapshot.hash}; newest file ${snapshot.newest}, modified ${snapshot.newestAt.toISOString()}).`);
  out.push(`Traffic (zlib-stream, one deflate context per connection): 1 shard gets ${describe(options.events, traffic.get(options.events))}; each of 16 shards gets its own sixteenth of the same dispatches, ${describe(perShard16, traffic.get(perShard16))}.`);
  out.push(`Medians of ${options.runs} run(s), each client run a fresh process; idle memory with ${options.idleShards} shards.`);
  out.push('');
  out.push('| client | CPU µs/event, 1 shard | CPU µs/event, 16 shards | events/s, 1 shard | events/s, 16 shards | RSS MB after (16) | heap MB after (16) | idle KB/shard |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const client of CLIENTS) {
    const failure = failures.get(client.name);
    const cells = client.skip !== null
      ? [`skipped: ${client.skip}`, '', '', '', '', '', '']
      : [
          fmt(stat(client.name, 1, (t) => t.cpuPerEvent), 2),
          fmt(stat(client.name, 16, (t) => t.cpuPerEvent), 2),
          fmtInt(stat(client.name, 1, (t) => t.eventsPerSecond)),
          fmtInt(stat(client.name, 16, (t) => t.eventsPerSecond)),
          fmt(stat(client.name, 16, (t) => t.rssMB), 1),
          fmt(stat(client.name, 16, (t) => t.heapMB), 1),
          fmt(median(idle.get(client.name) ?? []), 1),
        ];
    out.push(`| ${client.name} | ${cells.join(' | ')} |`);
    if (failure !== undefined) out.push(`| ↳ ${client.name} failed | ${failure.replaceAll('|', '/')} | | | | | | |`);
  }
  out.push('');
  out.push('| ratio (issue 4 target) | 1 shard | 16 shards | target | verdict | range of per-run ratios, 1 / 16 shards |');
  out.push('|---|---|---|---|---|---|');
  const verdict = (value: number, target: number): string => (Number.isFinite(value) ? (value <= target ? 'PASS' : 'FAIL') : 'n/a');
  // Run i of both clients ran in the same round, minutes apart at most: their ratio is less exposed to the machine's drift.
  const perRun = (a: string, b: string, shards: ShardCount): string => {
    const as = throughput.get(a)?.get(shards) ?? [];
    const bs = throughput.get(b)?.get(shards) ?? [];
    if (as.length === 0 || as.length !== bs.length) return '–';
    const ratios = as.map((t, i) => t.cpuPerEvent / (bs[i] as Throughput).cpuPerEvent);
    return `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}×`;
  };
  /** A ratio row; without a target it only says where the cost lies. */
  const cpuRatio = (label: string, a: string, b: string, target: number | null): void => {
    const r1 = stat(a, 1, (t) => t.cpuPerEvent) / stat(b, 1, (t) => t.cpuPerEvent);
    const r16 = stat(a, 16, (t) => t.cpuPerEvent) / stat(b, 16, (t) => t.cpuPerEvent);
    const judged = target === null ? '– | –' : `≤ ${target.toFixed(2)}× | ${verdict(r1, target)} / ${verdict(r16, target)}`;
    out.push(`| ${label} | ${fmt(r1, 2)}× | ${fmt(r16, 2)}× | ${judged} | ${perRun(a, b, 1)} / ${perRun(a, b, 16)} |`);
  };
  cpuRatio('CPU: gloaming-full ÷ discordjs-node-zlib', 'gloaming-full', 'discordjs-node-zlib', 0.35);
  cpuRatio('CPU: gloaming-full ÷ discordjs-zlib-sync', 'gloaming-full', 'discordjs-zlib-sync', 0.75);
  cpuRatio('CPU: gloaming-full ÷ limit', 'gloaming-full', 'limit', 1.15);
  cpuRatio('CPU: gloaming-metrics ÷ gloaming-full (issue 16)', 'gloaming-metrics', 'gloaming-full', 1.02);
  cpuRatio('CPU: gloaming-interactions ÷ gloaming-full', 'gloaming-interactions', 'gloaming-full', 0.6);
  cpuRatio('CPU: floor-socket ÷ limit (what sockets cost)', 'floor-socket', 'limit', null);
  cpuRatio('CPU: gloaming-full ÷ floor-socket (what delivery costs)', 'gloaming-full', 'floor-socket', null);
  cpuRatio('CPU: floor-socket ÷ discordjs-zlib-sync', 'floor-socket', 'discordjs-zlib-sync', null);
  /** An events/s ratio row for the worker fleets (issue 15), at 16 shards. */
  const rateRatio = (label: string, a: string, b: string, target: number): void => {
    const r16 = stat(a, 16, (t) => t.eventsPerSecond) / stat(b, 16, (t) => t.eventsPerSecond);
    const as = throughput.get(a)?.get(16) ?? [];
    const bs = throughput.get(b)?.get(16) ?? [];
    const ratios = as.length === bs.length ? as.map((t, i) => t.eventsPerSecond / (bs[i] as Throughput).eventsPerSecond) : [];
    const range = ratios.length === 0 ? '–' : `${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)}×`;
    const judged = Number.isFinite(r16) ? (r16 >= target ? 'PASS' : 'FAIL') : 'n/a';
    out.push(`| ${label} | | ${fmt(r16, 2)}× | ≥ ${target.toFixed(2)}× | ${judged} | ${range} |`);
  };
  rateRatio('events/s: gloaming-workers ÷ gloaming-full', 'gloaming-workers', 'gloaming-full', 1.4);
  rateRatio('events/s: gloaming-workers ÷ discordjs-workers', 'gloaming-workers', 'discordjs-workers', 3);
  rateRatio('events/s: gloaming-workers-handler ÷ gloaming-full', 'gloaming-workers-handler', 'gloaming-full', 1.6);
  const workerRss = stat('gloaming-workers', 16, (t) => t.rssMB) / stat('discordjs-zlib-sync', 16, (t) => t.rssMB);
  out.push(`| RSS after, 16 shards: gloaming-workers ÷ discordjs-zlib-sync | | ${fmt(workerRss, 2)}× | ≤ 1.00× | ${verdict(workerRss, 1)} | |`);
  const rss = stat('gloaming-full', 16, (t) => t.rssMB) / stat('discordjs-zlib-sync', 16, (t) => t.rssMB);
  out.push(`| RSS after, 16 shards: gloaming-full ÷ discordjs-zlib-sync | | ${fmt(rss, 2)}× | ≤ 1.00× | ${verdict(rss, 1)} | |`);
  const idleRatio = median(idle.get('gloaming-full') ?? []) / median(idle.get('discordjs-node-zlib') ?? []);
  out.push(`| idle KB/shard: gloaming ÷ discordjs-node-zlib | ${fmt(idleRatio, 2)}× | | ≤ 0.50× | ${verdict(idleRatio, 0.5)} | |`);
  out.push('');
  out.push('Samples (CPU µs/event per run, 1 shard / 16 shards; idle KB/shard per run):');
  out.push('');
  for (const client of CLIENTS) {
    const runs = (n: ShardCount): string => (throughput.get(client.name)?.get(n) ?? []).map((t) => fmt(t.cpuPerEvent, 2)).join(', ') || '–';
    const idles = (idle.get(client.name) ?? []).map((kb) => fmt(kb, 1)).join(', ') || '–';
    out.push(`- ${client.name}: ${client.throughput ? `${runs(1)} / ${runs(16)}` : '–'}; idle ${client.idle ? idles : '–'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = new Date();
  let snapshot = sourceSnapshot();
  await bundle();
  const after = sourceSnapshot();
  if (after.hash !== snapshot.hash) {
    log(`note: src/ changed while it was being bundled (${snapshot.hash} → ${after.hash}); the run measures one of the two`);
    snapshot = after;
  }
  server = spawn(process.execPath, [join(cacheDir, 'receive-server.mjs')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(server);
  const { port } = await fromServer('listening');
  const perShard16 = Math.floor(options.events / 16);
  log(`generating and compressing ${fmtInt(options.events)} dispatches…`);
  const { files, stats } = writeStreams(dataDir, port, [
    { events: options.events, slices: 1 },
    { events: perShard16, slices: 16 },
    { events: 0, slices: 1 },
  ]);
  await fromServer('loaded', { type: 'load', streams: files });
  const streamFor = (events: number): string[] => files[String(events)] as string[];
  log(`traffic ready: ${describe(options.events, stats.get(options.events))}`);

  const runnable = CLIENTS.filter((client) => client.skip === null);
  for (const client of CLIENTS) if (client.skip !== null) log(`skipping ${client.name}: ${client.skip}`);
  const throughputTimeout = 60_000 + options.events; // 1 ms per event on top of a minute
  for (let run = 1; run <= options.runs; run++) {
    // Rotate the order each run so that drift on a shared machine spreads over everyone.
    const order = runnable.map((_, i) => runnable[(i + run - 1) % runnable.length] as Client);
    for (const client of order.filter((c) => c.throughput)) {
      for (const shards of options.shardCounts) {
        const events = shards === 1 ? options.events : perShard16;
        try {
          const result = await runClient(client, { mode: 'throughput', shards, events, streamFiles: streamFor(events) }, port, throughputTimeout);
          if (result.type !== 'result') throw new Error(`expected a result, got ${result.type}`);
          if (result.seqErrors !== 0) throw new Error(`${result.seqErrors} dispatches out of sequence`);
          if (result.events !== events * shards) throw new Error(`received ${result.events} dispatches, expected ${events * shards}`);
          const sample: Throughput = {
            cpuPerEvent: result.cpuUs / result.events,
            eventsPerSecond: result.events / (result.wallMs / 1000),
            rssMB: result.rss / 2 ** 20,
            heapMB: result.heapUsed / 2 ** 20,
          };
          const bySize = throughput.get(client.name) ?? new Map<ShardCount, Throughput[]>();
          throughput.set(client.name, bySize);
          record(bySize, shards, sample);
          log(`run ${run}/${options.runs} ${client.name.padEnd(22)} ${String(shards).padStart(2)} shard(s): ${fmt(sample.cpuPerEvent, 2)} µs/event, ${fmtInt(sample.eventsPerSecond)} events/s, RSS ${fmt(sample.rssMB, 1)} MB`);
        } catch (error) {
          failures.set(client.name, `${shards} shard(s), run ${run}: ${(error as Error).message}`);
          log(`run ${run}/${options.runs} ${client.name} ${shards} shard(s) FAILED: ${(error as Error).message}`);
        }
      }
    }
    for (const client of order.filter((c) => c.idle && options.idleShards > 0)) {
      try {
        const result = await runClient(client, { mode: 'idle', shards: options.idleShards, events: 0, streamFiles: streamFor(0) }, port, 120_000);
        if (result.type !== 'idle') throw new Error(`expected an idle report, got ${result.type}`);
        const kb = (result.rssAfter - result.rssBefore) / result.shards / 1024;
        record(idle, client.name, kb);
        log(`run ${run}/${options.runs} ${client.name.padEnd(22)} idle ×${result.shards}: ${fmt(kb, 1)} KB/shard RSS, ${fmt((result.heapAfter - result.heapBefore) / result.shards / 1024, 1)} KB/shard heap`);
      } catch (error) {
        failures.set(client.name, `idle, run ${run}: ${(error as Error).message}`);
        log(`run ${run}/${options.runs} ${client.name} idle FAILED: ${(error as Error).message}`);
      }
    }
  }
  const serverStats = await fromServer('stats', { type: 'stats' });
  if (serverStats.heartbeats > 0 || serverStats.rejected > 0) {
    log(`note: the server saw ${serverStats.heartbeats} heartbeat(s) (never ACKed) and rejected ${serverStats.rejected} connection(s)`);
  }
  printReport(stats, perShard16, snapshot, started);
}

try {
  await main();
} finally {
  killChildren();
}
process.exit(0);
