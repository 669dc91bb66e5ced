/**
 * The chaos soak: a fleet of real shards with zlib-stream against FakeGateway's seeded
 * chaos mode, read through one merged stream while every shard sends commands as fast as
 * its ratelimiter lets it, then checked against the simulator's log. The simulator runs in
 * a child process (`gateway-process.ts`), so the heap and handles measured are gloaming's.
 * Used by the short test in `npm test` and by `npm run soak -- --minutes N`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GatewayDispatchEvents, GatewayOpcodes, PresenceUpdateStatus } from 'discord-api-types/v10';
import { closeAll, createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { updatePresence } from '../../src/shard/commands.js';
import { ShardError } from '../../src/shard/errors.js';
import type { GatewayCommand } from '../../src/shard/commands.js';
import type { ShardEvent } from '../../src/shard/events.js';
import type { Session } from '../../src/shard/session.js';
import type { ShardId } from '../../src/shard/shard-id.js';
import type { Shard, ShardState } from '../../src/shard/shard.js';
import type { FakeGatewayPreset, FaultType } from '../../src/testing/index.js';
import { WorkerFleet } from '../../src/workers/worker-fleet.js';
import { Recorder, rangesUpTo } from '../support/recorder.js';
import type { GatewayReady, GatewayReport, GatewayRequest } from './gateway-process.js';

/** How to run a soak. */
export interface ChaosOptions {
  shards: number;
  durationMs: number;
  seed: number;
  /** Mean time between faults across the fleet. */
  meanIntervalMs: number;
  /** Dispatches per second per session. */
  rate: number;
  /** Which gateway the simulator plays (default `'discord'`). */
  preset?: FakeGatewayPreset;
  /** Run the shards on this many worker threads (a WorkerFleet) instead of one merged stream. */
  workers?: number;
  /** Called every few seconds with a progress line. */
  progress?: (line: string) => void;
}

/** What a soak found; `problems` is empty when every promise held. */
export interface ChaosReport {
  faults: Partial<Record<FaultType, number>>;
  identifies: number;
  /** What made each identify after the first round necessary, per cause. */
  identifyCauses: Record<string, number>;
  resumes: number;
  dispatchesRead: number;
  sessions: number;
  identifyRejectedForConcurrency: number;
  errorsByKind: Record<string, number>;
  commands: { sent: number; received: number; oversizedRefused: number };
  /** What a shard observer saw (sessions begun, sequences, resumes completed), every part of it checked against the gateway's log. */
  observed: { sessions: number; sequences: number; resumes: number; identifiesSent: number } | null;
  /** Heap used after a full GC: when the warm-up ended, at the end, and every sample between. */
  heapMb: { warm: number; end: number; samples: number[] };
  /** Resident memory (native zlib contexts and socket buffers included), at the same moments. */
  rssMb: { warm: number; end: number };
  handles: { start: number; end: number };
  problems: string[];
}

/** What the consumer read of one session, kept small: the last sequence, repeats and gaps, not every sequence. */
interface SessionRead {
  readonly id: string;
  last: number;
  repeated: number;
  /** Sequences the consumer never saw, as [first, last] ranges. */
  readonly gaps: [number, number][];
}

/** Heap growth allowed between the end of the warm-up and the end of the run. */
const HEAP_GROWTH_LIMIT_MB = 16;
/** Resident memory growth allowed over the same span: noisier, but a leaked zlib context per reconnect (about 40 KB, thousands of reconnects) would pass it. */
const RSS_GROWTH_LIMIT_MB = 64;
const GATEWAY_PROCESS = fileURLToPath(new URL('./gateway-process.ts', import.meta.url));

const activeHandles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
/** Heap used and resident memory after a full collection, in MB. */
const memory = (): { heap: number; rss: number } => {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: mb(heapUsed), rss: mb(rss) };
};

/** What the soak needs of a shard: a local `Shard` or a WorkerFleet's handle. */
interface SoakShard {
  readonly id: ShardId;
  readonly state: ShardState;
  readonly session: Session | null;
  send(json: string): Promise<void>;
  command(command: GatewayCommand): Promise<void>;
}

/** The shards under test, however they are hosted. */
interface SoakFleet {
  readonly shards: readonly SoakShard[];
  readonly items: AsyncIterable<{ readonly shard: SoakShard; readonly event: ShardEvent }>;
  /** Watches the shards from outside; only local shards can be observed from this thread. */
  readonly recorder: Recorder | null;
  close(): Promise<unknown>;
}

/** A fleet of local shards read through one merged stream, each watched by an observer. */
function localFleet(shards: readonly Shard[]): SoakFleet {
  const recorder = new Recorder();
  for (const shard of shards) shard.observe(recorder);
  return { shards, items: new ShardEventStream(shards), recorder, close: () => closeAll(shards) };
}

/** The same shards on worker threads: observed in their workers, not from here. */
function workerFleet(fleet: WorkerFleet): SoakFleet {
  return { shards: [...fleet.shards.values()], items: fleet, recorder: null, close: () => fleet.close() };
}

/** The simulator in its own process, driven by request and reply. */
class GatewayProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (result: unknown) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: { id?: number; result?: unknown }) => {
      if (message.id === undefined) return;
      this.#pending.get(message.id)?.(message.result);
      this.#pending.delete(message.id);
    });
  }

  static async start(options: object): Promise<{ gateway: GatewayProcess; ready: GatewayReady }> {
    const child = spawn(process.execPath, ['--import', 'tsx', GATEWAY_PROCESS, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [ready] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => Promise.reject(new Error(`the soak's FakeGateway process exited with ${String(code)} before listening`))),
    ])) as [GatewayReady];
    return { gateway: new GatewayProcess(child), ready };
  }

  request(type: 'faults'): Promise<number>;
  request(type: 'report'): Promise<GatewayReport>;
  request(type: 'stop-chaos' | 'close'): Promise<null>;
  request(type: 'chaos', extra: { seed: number; meanIntervalMs: number }): Promise<null>;
  request(type: GatewayRequest['type'], extra: object = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ id, type, ...extra });
    });
  }

  async close(): Promise<void> {
    await this.request('close');
    if (this.#child.exitCode === null) await once(this.#child, 'exit');
  }
}

/** Sends presence updates as fast as the shard's ratelimiter allows, and now and then one over 4096 bytes. */
async function sendCommands(shard: SoakShard, running: () => boolean, counts: ChaosReport['commands'], problems: string[]): Promise<void> {
  const presence = updatePresence({ since: null, activities: [{ name: 'a soak', type: 0 }], status: PresenceUpdateStatus.Online, afk: false });
  const oversized = JSON.stringify({ op: GatewayOpcodes.PresenceUpdate, d: { ...presence.d, pad: 'x'.repeat(4096) } });
  for (let i = 1; running(); i++) {
    try {
      if (i % 50 === 0) {
        await shard.send(oversized);
        problems.push(`shard ${shard.id.number}: a ${oversized.length} byte payload was sent`);
      } else {
        await shard.command(presence);
        counts.sent += 1;
      }
    } catch (error) {
      if (!(error instanceof ShardError && error.kind === 'Sending')) throw error;
      if (error.message.includes('4096')) counts.oversizedRefused += 1;
      else return; // the shard closed
    }
  }
}

/**
 * Where what an observer saw differs from the gateway's log. Exact where the two sides see the
 * same thing: each session begun is one the gateway began on that shard; its sequences are
 * exactly those sent in it, up to the last received; each completed resume is one the gateway
 * accepted, in order per shard; and each shard's session now is the observer's latest. Only
 * at least as many IDENTIFYs as the gateway logged, since one sent as a connection died never
 * arrives.
 */
function observerProblems(recorder: Recorder, server: GatewayReport, shards: readonly SoakShard[]): string[] {
  const problems: string[] = [];
  for (const [id, seen] of recorder.sessions) {
    const sent = server.sessions[id];
    if (sent === undefined || sent.shard !== seen.shard) {
      problems.push(`observer: session ${id.slice(0, 8)} on shard ${seen.shard} was not begun there by the gateway`);
      continue;
    }
    const expected = rangesUpTo(sent.sequences, seen.sequences.at(-1)?.[1] ?? -1);
    if (JSON.stringify(expected) !== JSON.stringify(seen.sequences)) {
      problems.push(`observer: session ${id.slice(0, 8)} sequences ${JSON.stringify(seen.sequences).slice(0, 200)}, the gateway sent ${JSON.stringify(expected).slice(0, 200)}`);
    }
  }
  for (const shard of shards) {
    const n = shard.id.number;
    const accepted = server.resumeLog.filter((resume) => resume.shard === n).map((resume) => resume.session);
    let at = 0;
    for (const { session } of recorder.resumes.filter((resume) => resume.shard === n)) {
      at = accepted.indexOf(session, at) + 1;
      if (at === 0) problems.push(`observer: shard ${n} completed a resume of ${session.slice(0, 8)} the gateway did not accept (in that order)`);
    }
    const identified = Object.values(server.sessions).filter((session) => session.shard === n).length;
    const sentIdentifies = recorder.identifies.filter((id) => id === n).length;
    if (sentIdentifies < identified) problems.push(`observer: shard ${n} sent ${sentIdentifies} IDENTIFYs, the gateway began ${identified} sessions`);
    const now = shard.session;
    const current = recorder.currentSession(n);
    const last = current === undefined ? undefined : recorder.sessions.get(current)?.sequences.at(-1)?.[1];
    if (now?.id !== current || now?.sequence !== last) problems.push(`observer: shard ${n} is at ${now?.id.slice(0, 8)}:${now?.sequence}, the observer says ${current?.slice(0, 8)}:${last}`);
  }
  return problems;
}

/**
 * Runs the soak and checks it.
 *
 * @example
 * const report = await runChaos({ shards: 16, durationMs: 20_000, seed: 1, meanIntervalMs: 250, rate: 20 });
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const problems: string[] = [];
  const onCrash = (error: unknown): void => void problems.push(`unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  // The identify budget is not what a soak tests: a gateway without RESUME identifies after every fault.
  const budget = 1_000_000;
  const { gateway, ready } = await GatewayProcess.start({
    preset: options.preset ?? 'discord',
    sessionStartLimit: budget,
    shards: options.shards,
    maxConcurrency: options.shards,
    identifyInterval: 100,
    guilds: options.shards * 3,
    rate: options.rate,
    seed: options.seed,
    heartbeatInterval: 1_000,
    reconnectGrace: 1_000,
  });
  const handlesStart = activeHandles();
  const queue = new InMemoryQueue(options.shards, budget, 86_400_000, budget, { intervalMs: 150 });
  const config = {
    token: 'soak-token',
    intents: 513,
    gatewayUrl: ready.url,
    timeouts: { connect: 2_000, hello: 4_000, ready: 6_000 },
    backoff: { initial: 200, max: 2_000, jitter: true },
  };
  const fleet =
    options.workers === undefined
      ? localFleet(createRange({ start: 0, end: options.shards }, options.shards, { ...config, queue }))
      : workerFleet(new WorkerFleet({ workers: options.workers, shards: { total: options.shards }, config, queue }));
  const { shards, recorder } = fleet;
  const read = new Map<SoakShard, SessionRead[]>(shards.map((shard) => [shard, []]));
  const errorsByKind: Record<string, number> = {};
  let dispatchesRead = 0;
  const reading = (async () => {
    for await (const { shard, event } of fleet.items) {
      if (event.op === 'error') errorsByKind[event.d.kind] = (errorsByKind[event.d.kind] ?? 0) + 1;
      if (event.op !== GatewayOpcodes.Dispatch) continue;
      dispatchesRead += 1;
      const sessions = read.get(shard) as SessionRead[];
      if (event.t === GatewayDispatchEvents.Ready) sessions.push({ id: event.d.session_id, last: ready.firstSequence - 1, repeated: 0, gaps: [] });
      const session = sessions.at(-1);
      if (session === undefined) continue;
      if (event.s <= session.last) session.repeated += 1;
      else {
        if (event.s > session.last + 1) session.gaps.push([session.last + 1, event.s - 1]);
        session.last = event.s;
      }
    }
  })();

  const started = Date.now();
  while (!shards.every((shard) => shard.state.kind === 'Active')) await sleep(50);
  let commanding = true;
  const commands = { sent: 0, received: 0, oversizedRefused: 0 };
  const sending = Promise.all(shards.map((shard) => sendCommands(shard, () => commanding, commands, problems)));
  await gateway.request('chaos', { seed: options.seed, meanIntervalMs: options.meanIntervalMs });
  // Warm-up: a quarter of the run (at most 5 minutes) fills pools, caches and JIT before the heap baseline.
  const warmUntil = started + Math.min(options.durationMs / 4, 300_000);
  const heapSamples: number[] = [];
  let warm: { heap: number; rss: number } | null = null;
  while (Date.now() - started < options.durationMs) {
    await sleep(Math.min(5_000, options.durationMs / 4));
    const now = memory();
    heapSamples.push(now.heap);
    if (warm === null && Date.now() >= warmUntil) warm = now;
    options.progress?.(
      `${Math.round((Date.now() - started) / 1000)} s: ${await gateway.request('faults')} faults, ${dispatchesRead} dispatches read, ${commands.sent} commands sent, heap ${now.heap} MB, RSS ${now.rss} MB, ${activeHandles()} handles`,
    );
  }
  await gateway.request('stop-chaos');
  // Faults still in flight (delayed HELLO/READY, backoff) settle; every shard must come back.
  const settleBy = Date.now() + 30_000;
  while (!shards.every((shard) => shard.state.kind === 'Active')) {
    if (Date.now() > settleBy) {
      problems.push(`shards not Active 30 s after the last fault: ${shards.filter((s) => s.state.kind !== 'Active').map((s) => `${s.id.number}:${s.state.kind}`).join(', ')}`);
      break;
    }
    await sleep(100);
  }
  // Let every live session's traffic catch up, then check it all arrived.
  await sleep(1_500);
  const end = memory();
  commanding = false;
  const server = await gateway.request('report');
  // In the same turn as the shards' own view, so no dispatch arrives between the two.
  if (recorder !== null) problems.push(...observerProblems(recorder, server, shards));
  await fleet.close();
  await Promise.all([reading, sending]);
  await gateway.close();
  await sleep(200);
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);

  const live = new Map(server.liveSessions.map((session) => [session.id, session.sequence]));
  for (const [shard, sessions] of read) {
    for (const session of sessions) {
      // Dispatches with names no client knows (a chaos fault) are skipped by nextEvent by design.
      const unknown = new Set(server.unknownSequences[session.id] ?? []);
      const missing = session.gaps.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, i) => first + i)).filter((s) => !unknown.has(s));
      if (session.repeated > 0 || missing.length > 0) {
        problems.push(`shard ${shard.id.number} session ${session.id.slice(0, 8)}: ${session.repeated} repeated or out of order, ${missing.length} missing (first ${String(missing[0])})`);
      }
    }
    const last = sessions.at(-1);
    const sent = last && live.get(last.id);
    if (last && sent !== undefined && last.last < sent - options.rate) {
      problems.push(`shard ${shard.id.number}: read up to ${last.last} of ${sent} in its live session`);
    }
  }
  if (server.identifyRejectedForConcurrency > 0) problems.push(`${server.identifyRejectedForConcurrency} identifies refused for concurrency (op 9)`);
  // A new session is unavoidable only after a fault that ends one, a READY that never came, or a refused resume.
  const identifyCauses = { start: options.shards, ...server.sessionEndingFaults, 'resume refused': server.resumesRejected };
  const allowed = Object.values(identifyCauses).reduce((sum, count) => sum + count, 0);
  if (server.identifies > allowed) problems.push(`${server.identifies} identifies where at most ${allowed} were unavoidable`);
  for (const close of server.imposedCloses) problems.push(`the simulator closed a connection with ${close.code} (${close.reason})`);
  if (commands.oversizedRefused === 0) problems.push('no oversized payload was tried');
  commands.received = server.commandsReceived;

  const report: ChaosReport = {
    faults: server.faults,
    identifies: server.identifies,
    identifyCauses,
    resumes: server.resumes,
    dispatchesRead,
    sessions: [...read.values()].reduce((sum, sessions) => sum + sessions.length, 0),
    identifyRejectedForConcurrency: server.identifyRejectedForConcurrency,
    errorsByKind,
    commands,
    observed:
      recorder === null
        ? null
        : {
            sessions: recorder.sessions.size,
            sequences: [...recorder.sessions.values()].reduce((sum, { sequences }) => sum + sequences.reduce((n, [first, last]) => n + last - first + 1, 0), 0),
            resumes: recorder.resumes.length,
            identifiesSent: recorder.identifies.length,
          },
    heapMb: { warm: (warm ?? end).heap, end: end.heap, samples: heapSamples },
    rssMb: { warm: (warm ?? end).rss, end: end.rss },
    handles: { start: handlesStart, end: activeHandles() },
    problems,
  };
  if (report.heapMb.end > report.heapMb.warm + HEAP_GROWTH_LIMIT_MB) problems.push(`heap grew from ${report.heapMb.warm} MB to ${report.heapMb.end} MB after the warm-up`);
  if (report.rssMb.end > report.rssMb.warm + RSS_GROWTH_LIMIT_MB) problems.push(`RSS grew from ${report.rssMb.warm} MB to ${report.rssMb.end} MB after the warm-up`);
  if (report.handles.end > report.handles.start + 2) problems.push(`open handles grew from ${report.handles.start} to ${report.handles.end}`);
  return report;
}
