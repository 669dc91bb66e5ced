// The built `gloaming` command as a user runs it (npm test builds dist/ first).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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

  it('rejects a bad flag with exit code 2 and a message naming it', async () => {
    const proc = run(['fake-gateway', '--shards', 'many']);
    expect((await proc.exited)[0]).toBe(2);
    expect(proc.stderr()).toMatch(/--shards must be a non-negative integer/);
    const unknown = run(['fake-gateway', '--shard', '1']);
    expect((await unknown.exited)[0]).toBe(2);
    expect(unknown.stderr()).toMatch(/--shard/);
  });
});

describe('gloaming demo', () => {
  it('runs the simulator with a live NDJSON log and stops after --duration', async () => {
    const proc = run(['demo', '--json', '--duration', '1', '--port', '0']);
    const first = JSON.parse((await proc.lines.next()).value as string) as { type: string; url: string };
    expect(first.type).toBe('listening');
    const client = await RawClient.connect(first.url);
    await client.ready({ shard: [0, 4] });
    const logged: { type: string }[] = [];
    for await (const line of { [Symbol.asyncIterator]: () => proc.lines }) logged.push(JSON.parse(line) as { type: string });
    expect(logged.map((entry) => entry.type)).toEqual(expect.arrayContaining(['connect', 'hello', 'identify']));
    expect((await proc.exited)[0]).toBe(0);
  });
});
