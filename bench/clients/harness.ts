/**
 * What every benchmark client shares: its arguments, its reports on stdout, the CPU and
 * wall-clock meter of a throughput run, and the idle-memory measurement.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { REPORT_PREFIX } from '../receive-shared.js';
import type { ClientArgs, ClientReport } from '../receive-shared.js';

/** The arguments the orchestrator passed as JSON in `argv[2]`. */
export function clientArgs(): ClientArgs {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('usage: client.mjs <ClientArgs JSON>');
  return JSON.parse(raw) as ClientArgs;
}

export function report(message: ClientReport): void {
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(message)}\n`);
}

/** Reports the error and ends the process (the orchestrator shows the message). */
export function fail(error: unknown): never {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  report({ type: 'error', message });
  process.exit(1);
}

process.on('unhandledRejection', (error) => fail(error));
process.on('uncaughtException', (error) => fail(error));

/**
 * The throughput meter: `start` takes the CPU baseline once every shard is READY and tells
 * the orchestrator the server may stream; `finish` reports and exits.
 */
export class Meter {
  #cpu: NodeJS.CpuUsage | null = null;
  #wall = 0;
  #finished = false;

  start(): void {
    if (this.#cpu !== null) return;
    this.#cpu = process.cpuUsage();
    this.#wall = performance.now();
    report({ type: 'ready' });
  }

  finish(events: number, seqErrors: number): void {
    if (this.#finished) return;
    this.#finished = true;
    const wallMs = performance.now() - this.#wall;
    const cpu = process.cpuUsage(this.#cpu ?? undefined);
    const { rss, heapUsed } = process.memoryUsage();
    report({ type: 'result', cpuUs: cpu.user + cpu.system, events, wallMs, rss, heapUsed, seqErrors });
    process.exit(0);
  }
}

/** Per-shard dispatch bookkeeping: count, sequence check, end marker. */
export class ShardTally {
  events = 0;
  seqErrors = 0;
  /** READY is `s` 1; the dispatches follow from 2. */
  #last = 1;

  /** Records one dispatch after READY. */
  dispatch(s: number | null): void {
    this.events += 1;
    if (s !== this.#last + 1) this.seqErrors += 1;
    this.#last = s ?? this.#last;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<NodeJS.MemoryUsage> {
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

/**
 * How long a client process idles before each reading. V8 gives back heap it grew while
 * busy (its memory reducer) only after several quiet seconds, so a reading taken sooner
 * counts memory that a fleet left idle does not keep: the baseline would still hold what
 * startup used, and the reading after READY what the handshakes left behind.
 */
const IDLE_MS = 12_000;

/**
 * Idle memory: RSS and heap after a forced GC, once the loaded process has idled for
 * {@link IDLE_MS}, and again {@link IDLE_MS} after `connect` resolved (every shard READY);
 * then reports and exits.
 */
export async function measureIdle(shards: number, connect: () => Promise<void>): Promise<never> {
  await sleep(IDLE_MS);
  const before = await settle();
  await connect();
  await sleep(IDLE_MS);
  const after = await settle();
  report({ type: 'idle', shards, rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heapUsed, heapAfter: after.heapUsed });
  process.exit(0);
}
