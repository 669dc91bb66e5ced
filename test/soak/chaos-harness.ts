/**
 * The chaos soak: a fleet of real shards with zlib-stream against FakeGateway's seeded
 * chaos mode, read through one merged stream, then checked against the simulator's log.
 * Used by the short test in `npm test` and by `npm run soak -- --minutes N`.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { closeAll, createRange } from '../../src/fleet/create.js';
import { ShardEventStream } from '../../src/fleet/merged-stream.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import type { Shard } from '../../src/shard/shard.js';
import { FakeGateway } from '../../src/testing/index.js';
import type { FaultType } from '../../src/testing/index.js';

/** How to run a soak. */
export interface ChaosOptions {
  shards: number;
  durationMs: number;
  seed: number;
  /** Mean time between faults across the fleet. */
  meanIntervalMs: number;
  /** Dispatches per second per session. */
  rate: number;
  /** Called every few seconds with a progress line. */
  progress?: (line: string) => void;
}

/** What a soak found; `problems` is empty when every promise held. */
export interface ChaosReport {
  faults: Partial<Record<FaultType, number>>;
  identifies: number;
  resumes: number;
  dispatchesRead: number;
  sessions: number;
  identifyRejectedForConcurrency: number;
  errorsByKind: Record<string, number>;
  heapMb: { start: number; end: number };
  handles: { start: number; end: number };
  problems: string[];
}

const activeHandles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
const heapMb = (): number => Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the soak and checks it.
 *
 * @example
 * const report = await runChaos({ shards: 16, durationMs: 20_000, seed: 1, meanIntervalMs: 250, rate: 20 });
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const gateway = await FakeGateway.start({
    shards: options.shards,
    maxConcurrency: options.shards,
    identifyInterval: 100,
    guilds: options.shards * 3,
    rate: options.rate,
    seed: options.seed,
    heartbeatInterval: 1_000,
    reconnectGrace: 1_000,
  });
  const problems: string[] = [];
  const handlesStart = activeHandles();
  const heapStart = heapMb();
  const queue = new InMemoryQueue(options.shards, 1000, 86_400_000, 1000, { intervalMs: 150 });
  const shards = createRange({ start: 0, end: options.shards }, options.shards, {
    token: 'soak-token',
    intents: 513,
    gatewayUrl: gateway.url,
    allowInsecureUrls: true,
    queue,
    timeouts: { connect: 2_000, hello: 4_000, ready: 6_000 },
    backoff: { initial: 200, max: 2_000, jitter: true },
  });
  // Per shard: the sessions read, each a list of sequences (a READY starts one).
  const read = new Map<Shard, { session: string; sequences: number[] }[]>(shards.map((shard) => [shard, []]));
  const errorsByKind: Record<string, number> = {};
  let dispatchesRead = 0;
  const reading = (async () => {
    for await (const { shard, event } of new ShardEventStream(shards)) {
      if (event.op === 'error') errorsByKind[event.d.kind] = (errorsByKind[event.d.kind] ?? 0) + 1;
      if (event.op !== GatewayOpcodes.Dispatch) continue;
      dispatchesRead += 1;
      const sessions = read.get(shard) as { session: string; sequences: number[] }[];
      if (event.t === GatewayDispatchEvents.Ready) sessions.push({ session: event.d.session_id, sequences: [] });
      sessions.at(-1)?.sequences.push(event.s);
    }
  })();

  const started = Date.now();
  while (!shards.every((shard) => shard.state.kind === 'Active')) await sleep(50);
  const chaos = gateway.chaos({ seed: options.seed, meanIntervalMs: options.meanIntervalMs });
  while (Date.now() - started < options.durationMs) {
    await sleep(Math.min(5_000, options.durationMs));
    options.progress?.(
      `${Math.round((Date.now() - started) / 1000)} s: ${gateway.log.ofType('fault').length} faults, ${dispatchesRead} dispatches read, heap ${heapMb()} MB, ${activeHandles()} handles`,
    );
  }
  chaos.stop();
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
  const live = new Map(gateway.sessions().filter((session) => session.state === 'attached').map((session) => [session.id, session]));
  await closeAll(shards);
  await reading;

  // Dispatches with names no client knows (a chaos fault) count for the session but are
  // skipped by nextEvent by design: they count as read.
  const known = new Set<string>(Object.values(GatewayDispatchEvents));
  const unknownBySession = new Map<string, number[]>();
  for (const entry of gateway.log.ofType('dispatch')) {
    if (!known.has(entry.t)) unknownBySession.set(entry.session, [...(unknownBySession.get(entry.session) ?? []), entry.sequence]);
  }
  for (const [shard, sessions] of read) {
    for (const { session, sequences } of sessions) {
      const all = [...new Set([...sequences, ...(unknownBySession.get(session) ?? [])])].sort((a, b) => a - b);
      const duplicates = sequences.length - new Set(sequences).size;
      const gap = all.findIndex((sequence, i) => sequence !== i + 1);
      if (duplicates > 0 || gap >= 0 || sequences.some((sequence, i) => i > 0 && sequence <= (sequences[i - 1] as number))) {
        problems.push(`shard ${shard.id.number} session ${session.slice(0, 8)}: ${duplicates} repeated, first gap at ${gap + 1}, order ${sequences.slice(0, 5).join(',')}…`);
      }
    }
    const last = sessions.at(-1);
    const server = last && live.get(last.session);
    if (server && Math.max(0, ...(last?.sequences ?? [])) < server.sequence - options.rate) {
      problems.push(`shard ${shard.id.number}: read up to ${String(last?.sequences.at(-1))} of ${server.sequence} in its live session`);
    }
  }

  const faults: Partial<Record<FaultType, number>> = {};
  for (const entry of gateway.log.ofType('fault')) faults[entry.fault.type] = (faults[entry.fault.type] ?? 0) + 1;
  const identifies = gateway.log.ofType('identify').length;
  const identifyRejectedForConcurrency = gateway.log.ofType('identify-rejected').filter((e) => e.reason === 'concurrency').length;
  if (identifyRejectedForConcurrency > 0) problems.push(`${identifyRejectedForConcurrency} identifies refused for concurrency (op 9)`);
  // A new session is unavoidable only after a fault that ends one or a READY that never came.
  const sessionEnding = gateway.log
    .ofType('fault')
    .filter((e) => (e.fault.type === 'invalid-session' && !e.fault.resumable) || (e.fault.type === 'close' && (e.fault.code === 4007 || e.fault.code === 4009)) || e.fault.type === 'withhold-ready' || e.fault.type === 'delay-ready').length;
  const resumesRejected = gateway.log.ofType('resume-rejected').length;
  const allowed = options.shards + sessionEnding + resumesRejected;
  if (identifies > allowed) problems.push(`${identifies} identifies where at most ${allowed} were unavoidable`);

  await gateway.close();
  await sleep(200);
  const report: ChaosReport = {
    faults,
    identifies,
    resumes: gateway.log.ofType('resume').length,
    dispatchesRead,
    sessions: [...read.values()].reduce((sum, sessions) => sum + sessions.length, 0),
    identifyRejectedForConcurrency,
    errorsByKind,
    heapMb: { start: heapStart, end: heapMb() },
    handles: { start: handlesStart, end: activeHandles() },
    problems,
  };
  if (report.handles.end > report.handles.start + 2) problems.push(`open handles grew from ${report.handles.start} to ${report.handles.end}`);
  return report;
}
