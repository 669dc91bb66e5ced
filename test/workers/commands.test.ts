// Commands and identifies across threads: a command reaches the owning shard's connection and
// passes its ratelimiter there; identify waves from every worker keep the buckets.
import { PresenceUpdateStatus } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { updatePresence } from '../../src/shard/commands.js';
import { ShardError } from '../../src/shard/errors.js';
import type { WorkerShardHandle } from '../../src/workers/handle.js';
import { startGateway } from '../support/gateway.js';
import { until } from '../support/until.js';
import { allActive, fleetFor } from './fleet.js';
import { FleetReader } from './fleet-reader.js';

const start = startGateway({ guilds: 4, rate: 5 });
const presence = (name: string): ReturnType<typeof updatePresence> =>
  updatePresence({ since: null, activities: [{ name, type: 0 }], status: PresenceUpdateStatus.Online, afk: false });

describe('across worker threads', () => {
  it('a command lands on its shard, passes that shard’s ratelimiter, and rejects with the shard’s error', async () => {
    const g = await start({ shards: 4, maxConcurrency: 4, identifyInterval: 0 });
    const fleet = fleetFor(g);
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet));
    for (const shard of fleet.shards.values()) await shard.command(presence(`shard ${shard.id.number}`));
    // Settled once written to the socket: the gateway logs each a moment later.
    await until(() => g.log.ofType('command').length === 4);
    const commands = g.log.ofType('command');
    expect(commands.map((entry) => [entry.shard, (entry.d as { activities: { name: string }[] }).activities[0]?.name])).toEqual([0, 1, 2, 3].map((n) => [n, `shard ${n}`]));

    // 130 at once on shard 2: what its ratelimiter lets through now, the rest later.
    const shard = fleet.shards.get(2) as WorkerShardHandle;
    const sent = Array.from({ length: 130 }, (_, i) => shard.command(presence(`burst ${i}`)).then(() => 'sent', (error: unknown) => error));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const burst = g.log.ofType('command').filter((entry) => entry.shard === 2 && (entry.d as { activities: { name: string }[] }).activities[0]?.name.startsWith('burst'));
    expect(burst.length).toBeGreaterThan(100);
    expect(burst.length).toBeLessThan(120);
    await expect(shard.send(JSON.stringify({ op: 3, d: { pad: 'x'.repeat(5000) } }))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    await fleet.close();
    await reader.done;
    const outcomes = await Promise.all(sent);
    const refused = outcomes.filter((outcome) => outcome !== 'sent');
    expect(refused.length).toBe(130 - burst.length);
    for (const error of refused) expect(error).toSatisfy((e: unknown) => e instanceof ShardError && e.code === 'SEND_AFTER_CLOSE');
    expect(g.log.ofType('close').filter((entry) => entry.by === 'server')).toEqual([]);
    await expect(shard.command(presence('late'))).rejects.toMatchObject({ code: 'SEND_AFTER_CLOSE' });
  }, 30_000);

  it('identify waves from four workers keep max_concurrency buckets: no identify refused', async () => {
    const g = await start({ shards: 8, maxConcurrency: 2, identifyInterval: 300 });
    const fleet = fleetFor(g, {
      workers: 4,
      // The gateway's window plus a margin, as the default 5 s + 250 ms: a grant crosses two threads before its IDENTIFY is written.
      queue: new InMemoryQueue(2, 1000, 86_400_000, 1000, { intervalMs: 400 }),
    });
    const reader = new FleetReader(fleet);
    await until(() => allActive(fleet), 15_000);
    await fleet.close();
    await reader.done;
    expect(g.log.ofType('identify-rejected')).toEqual([]);
    const identifies = g.log.ofType('identify');
    expect(identifies.map((entry) => entry.shard).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const bucket of [0, 1]) {
      const times = identifies.filter((entry) => entry.shard % 2 === bucket).map((entry) => entry.time);
      for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(300);
    }
  }, 30_000);
});
