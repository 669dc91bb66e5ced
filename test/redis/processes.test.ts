// Past one machine, with real OS processes: bot processes sharing one RedisQueue and one
// RedisSessionStore identify against a standalone `gloaming fake-gateway --max-concurrency 2`,
// judged from that gateway's log. The windows are shortened (the gateway enforces 600 ms, the
// queue spaces 650 ms) so this fits the test budget; `npm run proof:redis` runs the same with
// Discord's 5 s (GLOAMING_DISCORD_WINDOWS=1).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { killHard } from '../support/processes.js';
import { redisPerFile } from '../support/redis.js';
import { until } from '../support/until.js';
import { GatewayProcess } from './gateway-process.js';

const redis = redisPerFile();
const FIXTURE = fileURLToPath(new URL('./fixtures/redis-fleet-process.ts', import.meta.url));
const DISCORD_WINDOWS = process.env.GLOAMING_DISCORD_WINDOWS === '1';
const GATEWAY_INTERVAL = DISCORD_WINDOWS ? 5_000 : 600;
const QUEUE_INTERVAL = DISCORD_WINDOWS ? 5_250 : 650;
/** Test timeouts grow with the window. */
const SCALE = DISCORD_WINDOWS ? 5 : 1;
const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  running.clear();
  await new Redis(redis.current.url).flushall().catch(() => undefined);
});

/** A bot process for shards [start, end); resolves its `active` line. */
function bot(gateway: GatewayProcess, range: [number, number], extra: string[] = [], interval = QUEUE_INTERVAL): { child: ChildProcess; active: Promise<void> } {
  const args = [gateway.url, redis.current.url, String(range[0]), String(range[1]), '24', '2', String(interval), ...extra];
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child);
  let output = '';
  const active = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"active"')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`bot ${range.join('-')} exited (${String(code ?? signal)}) before all its shards were Active`)));
  });
  active.catch(() => undefined);
  return { child, active };
}

describe('bot processes on one Redis', () => {
  it('three × 8 shards: every bucket spaced, buckets in parallel, no op 9; one killed mid-wave holds nothing; restarted ones resume from Redis', async () => {
    await using gateway = await GatewayProcess.start(['--shards', '24', '--max-concurrency', '2', '--identify-interval', String(GATEWAY_INTERVAL)]);
    const a = bot(gateway, [0, 8]);
    const b = bot(gateway, [8, 16]);
    const c = bot(gateway, [16, 24]);
    // B dies a moment after its first identify, waiting for the other seven turns.
    await until(() => gateway.identifies().some(({ shard }) => shard >= 8 && shard < 16), 20_000 * SCALE);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await killHard(b.child);
    const killedAt = gateway.now();
    const client = new Redis(redis.current.url);
    const savedByB = Object.keys(await client.hgetall('bot:sessions:1')).map(Number).filter((shard) => shard >= 8 && shard < 16);
    await Promise.all([a.active, c.active]);

    const identifies = gateway.identifies();
    expect(gateway.rejected()).toEqual([]);
    for (const bucket of [0, 1]) {
      const times = identifies.filter(({ shard }) => shard % 2 === bucket).map(({ at }) => at);
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(GATEWAY_INTERVAL);
        // B's dead tickets lapse: the bucket goes on within its lease (3 s) and one renewal's wait (1 s).
        if (times[i]! > killedAt) expect(times[i]! - Math.max(times[i - 1]!, killedAt)).toBeLessThan(QUEUE_INTERVAL + 4_000 + 300);
      }
    }
    const first = (bucket: number): number => identifies.find(({ shard }) => shard % 2 === bucket)!.at;
    expect(Math.abs(first(0) - first(1))).toBeLessThan(GATEWAY_INTERVAL);
    const identifiedByB = identifies.filter(({ shard }) => shard >= 8 && shard < 16).map(({ shard }) => shard);
    expect(identifiedByB.length).toBeLessThan(8);

    // Restarted: B resumes what it saved and identifies the rest; C, killed once Active and saved, resumes all.
    await new Promise((resolve) => setTimeout(resolve, 600)); // C's sessions as taken are saved
    await killHard(c.child);
    const before = gateway.identifies().length;
    const b2 = bot(gateway, [8, 16]);
    const c2 = bot(gateway, [16, 24]);
    await Promise.all([b2.active, c2.active]);
    const again = gateway.identifies().slice(before).map(({ shard }) => shard);
    expect(again.filter((shard) => shard >= 16)).toEqual([]); // C: zero identifies
    expect(again.sort((x, y) => x - y)).toEqual([8, 9, 10, 11, 12, 13, 14, 15].filter((shard) => !savedByB.includes(shard)));
    expect(gateway.resumes().filter((shard) => shard >= 16).sort((x, y) => x - y)).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(gateway.rejected()).toEqual([]);
    await client.quit();
  }, 90_000 * SCALE);

  it('a daily budget of 5 across two processes: the sixth identify waits for the reset', async () => {
    // The budget does not depend on the window: short ones here in either mode.
    await using gateway = await GatewayProcess.start(['--shards', '24', '--max-concurrency', '2', '--identify-interval', '0']);
    const one = bot(gateway, [0, 3], ['5', '4000'], 650);
    const two = bot(gateway, [3, 6], ['5', '4000'], 650);
    await Promise.all([one.active, two.active]);
    // The reset Redis set at the first admission; on it the budget refilled and the next reset moved a day on.
    const client = new Redis(redis.current.url);
    const resetAt = (Number(await client.hget('bot:queue:budget', 'resetAt')) - 86_400_000) % 86_400_000;
    expect(await client.hget('bot:queue:budget', 'remaining')).toBe('4');
    await client.quit();
    const times = gateway.identifies().map(({ at }) => at).sort((x, y) => x - y);
    expect(times).toHaveLength(6);
    expect(times.filter((time) => time < resetAt)).toHaveLength(5);
    expect(times[5]!).toBeGreaterThanOrEqual(resetAt);
  }, 60_000);
});
