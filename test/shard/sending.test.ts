// Sending commands through a live shard: held back until READY, the 4096-byte cap, the
// ratelimiter, and RATE_LIMITED with its nonce.
import { GatewayDispatchEvents, PresenceUpdateStatus } from 'discord-api-types/v10';
import type { GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { requestGuildMembers, updatePresence } from '../../src/shard/commands.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('commands', () => {
  it('wait until the shard is identified, then reach the gateway', async () => {
    const g = await start();
    g.inject({ type: 'delay-ready', ms: 300 }, { shard: 0 });
    const { shard, reader } = open(g);
    const presence: GatewayPresenceUpdateData = { since: null, activities: [{ name: 'tests', type: 0 }], status: PresenceUpdateStatus.Idle, afk: false };
    let settled = false;
    const sent = shard.command(updatePresence(presence)).then(() => (settled = true));
    await g.log.waitFor((e) => e.type === 'identify');
    await reader.until(() => shard.state.kind === 'Identifying');
    await new Promise((resolve) => setTimeout(resolve, 100)); // READY is held back for 300 ms
    expect(settled).toBe(false);
    expect(g.log.ofType('command')).toHaveLength(0);
    await sent;
    expect(shard.state.kind).toBe('Active');
    await g.log.waitFor((e) => e.type === 'command');
    expect(g.sessions()[0]?.presence).toEqual(presence);
    expect(g.log.ofType('close')).toHaveLength(0);
  });

  it('refuses a payload over 4096 bytes before sending anything', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    await expect(shard.send(JSON.stringify({ op: 3, d: { pad: 'x'.repeat(4096) } }))).rejects.toMatchObject({
      kind: 'Sending',
      code: 'PAYLOAD_TOO_LARGE',
      reconnecting: false,
      message: expect.stringContaining('4096'),
    });
    expect(g.log.ofType('command')).toHaveLength(0);
    expect(g.log.ofType('close')).toHaveLength(0);
  });

  it('pass the ratelimiter: 117 commands go at once for a 41.25 s interval, the next ones wait', async () => {
    const g = await start({ heartbeatInterval: 41_250 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    expect(shard.ratelimiter?.max()).toBe(117);
    const command = requestGuildMembers({ guildId: g.world.guildIds[0]!, query: 'a', limit: 1 });
    // IDENTIFY and heartbeats use the reserve of 3 that 117 leaves
    await Promise.all(Array.from({ length: 117 }, () => shard.command(command)));
    // Many commands waiting at once, each listening for the connection to go: no leak warning.
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    const waiting = Array.from({ length: 20 }, () => shard.command(command));
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(shard.ratelimiter?.available()).toBe(0);
    expect(shard.ratelimiter?.nextAvailableIn()).toBeGreaterThan(50_000);
    expect(g.log.ofType('command')).toHaveLength(117);
    expect(g.log.ofType('close')).toHaveLength(0);
    for (const command of waiting) void command.catch(() => undefined); // rejected when the shard closes after the test
  });

  it('surfaces RATE_LIMITED with the nonce', async () => {
    const g = await start({ guilds: 1 });
    const { shard, reader } = open(g, { intents: 513 | 2 });
    const guildId = g.world.guildIds[0]!;
    await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'first' }));
    await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'second' }));
    await reader.until(() => reader.events.some((e) => e.t === GatewayDispatchEvents.RateLimited));
    const limited = reader.events.find((e) => e.t === GatewayDispatchEvents.RateLimited);
    expect(limited?.d).toMatchObject({ opcode: 8, meta: { guild_id: guildId, nonce: 'second' } });
  });
});
