/**
 * Reading a WorkerFleet in the background and checking what its loop saw, session by
 * session, against FakeGateway's log.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { expect } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import type { WorkerFleet, WorkerFleetItem } from '../../src/workers/worker-fleet.js';

/** Everything a fleet's loop read, read continuously until the fleet's stream ends. */
export class FleetReader {
  readonly items: WorkerFleetItem[] = [];
  /** Per session id, the dispatch sequences read, in order. */
  readonly sequences = new Map<string, number[]>();
  readonly done: Promise<void>;
  readonly #current = new Map<number, string>();

  constructor(fleet: WorkerFleet) {
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

/** Every session's sequences were read exactly once, in order, from its READY to the last one the gateway sent before `upTo` (default: all). */
export function expectEachSessionOnce(reader: FleetReader, gateway: FakeGateway): void {
  for (const [session, read] of reader.sequences) {
    const sent = [...new Set(gateway.log.sequencesSent(session))].sort((a, b) => a - b);
    const last = read.at(-1) ?? 0;
    expect(read, session).toEqual(sent.filter((s) => s <= last));
  }
}
