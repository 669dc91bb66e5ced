// The gateway service with real OS processes: two `gloaming run` services (8 shards each, on
// a worker thread) and two consumer processes in one group, against a FakeGateway with chaos
// (in this process, so its log holds every dispatch) and a private redis-server. A consumer
// and a service are SIGKILLed mid-stream; the log and the consumers' output are the judges.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { killHard, launcher } from '../support/processes.js';
import { redisPerFile } from '../support/redis.js';
import { until } from '../support/until.js';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GlOaMi.n0t-a-real-token_but-distinctive';
const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./fixtures/consumer-process.ts', import.meta.url));
const redis = redisPerFile();
const start = startGateway({ identifyInterval: 0, guilds: 16, rate: 0, heartbeatInterval: 1_000 });
const launch = launcher();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function service(g: FakeGateway, shards: string, extra: string[] = []): ReturnType<typeof launch> {
  const args = [BIN, 'run', '--redis', redis.current.url, '--total', '16', '--shards', shards, '--workers', '1', '--gateway-url', g.url, '--max-concurrency', '16', '--identify-interval', '0', '--events', 'MESSAGE_CREATE', '--prefix', 'svc:', '--log-level', 'warn', ...extra];
  return launch(args, { DISCORD_TOKEN: TOKEN });
}

const consumer = (name: string): ReturnType<typeof launch> => launch(['--import', 'tsx', CONSUMER, redis.current.url, 'svc:', name, '1000']);
const has = (process: ReturnType<typeof launch>, type: string): boolean => process.lines.some((line) => line.type === type);

describe('gateway services and consumers as processes', () => {
  it('every dispatch consumed exactly once across a consumer and a service SIGKILLed mid-stream, chaos on; the service restarts with zero identifies', async () => {
    const g = await start({ shards: 16, maxConcurrency: 16 });
    const c1 = consumer('c1');
    const c2 = consumer('c2');
    let a = service(g, '0-7');
    const b = service(g, '8-15', ['--metrics', '127.0.0.1:0']);
    await until(() => has(a, 'active') && has(b, 'active') && has(c1, 'ready') && has(c2, 'ready'), 20_000);
    const chaos = g.chaos({ seed: 18, meanIntervalMs: 400, weights: { drop: 2, reconnect: 2, 'request-heartbeat': 1, 'stop-acks': 1 } });
    let sending = true;
    let n = 0;
    const traffic = (async () => {
      while (sending) {
        for (let shard = 0; shard < 16; shard++) g.dispatch(shard, 'MESSAGE_CREATE', { id: String(++n), channel_id: '2', guild_id: '3', content: `m${n}` });
        await sleep(10);
      }
    })();
    await sleep(1_500);
    await killHard(c1.child);
    await sleep(1_000);
    await killHard(a.child); // its shards' events wait in their sessions on the gateway
    await sleep(1_000);
    a = service(g, '0-7');
    await until(() => has(a, 'active'), 20_000);
    await sleep(1_000);
    sending = false;
    await traffic;
    chaos.stop();

    const key = (entry: { shard: number; session: string; sequence: number }): string => `${entry.shard}:${entry.session}:${entry.sequence}`;
    const expected = (): Set<string> => new Set(g.log.ofType('dispatch').filter((entry) => entry.t === 'MESSAGE_CREATE').map(key));
    const handed = (): string[] => [...c1.lines, ...c2.lines].flatMap((line) => (typeof line.h === 'string' ? [line.h] : []));
    await until(() => new Set(handed()).size >= expected().size && g.sessions().every((session) => session.state === 'attached'), 20_000);
    await sleep(500); // anything handed out twice would show by now

    const all = expected();
    expect(all.size).toBeGreaterThan(1_000);
    const counts = new Map<string, number>();
    for (const h of handed()) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect([...all].filter((k) => !counts.has(k))).toEqual([]); // none lost
    expect([...counts.keys()].filter((k) => !all.has(k))).toEqual([]); // nothing that was not dispatched
    // Twice only where c1 was handed an event and died before its ack reached Redis.
    const ackedByC1 = new Set(c1.lines.flatMap((line) => (typeof line.a === 'string' ? [line.a] : [])));
    const unackedByC1 = new Set(c1.lines.flatMap((line) => (typeof line.h === 'string' && !ackedByC1.has(line.h) ? [line.h] : [])));
    const doubled = [...counts].filter(([, count]) => count > 1).map(([k]) => k);
    expect(doubled.filter((k) => !unackedByC1.has(k) || (counts.get(k) ?? 0) > 2)).toEqual([]);
    expect(c1.lines.some((line) => line.h !== undefined)).toBe(true);

    expect(g.log.ofType('identify')).toHaveLength(16); // the restarted service resumed all 8 of its shards
    const resumedAfterRestart = new Set(g.log.ofType('resume').map((entry) => entry.shard).filter((shard) => shard < 8));
    expect(resumedAfterRestart.size).toBe(8);
    expect(g.log.ofType('dispatch').some((entry) => entry.replay && entry.shard < 8)).toBe(true); // the resume replayed what the dead service missed

    // Its worker's shards, scraped from the service's own /metrics.
    const metricsUrl = b.lines.find((line) => line.type === 'started')?.metrics as string;
    const scraped = await (await fetch(`${metricsUrl}/metrics`)).text();
    for (let shard = 8; shard < 16; shard++) expect(scraped).toMatch(new RegExp(`gloaming_identifies_total\\{[^}]*shard="${shard}"[^}]*\\} 1`));
    for (const s of [a, b]) {
      const exited = once(s.child, 'exit');
      s.child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      expect(s.lines.at(-1)).toMatchObject({ type: 'stopped' });
    }
  }, 90_000);

  it('exits non-zero with the reason for a refused token, an unreachable Redis, and shards that do not fit', async () => {
    const g = await start({ shards: 2, maxConcurrency: 2, token: TOKEN });
    const exit = async (run: ReturnType<typeof launch>): Promise<[number | null, string]> => {
      const [code] = (await once(run.child, 'exit')) as [number | null];
      return [code, run.stderr()];
    };
    const refused = launch([BIN, 'run', '--redis', redis.current.url, '--total', '2', '--gateway-url', g.url, '--application-id', '42', '--prefix', 'bad:'], { DISCORD_TOKEN: 'another-token' });
    const [refusedCode, refusedErr] = await exit(refused);
    expect(refusedCode).toBe(1);
    expect(refusedErr).toMatch(/4004/);
    const noRedis = launch([BIN, 'run', '--redis', 'redis://127.0.0.1:1', '--total', '2', '--gateway-url', g.url], { DISCORD_TOKEN: TOKEN });
    expect(await exit(noRedis)).toEqual([1, expect.stringContaining('Redis cannot be reached')]);
    const misfit = launch([BIN, 'run', '--redis', redis.current.url, '--total', '4', '--shards', '2-5', '--gateway-url', g.url], { DISCORD_TOKEN: TOKEN });
    expect(await exit(misfit)).toEqual([2, expect.stringContaining('shards 2–5 do not fit a total of 4')]);
  }, 60_000);
});
