// Heartbeats: they carry the last sequence received and are acknowledged, latency is measured,
// and a heartbeat request (op 1) is answered at once.
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

const last = (values: number[]): number => values[values.length - 1] ?? 0;

describe('heartbeats', () => {
  it('heartbeats carry the last sequence and are acknowledged; latency is measured', async () => {
    const g = await start({ rate: 100, heartbeatInterval: 400 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.latency.heartbeats >= 3, 5_000);
    const beats = g.log.ofType('heartbeat');
    const dispatches = g.log.ofType('dispatch');
    for (const beat of beats.slice(1)) {
      const sentBefore = dispatches.filter((d) => d.time <= beat.time).map((d) => d.sequence);
      // Not ahead of what was sent, and not behind what was sent well before (a stale sequence fails).
      const sentWellBefore = dispatches.filter((d) => d.time <= beat.time - 150).map((d) => d.sequence);
      expect(beat.sequence).toBeLessThanOrEqual(last(sentBefore));
      expect(beat.sequence).toBeGreaterThanOrEqual(last(sentWellBefore));
    }
    expect(shard.latency.recent.length).toBeGreaterThan(0);
    expect(shard.latency.average).toBeGreaterThanOrEqual(0);
  });

  it('answers op 1 with a heartbeat at once', async () => {
    const g = await start({ heartbeatInterval: 60_000 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    const before = g.log.ofType('heartbeat').length;
    g.inject({ type: 'request-heartbeat' });
    const beat = await g.log.waitFor((e) => e.type === 'heartbeat' && g.log.ofType('heartbeat').length > before, 2_000);
    expect(beat).toMatchObject({ type: 'heartbeat', sequence: shard.session?.sequence });
  });
});
