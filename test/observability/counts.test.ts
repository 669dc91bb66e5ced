// What a shard counts for metrics, against FakeGateway: dispatches by name (made-up names
// bounded), identifies, resumes and replays, reconnects by cause, commands sent and refused.
import { describe, expect, it } from 'vitest';
import { updatePresence } from '../../src/shard/commands.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, guilds: 2, rate: 0 });
const open = shardsPerTest();

describe('shard counts', () => {
  it('count what the gateway sent and what the shard did', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    for (let i = 0; i < 300; i++) g.dispatch(0, `MADE_UP_${i}`, {});
    await until(() => (shard.session?.sequence ?? 0) === g.sessions()[0]!.sequence);
    g.inject({ type: 'reconnect' });
    await until(() => shard.counts.resumed === 1 && shard.state.kind === 'Active');
    await shard.command(updatePresence({ since: null, activities: [], status: 'idle', afk: false }));
    await expect(shard.send('x'.repeat(5000))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    const counts = shard.counts;
    const names = Object.keys(counts.dispatches);
    // READY, GUILD_CREATE and MADE_UP_0…253 are the first 256 names; MADE_UP_254…299 and RESUMED are OTHER.
    expect(names.length).toBe(256 + 1);
    expect(counts.dispatches).toMatchObject({ READY: 1, GUILD_CREATE: 2, MADE_UP_253: 1, OTHER: 46 + 1 });
    expect(names).not.toContain('MADE_UP_254');
    expect(Object.values(counts.dispatches).reduce((sum, count) => sum + count, 0)).toBe(g.sessions()[0]!.sequence);
    expect(counts).toMatchObject({ identifies: 1, resumes: 1, resumed: 1, replayed: g.log.ofType('resume')[0]!.replayed, reconnects: { Reconnect: 1 }, commandsSent: 1, commandsRefused: 1 });
  });
});
