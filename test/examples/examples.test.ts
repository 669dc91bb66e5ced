// Every example in examples/ run as a bot author runs it (`node --import tsx`), offline
// against FakeGateway (and a redis-server where it needs one), so none can rot: each does
// what its first lines say, stops cleanly on Ctrl-C, and resumes what it said it would.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { launcher } from '../support/processes.js';
import type { Launched } from '../support/processes.js';
import { redisPerFile } from '../support/redis.js';
import { until } from '../support/until.js';

const TSX = import.meta.resolve('tsx');
const start = startGateway({ identifyInterval: 0, maxConcurrency: 4 });
const redis = redisPerFile();
const launch = launcher();
const work = mkdtempSync(join(tmpdir(), 'gloaming-examples-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs examples/`name` in a directory of its own (where it keeps its session files), without a token. */
function example(name: string, env: NodeJS.ProcessEnv, cwd = work): Launched & { out(): string } {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete environment.DISCORD_TOKEN;
  const run = launch(['--import', TSX, fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))], environment, { cwd, json: false, ownEnv: true });
  return { ...run, out: () => run.text() };
}

/** Ctrl-C, then the exit code. */
async function interrupt(run: Launched): Promise<number | null> {
  const exited = once(run.child, 'exit');
  run.child.kill('SIGINT');
  return ((await exited) as [number | null])[0];
}

const message = (g: FakeGateway, content: string): unknown => ({ id: '1', channel_id: '2', guild_id: g.world.guildIds[0], author: { id: '3', username: 'tester' }, content });

describe('examples/', () => {
  it('single-shard.ts prints messages, saves its session on Ctrl-C and resumes it on the next start', async () => {
    const g = await start({ guilds: 1 });
    const cwd = mkdtempSync(join(work, 'single-'));
    const first = example('single-shard.ts', { GATEWAY_URL: g.url }, cwd);
    await until(() => first.out().includes('identified'), 20_000);
    g.dispatch(0, 'MESSAGE_CREATE', message(g, 'hello there'));
    await until(() => first.out().includes('tester: hello there'), 10_000);
    expect(await interrupt(first)).toBe(0);
    const second = example('single-shard.ts', { GATEWAY_URL: g.url }, cwd);
    await until(() => second.out().includes('resumed'), 20_000);
    expect(g.log.ofType('identify')).toHaveLength(1);
    expect(await interrupt(second)).toBe(0);
  }, 60_000);

  it('fleet-with-restart.ts runs every recommended shard and resumes them all after Ctrl-C', async () => {
    const g = await start({ shards: 4, guilds: 8 });
    const cwd = mkdtempSync(join(work, 'fleet-'));
    const first = example('fleet-with-restart.ts', { REST_URL: g.restUrl }, cwd);
    await until(() => first.out().includes('4 shards, 0 resuming') && g.sessions().filter((s) => s.state === 'attached').length === 4, 20_000);
    g.dispatch(2, 'MESSAGE_CREATE', message(g, 'to shard 2'));
    await until(() => first.out().includes('[shard 2] tester: to shard 2'), 10_000);
    expect(await interrupt(first)).toBe(0);
    const second = example('fleet-with-restart.ts', { REST_URL: g.restUrl }, cwd);
    await until(() => second.out().includes('4 shards, 4 resuming') && g.log.ofType('resume').length === 4, 20_000);
    expect(g.log.ofType('identify')).toHaveLength(4);
    expect(await interrupt(second)).toBe(0);
  }, 60_000);

  it('worker-fleet.ts answers !ping in a worker, the rest in the loop, and resumes after Ctrl-C', async () => {
    const g = await start({ shards: 4, guilds: 8 });
    const cwd = mkdtempSync(join(work, 'workers-'));
    const first = example('worker-fleet.ts', { REST_URL: g.restUrl }, cwd);
    await until(() => first.out().includes('4 shards on 2 workers, 0 resuming') && g.sessions().filter((s) => s.state === 'attached').length === 4, 20_000);
    g.dispatch(1, 'MESSAGE_CREATE', message(g, '!ping'));
    g.dispatch(1, 'MESSAGE_CREATE', message(g, 'not a command'));
    await until(() => first.out().includes('[worker, shard 1] pong to tester') && first.out().includes('tester: not a command'), 10_000);
    expect(first.out()).not.toMatch(/\] tester: !ping/); // handled in the worker, not forwarded
    expect(await interrupt(first)).toBe(0);
    const second = example('worker-fleet.ts', { REST_URL: g.restUrl }, cwd);
    await until(() => second.out().includes('4 resuming') && g.log.ofType('resume').length === 4, 20_000);
    expect(await interrupt(second)).toBe(0);
  }, 60_000);

  it('filtered-events.ts hands the loop only the event types it asked for', async () => {
    const g = await start({ guilds: 4, rate: 100 });
    const run = example('filtered-events.ts', { GATEWAY_URL: g.url });
    await until(() => run.out().includes('ready'), 20_000);
    await until(() => g.log.ofType('dispatch').length > 150, 10_000);
    expect(await interrupt(run)).toBe(0);
    const seen = JSON.parse(/reached the loop: (.*)/.exec(run.out())?.[1] ?? '{}') as Record<string, number>;
    expect(Object.keys(seen).every((t) => ['READY', 'MESSAGE_CREATE', 'INTERACTION_CREATE'].includes(t))).toBe(true);
    expect(seen.READY).toBe(1);
    const dropped = new Set(g.log.ofType('dispatch').map((entry) => entry.t).filter((t) => !(t in seen)));
    expect(dropped.has('GUILD_CREATE')).toBe(true); // sent, and dropped before it was parsed
    expect(dropped.size).toBeGreaterThan(1);
  }, 60_000);

  it('request-members.ts counts every member of a guild over its chunks', async () => {
    const g = await start({ guilds: 1, seed: 3 });
    const run = example('request-members.ts', { GATEWAY_URL: g.url });
    await once(run.child, 'exit');
    const [, count, guild] = /(\d+) members of guild (\d+) in \d+ chunks/.exec(run.out()) ?? [];
    expect(guild).toBe(g.world.guildIds[0]);
    expect(Number(count)).toBe((g.world.guildCreate(guild as string, 1, 250) as { member_count: number }).member_count);
    expect(g.log.ofType('command').filter((entry) => entry.op === 8)).toHaveLength(1);
  }, 60_000);

  it('redis-queue.ts: two processes of one bot identify through one queue, spaced, never refused', async () => {
    const g = await start({ shards: 4, guilds: 8, maxConcurrency: 1, identifyInterval: 400 });
    const env = { REDIS_URL: redis.current.url, GATEWAY_URL: g.url, TOTAL: '4', IDENTIFY_INTERVAL_MS: '450' };
    const a = example('redis-queue.ts', { ...env, SHARDS: '0-1' });
    const b = example('redis-queue.ts', { ...env, SHARDS: '2-3' });
    await until(() => (a.out() + b.out()).match(/ready/g)?.length === 4, 30_000);
    const times = g.log.ofType('identify').map((entry) => entry.time);
    expect(times).toHaveLength(4);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(400);
    expect(g.log.ofType('identify-rejected')).toEqual([]);
    expect(await interrupt(a)).toBe(0);
    expect(await interrupt(b)).toBe(0);
  }, 60_000);

  it('observability.ts serves /metrics and /healthz for its shards, and logs as JSON', async () => {
    const g = await start({ shards: 2, guilds: 4 });
    const run = example('observability.ts', { REST_URL: g.restUrl, METRICS_PORT: '0' });
    await until(() => run.out().includes('metrics and health served'), 20_000);
    const url = (JSON.parse(run.out().split('\n').find((line) => line.includes('metrics and health served')) as string) as { url: string }).url;
    await until(async () => (await fetch(`${url}/healthz`)).status === 200, 20_000);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/gloaming_identifies_total\{shard="1"\} 1/);
    expect(await interrupt(run)).toBe(0);
  }, 60_000);

  it('service-and-consumer.ts publishes through Redis, consumes, and exits on its own', async () => {
    const run = example('service-and-consumer.ts', { REDIS_URL: redis.current.url });
    const [code] = (await once(run.child, 'exit')) as [number | null];
    expect(code, run.stderr()).toBe(0);
    expect(run.out()).toMatch(/shards 0, 1 of 2 active/);
    expect(run.out()).toMatch(/^[1-9]\d* messages handled; \d+ events published$/m);
  }, 60_000);

  it('resharding.ts moves its fleet from 2 to 4 shards against its own FakeGateway and exits', async () => {
    const run = example('resharding.ts', {});
    const [code] = (await once(run.child, 'exit')) as [number | null];
    expect(code, run.stderr()).toBe(0);
    expect(run.out()).toMatch(/^running 2 shards$/m);
    expect(run.out()).toMatch(/^resharded 2 → 4: switched after \d+ ms/m);
    expect(run.out()).toMatch(/the fleet ran 4 shards at the end$/m);
  }, 60_000);
});
