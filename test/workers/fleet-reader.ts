/**
 * Reading a WorkerFleet in the background and checking what its loop saw, session by
 * session, against FakeGateway's log. No vitest here: a child process uses it too.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { Session } from '../../src/shard/session.js';
import type { FakeGateway } from '../../src/testing/index.js';
import type { WorkerFleet, WorkerFleetItem } from '../../src/workers/worker-fleet.js';

/** Everything a fleet's loop read, read continuously until the fleet's stream ends. */
export class FleetReader {
  readonly items: WorkerFleetItem[] = [];
  /** Per session id, the dispatch sequences read, in order. */
  readonly sequences = new Map<string, number[]>();
  readonly done: Promise<void>;
  readonly #current = new Map<number, string>();

  /** `sessions`: those the fleet resumes, whose dispatches come without a READY. */
  constructor(fleet: WorkerFleet, sessions: ReadonlyMap<number, Session> = new Map()) {
    for (const [shard, session] of sessions) {
      this.#current.set(shard, session.id);
      this.sequences.set(session.id, []);
    }
    this.done = (async () => {
      for await (const item of fleet) this.#read(item);
    })();
  }

  #read(item: WorkerFleetItem): void {
    this.items.push(item);
    const { event, shard } = item;
    if (event.op !== GatewayOpcodes.Dispatch) return;
    if (event.t === GatewayDispatchEvents.Ready) {
      this.#current.set(shard.id.number, event.d.session_id);
      this.sequences.set(event.d.session_id, []);
    }
    const session = this.#current.get(shard.id.number);
    if (session !== undefined) this.sequences.get(session)?.push(event.s);
  }

  /** The dispatches read, all shards. */
  get dispatches(): number {
    return [...this.sequences.values()].reduce((sum, list) => sum + list.length, 0);
  }

  /** The error items read, as [shard, code]. */
  errors(): [number, string][] {
    return this.items.flatMap(({ shard, event }) => (event.op === 'error' ? [[shard.id.number, event.d.code] as [number, string]] : []));
  }
}

/**
 * Where the sequences read differ from FakeGateway's log: each session's must be exactly
 * those sent in it, once and in order, up to the last one read.
 */
export function sessionProblems(read: ReadonlyMap<string, readonly number[]>, gateway: FakeGateway): string[] {
  const problems: string[] = [];
  for (const [session, sequences] of read) {
    const last = sequences.at(-1) ?? 0;
    const sent = [...new Set(gateway.log.sequencesSent(session))].sort((a, b) => a - b).filter((s) => s <= last);
    if (JSON.stringify(sequences) !== JSON.stringify(sent)) problems.push(`session ${session.slice(0, 8)}: read ${JSON.stringify(sequences).slice(0, 120)}, sent ${JSON.stringify(sent).slice(0, 120)}`);
  }
  return problems;
}
