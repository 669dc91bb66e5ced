// A real Shard against FakeGateway: it connects and identifies over each compression and reads
// what follows (exactly-once through faults: exactly-once-*.test.ts).
import { GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { expectEverySequenceOnce, shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3, rate: 100, heartbeatInterval: 400 });
const open = shardsPerTest();

describe('connecting', () => {
  it('identifies with zlib-stream, reaches Active and reads READY, its guilds and traffic', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    expect(shard.state).toEqual({ kind: 'Disconnected', attempts: 0 });
    await reader.until(() => reader.sequences().length >= 10);
    expect(shard.state.kind).toBe('Active');
    const [ready, ...rest] = reader.events.filter((event) => event.op === GatewayOpcodes.Dispatch);
    expect(ready?.t).toBe('READY');
    expect(rest.slice(0, 3).map((event) => event.t)).toEqual(['GUILD_CREATE', 'GUILD_CREATE', 'GUILD_CREATE'].slice(0, g.world.guildIds.length));
    expect(shard.session).toMatchObject({ id: g.sessions()[0]!.id, resumeUrl: g.resumeUrl });
    expect(g.log.ofType('connect')[0]).toMatchObject({ path: 'gateway', compress: 'zlib-stream' });
    expect(g.log.ofType('identify')[0]).toMatchObject({ shard: 0, numShards: 1, intents: 513 });
    expect(reader.events[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 400 } });
    expect(shard.inflaterMetrics.messages).toBeGreaterThan(10);
  });

  it('works with zstd-stream and with no compression', async () => {
    for (const compression of ['zstd-stream', null] as const) {
      const g = await start();
      const { reader } = open(g, { compression });
      await reader.until(() => reader.sequences().length >= 20);
      expectEverySequenceOnce(reader);
      expect(g.log.ofType('connect')[0]?.compress).toBe(compression ?? 'none');
    }
  });
});
