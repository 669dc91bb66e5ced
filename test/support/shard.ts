/**
 * Shards against FakeGateway for tests: a config that points at the simulator, and a
 * reader that records what a consumer of the shard receives.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { afterEach, expect } from 'vitest';
import type { ShardConfig } from '../../src/config.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import type { ShardEvent } from '../../src/shard/events.js';
import { Shard } from '../../src/shard/shard.js';
import { ShardId } from '../../src/shard/shard-id.js';
import type { FakeGateway } from '../../src/testing/index.js';

/** A config for the simulator: its URL (ws: on loopback needs no opt-in), no identify spacing. */
export function configFor(gateway: FakeGateway, overrides: Partial<ShardConfig> = {}): ShardConfig {
  return {
    token: 'test-token',
    intents: 513,
    gatewayUrl: gateway.url,
    queue: new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 0 }),
    ...overrides,
  };
}

/** Everything a consumer read from one shard, read continuously in the background. */
export class Reader {
  readonly events: ShardEvent[] = [];
  #error: unknown = null;
  readonly done: Promise<void>;
  #listeners: (() => void)[] = [];

  constructor(readonly shard: Shard) {
    this.done = (async () => {
      try {
        for await (const event of shard) {
          this.events.push(event);
          for (const listener of this.#listeners.splice(0)) listener();
        }
      } catch (error) {
        this.#error = error;
      }
      for (const listener of this.#listeners.splice(0)) listener();
    })();
  }

  /** The error that ended the stream, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** Sequence numbers of the dispatches read, in order. */
  sequences(): number[] {
    return this.events.flatMap((event) => (event.op === GatewayOpcodes.Dispatch ? [event.s] : []));
  }

  /** Dispatch sequences per session as the consumer read them (a READY starts a session). */
  sessions(): number[][] {
    const sessions: number[][] = [];
    for (const event of this.events) {
      if (event.op !== GatewayOpcodes.Dispatch) continue;
      if (event.t === GatewayDispatchEvents.Ready) sessions.push([]);
      sessions.at(-1)?.push(event.s);
    }
    return sessions;
  }

  /** Resolves once `done()` holds, checked after every event; rejects after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`Reader.until: condition not met within ${timeoutMs} ms; read ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/**
 * Every session the consumer read holds `first`, `first + 1`, …: nothing lost, nothing
 * twice, in order. `first` is the gateway's READY sequence (Discord's 1, Spacebar's 0).
 */
export function expectEverySequenceOnce(reader: Reader, first = 1): void {
  const sessions = reader.sessions();
  expect(sessions.length).toBeGreaterThan(0);
  for (const sequences of sessions) expect(sequences).toEqual(sequences.map((_, i) => first + i));
}

/** Shards created through `open` are closed after each test. */
export function shardsPerTest(): (gateway: FakeGateway, overrides?: Partial<ShardConfig>, id?: ShardId) => { shard: Shard; reader: Reader } {
  const open: Shard[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((shard) => shard.close(CloseFrame.NORMAL)));
  });
  return (gateway, overrides = {}, id = ShardId.ONE) => {
    const shard = new Shard(id, configFor(gateway, overrides));
    open.push(shard);
    return { shard, reader: new Reader(shard) };
  };
}
