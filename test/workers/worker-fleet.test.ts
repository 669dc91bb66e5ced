// WorkerFleet against FakeGateway with real worker threads.
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { WorkerFleet } from '../../src/workers/worker-fleet.js';
import type { WorkerFleetItem } from '../../src/workers/worker-fleet.js';
import { startGateway } from '../support/gateway.js';

const start = startGateway({ identifyInterval: 0, guilds: 8, rate: 50 });

describe('WorkerFleet', () => {
  it('runs 16 shards over 2 workers and delivers their events to one loop', async () => {
    const g = await start({ shards: 16, maxConcurrency: 16 });
    const fleet = new WorkerFleet({ workers: 2, shards: { total: 16 }, config: { token: 'test-token', intents: 513, gatewayUrl: g.url }, queue: new InMemoryQueue(16, 1000, 86_400_000, 1000, { intervalMs: 0 }) });
    const items: WorkerFleetItem[] = [];
    for await (const item of fleet) {
      items.push(item);
      if (items.filter((i) => i.event.op === GatewayOpcodes.Dispatch && i.event.t === GatewayDispatchEvents.Ready).length === 16 && items.length > 400) break;
    }
    const sessions = await fleet.close(CloseFrame.RESUME);
    expect(sessions.size).toBe(16);
    expect(fleet.workers.map((w) => w.shardIds.length)).toEqual([8, 8]);
    expect(g.log.ofType('identify')).toHaveLength(16);
  }, 30_000);
});
