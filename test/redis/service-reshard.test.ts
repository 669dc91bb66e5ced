// `gloaming run` resharding as a real process: 4 → 8 shards when FakeGateway's /gateway/bot
// starts recommending 8, with traffic and chaos, a consumer process reading the bus. Every
// world event is consumed exactly once; afterwards the bus's total, the command streams and
// the stored sessions are the new set's, so a restart resumes all 8 shards.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { busKeys } from '../../src/redis/event-bus.js';
import { startGateway } from '../support/gateway.js';
import { launcher } from '../support/processes.js';
import type { Launched } from '../support/processes.js';
import { redisPerFile } from '../support/redis.js';
import { RESUMABLE_CHAOS } from '../support/reshard.js';
import { until } from '../support/until.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GlOaMi.n0t-a-real-token_but-distinctive';
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./fixtures/consumer-process.ts', import.meta.url));
const redis = redisPerFile();
const start = startGateway({ identifyInterval: 0, maxConcurrency: 4, guilds: 40, rate: 20, heartbeatInterval: 1_000 });
const launch = launcher();
const has = (process: Launched, type: string): boolean => process.lines.some((line) => line.type === type);

describe('gloaming run reshards', () => {
  it.each([
    ['on worker threads', ['--workers', '2']],
    ['on its own thread', []],
  ])('%s: 4 → 8 when /gateway/bot recommends it, every event consumed once; a restart resumes the 8', async (_how, hosting) => {
    const g = await start({ shards: 4 });
    const prefix = `rs${hosting.length}:`;
    const run = (extra: string[] = []): Launched =>
      launch([BIN, 'run', '--redis', redis.current.url, '--rest-url', g.restUrl, '--gateway-url', g.url, '--identify-interval', '300', '--events', 'MESSAGE_CREATE', '--prefix', prefix, '--log-level', 'warn', ...hosting, ...extra], { DISCORD_TOKEN: TOKEN });
    const consumer = launch(['--import', 'tsx', CONSUMER, redis.current.url, prefix, 'c1', '1000']);
    const service = run(['--reshard-interval', '1000']);
    await until(() => has(service, 'active') && has(consumer, 'ready'), 20_000);
    expect(service.lines.find((line) => line.type === 'started')).toMatchObject({ total: 4 });
    const chaos = g.chaos({ seed: 23, meanIntervalMs: 400, weights: RESUMABLE_CHAOS });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    g.setRecommendedShards(8);
    await until(() => has(service, 'resharded'), 30_000);
    chaos.stop();
    expect(service.lines.find((line) => line.type === 'resharded')).toMatchObject({ from: 4, to: 8 });

    // Every MESSAGE_CREATE of the world up to a cutoff, consumed exactly once.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cutoff = g.log.ofType('world').at(-1)?.id ?? 0;
    const expected = g.log.ofType('world').filter((event) => event.id <= cutoff && event.t === 'MESSAGE_CREATE').map((event) => event.id);
    const worldOf = (): Map<string, number | null> => new Map(g.log.ofType('dispatch').map((entry) => [`${entry.session}:${entry.sequence}`, entry.world]));
    const consumed = (): (number | null)[] => {
      const world = worldOf();
      return consumer.lines.flatMap((line) => (typeof line.h === 'string' ? [world.get(line.h.split(':').slice(1).join(':')) ?? null] : []));
    };
    await until(() => {
      const got = new Set(consumed());
      return expected.every((id) => got.has(id));
    }, 20_000).catch(() => undefined); // the assertions below name what is missing
    await new Promise((resolve) => setTimeout(resolve, 500)); // anything consumed twice would show by now
    const counts = new Map<number, number>();
    for (const id of consumed()) if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(expected.filter((id) => !counts.has(id)), 'world events never consumed').toEqual([]);
    expect([...counts].filter(([, count]) => count > 1), 'world events consumed twice').toEqual([]);
    expect(expected.length).toBeGreaterThan(100);
    const identifies = g.log.ofType('identify');
    expect(identifies.filter((entry) => entry.numShards === 4)).toHaveLength(4);
    expect(identifies.filter((entry) => entry.numShards === 8)).toHaveLength(8);

    // Consumers route by the new total; the stored sessions are the new set's: a restart resumes them all.
    const client = new Redis(redis.current.url);
    try {
      expect(await client.get(busKeys(prefix).total)).toBe('8');
    } finally {
      client.disconnect();
    }
    const stopped = once(service.child, 'exit');
    service.child.kill('SIGTERM');
    expect((await stopped)[0]).toBe(0);
    const resumesBefore = g.log.ofType('resume').length;
    const restarted = run();
    await until(() => has(restarted, 'active'), 20_000);
    expect(restarted.lines.find((line) => line.type === 'started')).toMatchObject({ total: 8 });
    expect(g.log.ofType('identify')).toHaveLength(12); // none more
    expect(g.log.ofType('resume').slice(resumesBefore)).toHaveLength(8);
    restarted.child.kill('SIGTERM');
    consumer.child.kill('SIGTERM');
    await once(restarted.child, 'exit');
  }, 120_000);
});
