// The built `gloaming` command as a user runs it (npm test builds dist/ first).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';

const bin = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, lines, exited, stderr: () => stderr };
}

describe('gloaming fake-gateway', () => {
  it('prints its urls as one JSON line, serves with the given options, stops on SIGTERM', async () => {
    const proc = run(['fake-gateway', '--port', '0', '--shards', '3', '--max-concurrency', '2', '--token', 'secret', '--guilds', '6', '--seed', '5']);
    const first = await proc.lines.next();
    const urls = JSON.parse(first.value as string) as { url: string; resumeUrl: string; restUrl: string; port: number };
    expect(urls.url).toBe(`ws://127.0.0.1:${urls.port}`);
    expect(urls.resumeUrl).toBe(`ws://127.0.0.1:${urls.port}/resume`);
    const bot = (await (await fetch(`${urls.restUrl}/gateway/bot`, { headers: { authorization: 'Bot secret' } })).json()) as {
      shards: number;
      session_start_limit: { max_concurrency: number };
    };
    expect(bot.shards).toBe(3);
    expect(bot.session_start_limit.max_concurrency).toBe(2);
    const client = await RawClient.connect(urls.url);
    expect((await client.ready({ token: 'secret', shard: [0, 3] })).session_id).toBeTruthy();
    proc.child.kill('SIGTERM');
    expect((await proc.exited)[0]).toBe(0);
  });

  it('stops serving when its parent goes away (npx ended by SIGTERM leaves no orphan)', async () => {
    // A shell in between, as npx has: killing it orphans the simulator.
    const shell = spawn('sh', ['-c', `"${process.execPath}" "${bin}" fake-gateway --port 0; true`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(createInterface({ input: shell.stdout }), 'line');
    const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(shell.pid)]);
    const simulator = Number(stdout.trim());
    expect(simulator).toBeGreaterThan(0);
    shell.kill('SIGKILL');
    const alive = (): boolean => {
      try {
        process.kill(simulator, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive()).toBe(false);
  }, 15_000);

  it('prints usage for --help, the version for --version, and says what --rate takes', async () => {
    for (const [args, text] of [
      [['--help'], 'usage: gloaming <command>'],
      [[], 'usage: gloaming <command>'],
      [['demo', '--help'], 'usage: gloaming demo'],
      [['fake-gateway', '--rate', '3', '--help'], 'usage: gloaming fake-gateway'],
      [['--version'], (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version],
    ] as [string[], string][]) {
      const proc = run(args);
      const first = await proc.lines.next();
      expect((await proc.exited)[0], args.join(' ')).toBe(0);
      expect(first.value, args.join(' ')).toContain(text);
    }
    const rate = run(['fake-gateway', '--rate', 'fast']);
    expect((await rate.exited)[0]).toBe(2);
    expect(rate.stderr()).toContain('--rate takes a number of dispatches per second or max, got "fast"');
  });

  it('a failed /gateway/bot is one line, not a stack trace', async () => {
    const proc = run(['demo', '--rest-url', 'http://127.0.0.1:1/api/v10', '--duration', '1']);
    expect((await proc.exited)[0]).toBe(1);
    expect(proc.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^gloaming: GET http:\/\/127\.0\.0\.1:1\/api\/v10\/gateway\/bot failed: /)]);
  });

  it('rejects a bad flag with exit code 2 and a message naming it', async () => {
    const proc = run(['fake-gateway', '--shards', 'many']);
    expect((await proc.exited)[0]).toBe(2);
    expect(proc.stderr()).toMatch(/--shards must be a non-negative integer/);
    const unknown = run(['fake-gateway', '--shard', '1']);
    expect((await unknown.exited)[0]).toBe(2);
    expect(unknown.stderr()).toMatch(/--shard/);
    const address = run(['demo', '--metrics', '9464']);
    expect((await address.exited)[0]).toBe(2);
    expect(address.stderr()).toMatch(/--metrics takes HOST:PORT/);
    const level = run(['demo', '--log-level', 'loud']);
    expect((await level.exited)[0]).toBe(2);
    expect(level.stderr()).toMatch(/--log-level must be one of trace, debug, info, warn, error, fatal, silent/);
  });
});

describe('gloaming demo', () => {
  type Line = { type: string; active?: number; events?: number; sessionsSaved?: number; resuming?: number };
  async function lines(proc: ReturnType<typeof run>): Promise<Line[]> {
    const out: Line[] = [];
    for await (const line of { [Symbol.asyncIterator]: () => proc.lines }) out.push(JSON.parse(line) as Line);
    return out;
  }

  it('runs a fleet against an in-process FakeGateway, live as NDJSON, and closes it with RESUME', async () => {
    const proc = run(['demo', '--json', '--duration', '3', '--shards', '4', '--concurrency', '4']);
    const out = await lines(proc);
    expect((await proc.exited)[0]).toBe(0);
    expect(out[0]).toMatchObject({ type: 'start' });
    expect(out.some((line) => line.type === 'status' && line.active === 4)).toBe(true);
    expect(out.at(-1)).toMatchObject({ type: 'stopped' });
    expect(out.at(-1)?.events).toBeGreaterThan(0);
  });

  it('--workers 2 runs the fleet on two worker threads and shows which holds each shard', async () => {
    const proc = run(['demo', '--json', '--duration', '3', '--shards', '4', '--concurrency', '4', '--workers', '2']);
    const out = await lines(proc);
    expect((await proc.exited)[0]).toBe(0);
    expect(out.find((line) => line.type === 'fleet')).toMatchObject({ shards: 4, workers: 2 });
    const rows = out.flatMap((line) => (line.type === 'status' ? (line as unknown as { shards: { shard: number; worker: number; state: string }[] }).shards : []));
    expect(rows.some((row) => row.state === 'Active')).toBe(true);
    expect(new Set(rows.map((row) => `${row.shard}:${row.worker}`))).toEqual(new Set(['0:0', '1:1', '2:0', '3:1']));
    expect(out.at(-1)).toMatchObject({ type: 'stopped' });
    expect(out.at(-1)?.events).toBeGreaterThan(0);
  });

  it('--metrics serves /metrics and /healthz while it runs; --log-level writes JSON lines to stderr', async () => {
    const proc = run(['demo', '--json', '--duration', '4', '--shards', '4', '--workers', '2', '--metrics', '127.0.0.1:0', '--log-level', 'info']);
    let url = '';
    for (;;) {
      const { value, done } = await proc.lines.next();
      if (done === true) throw new Error(`the demo ended without serving metrics: ${proc.stderr()}`);
      const line = JSON.parse(value) as { type: string; url?: string; active?: number };
      if (line.type === 'metrics') url = line.url as string;
      if (url !== '' && line.type === 'status' && line.active === 4) break;
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^gloaming_identifies_total\{shard="3"\} 1$/m);
    expect(metrics).toMatch(/^gloaming_worker_restarts_total\{worker="1"\} 0$/m);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await lines(proc);
    expect((await proc.exited)[0]).toBe(0);
    const logged = proc.stderr().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.filter((line) => line.msg === 'identify sent').map((line) => [line.shardId, line.worker]).sort()).toEqual([[0, 0], [1, 1], [2, 0], [3, 1]]);
    expect(logged.find((line) => line.msg === 'worker started')).toMatchObject({ level: 30, worker: expect.any(Number), time: expect.any(Number) });
    expect(proc.stderr()).not.toContain('demo-token');
  });

  it('shows an identify wave: the second bucket Queued while the first is Active, and the fleet /gateway/bot sized', async () => {
    const out = await lines(run(['demo', '--json', '--duration', '3', '--shards', '4', '--concurrency', '2']));
    expect(out.find((line) => line.type === 'fleet')).toMatchObject({ shards: 4, maxConcurrency: 2 });
    const states = out.flatMap((line) => (line.type === 'status' ? [(line as unknown as { shards: { state: string }[] }).shards.map((row) => row.state)] : []));
    expect(states.some((row) => row.join() === 'Active,Active,Queued,Queued')).toBe(true);
  });

  it('--preset spacebar: the fleet runs against a simulated Spacebar gateway (READY at 0, no RESUME)', async () => {
    const proc = run(['demo', '--json', '--duration', '3', '--shards', '2', '--concurrency', '2', '--preset', 'spacebar']);
    const out = await lines(proc);
    expect((await proc.exited)[0]).toBe(0);
    expect(out.some((line) => line.type === 'status' && line.active === 2)).toBe(true);
    expect(out.at(-1)?.events).toBeGreaterThan(0);
    const bad = run(['demo', '--preset', 'matrix']);
    expect((await bad.exited)[0]).toBe(2);
    expect(bad.stderr()).toContain('--preset must be discord or spacebar');
  });

  it('with --sessions and the in-process simulator, says sessions cannot resume instead of trying, and leaves the file alone', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gloaming-demo-')), 'sessions.json');
    for (let runs = 0; runs < 2; runs++) {
      const out = await lines(run(['demo', '--json', '--duration', '2', '--shards', '2', '--concurrency', '2', '--sessions', file]));
      expect(out.find((line) => line.type === 'notice')).toMatchObject({ message: expect.stringContaining('not resumed or saved') });
      expect(out.find((line) => line.type === 'sessions')).toMatchObject({ resuming: 0 });
      expect(out.at(-1)).toMatchObject({ type: 'stopped', sessionsSaved: 0 });
      expect(out.some((line) => line.type === 'error')).toBe(false);
    }
    expect(existsSync(file)).toBe(false);
  });

  it('with --sessions, the next run resumes every shard and spends no identify', async () => {
    const gateway = run(['fake-gateway', '--port', '0', '--shards', '2', '--max-concurrency', '2', '--rate', '10']);
    const { restUrl } = JSON.parse((await gateway.lines.next()).value as string) as { restUrl: string };
    const file = join(mkdtempSync(join(tmpdir(), 'gloaming-demo-')), 'sessions.json');
    const remaining = async (): Promise<number> =>
      ((await (await fetch(`${restUrl}/gateway/bot`, { headers: { authorization: 'Bot demo-token' } })).json()) as { session_start_limit: { remaining: number } })
        .session_start_limit.remaining;
    try {
      const first = await lines(run(['demo', '--json', '--duration', '2', '--rest-url', restUrl, '--sessions', file]));
      expect(first.at(-1)).toMatchObject({ type: 'stopped', sessionsSaved: 2 });
      expect(await remaining()).toBe(998);
      expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object)).toEqual(['0', '1']);
      const second = await lines(run(['demo', '--json', '--duration', '2', '--rest-url', restUrl, '--sessions', file]));
      expect(second.find((line) => line.type === 'sessions')).toMatchObject({ resuming: 2 });
      expect(second.some((line) => line.type === 'status' && line.active === 2)).toBe(true);
      expect(await remaining()).toBe(998);
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
  });
});
