/**
 * The chaos soak's FakeGateway, run in a process of its own (`node --import tsx`) so the
 * soak's heap, handles and event loop are gloaming's alone. The harness drives it over IPC:
 * each request `{ id, type }` gets one reply `{ id, result }`.
 */
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { FakeGateway } from '../../src/testing/index.js';
import type { ChaosHandle, FakeGatewayOptions, FaultType } from '../../src/testing/index.js';
import { toRanges } from '../support/recorder.js';
import type { Ranges } from '../support/recorder.js';

/** What the harness can ask. */
export type GatewayRequest =
  | { readonly id: number; readonly type: 'chaos'; readonly seed: number; readonly meanIntervalMs: number }
  | { readonly id: number; readonly type: 'stop-chaos' }
  | { readonly id: number; readonly type: 'faults' }
  | { readonly id: number; readonly type: 'report' }
  | { readonly id: number; readonly type: 'close' };

/** The first message of the process, once it listens. */
export interface GatewayReady {
  readonly type: 'ready';
  readonly url: string;
  /** The sequence of every session's READY. */
  readonly firstSequence: number;
}

/** Everything the soak checks that only the simulator saw. */
export interface GatewayReport {
  readonly faults: Partial<Record<FaultType, number>>;
  readonly identifies: number;
  readonly resumes: number;
  readonly identifyRejectedForConcurrency: number;
  /** Faults after which only a new session could go on (session ended, READY never sent), per cause. */
  readonly sessionEndingFaults: Readonly<Record<string, number>>;
  readonly resumesRejected: number;
  /** Sessions with a live connection, and the last sequence each gave out. */
  readonly liveSessions: readonly { readonly id: string; readonly sequence: number }[];
  /** Per session, the sequences of dispatches with names no client knows (skipped by nextEvent by design). */
  readonly unknownSequences: Readonly<Record<string, readonly number[]>>;
  /** Closes the simulator imposed on its own (not a fault): 4008, 4002, 4009… each one a client bug. */
  readonly imposedCloses: readonly { readonly code: number; readonly reason: string }[];
  readonly commandsReceived: number;
  /** Every session an IDENTIFY began: its shard and the sequences sent in it, as runs. */
  readonly sessions: Readonly<Record<string, { readonly shard: number; readonly sequences: Ranges }>>;
  /** Accepted RESUMEs, in order. */
  readonly resumeLog: readonly { readonly shard: number; readonly session: string }[];
}

/** Close reasons of server closes that a fault caused. */
const FAULT_CLOSE_REASONS = new Set(['closed by fault injection', 'reconnect requested by op 7']);

function report(gateway: FakeGateway): GatewayReport {
  const { log } = gateway;
  const faults: Partial<Record<FaultType, number>> = {};
  for (const entry of log.ofType('fault')) faults[entry.fault.type] = (faults[entry.fault.type] ?? 0) + 1;
  const known = new Set<string>(Object.values(GatewayDispatchEvents));
  const unknownSequences: Record<string, number[]> = {};
  for (const entry of log.ofType('dispatch')) if (!known.has(entry.t)) (unknownSequences[entry.session] ??= []).push(entry.sequence);
  const sessionEndingFaults: Record<string, number> = {};
  for (const { fault } of log.ofType('fault')) {
    const cause =
      fault.type === 'invalid-session' && !fault.resumable
        ? 'op 9 false'
        : fault.type === 'close' && (fault.code === 4007 || fault.code === 4009)
          ? `close ${fault.code}`
          : fault.type === 'withhold-ready' || fault.type === 'delay-ready'
            ? fault.type
            : null;
    if (cause !== null) sessionEndingFaults[cause] = (sessionEndingFaults[cause] ?? 0) + 1;
  }
  const sent = new Map<string, number[]>();
  for (const entry of log.ofType('dispatch')) {
    const sequences = sent.get(entry.session);
    if (sequences === undefined) sent.set(entry.session, [entry.sequence]);
    else sequences.push(entry.sequence);
  }
  const sessions = Object.fromEntries(log.ofType('identify').map((entry) => [entry.session, { shard: entry.shard, sequences: toRanges(sent.get(entry.session) ?? []) }]));
  return {
    sessions,
    resumeLog: log.ofType('resume').map(({ shard, session }) => ({ shard, session })),
    faults,
    identifies: log.ofType('identify').length,
    resumes: log.ofType('resume').length,
    identifyRejectedForConcurrency: log.ofType('identify-rejected').filter((entry) => entry.reason === 'concurrency').length,
    sessionEndingFaults,
    resumesRejected: log.ofType('resume-rejected').length,
    liveSessions: gateway.sessions().filter((session) => session.state === 'attached').map(({ id, sequence }) => ({ id, sequence })),
    unknownSequences,
    imposedCloses: log
      .ofType('close')
      .filter((entry) => entry.by === 'server' && entry.code !== 1006 && !FAULT_CLOSE_REASONS.has(entry.reason))
      .map(({ code, reason }) => ({ code, reason })),
    commandsReceived: log.ofType('command').length,
  };
}

const options = JSON.parse(process.argv[2] ?? '{}') as FakeGatewayOptions;
const gateway = await FakeGateway.start(options);
let chaos: ChaosHandle | null = null;
const send = (message: unknown): void => void process.send?.(message);

process.on('message', (request: GatewayRequest) => {
  const reply = (result: unknown): void => send({ id: request.id, result });
  switch (request.type) {
    case 'chaos':
      chaos = gateway.chaos({ seed: request.seed, meanIntervalMs: request.meanIntervalMs });
      return reply(null);
    case 'stop-chaos':
      chaos?.stop();
      return reply(null);
    case 'faults':
      return reply(gateway.log.ofType('fault').length);
    case 'report':
      return reply(report(gateway));
    case 'close':
      void gateway.close().then(() => {
        reply(null);
        process.disconnect();
      });
  }
});
// The harness going away (even killed) ends this process too.
process.on('disconnect', () => void gateway.close().then(() => process.exit(0)));
send({ type: 'ready', url: gateway.url, firstSequence: gateway.options.firstSequence } satisfies GatewayReady);
