// The package as a bot author installs it: packed from a fresh copy of the repository
// (prepack builds it), installed into a new TypeScript project, typechecked strictly
// without skipLibCheck against every entry point (gloaming/redis against a real
// redis-server), run, and its bin started.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { redisPerFile } from './support/redis.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'gloaming-package-'));
const redis = redisPerFile();
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CONSUMER = `
import { CloseFrame, ConfigError, GatewayDispatchEvents, Intents, Session, Shard, ShardId, WorkerFleet } from 'gloaming';
import type { ShardEvent } from 'gloaming';
import { FakeGateway } from 'gloaming/testing';
import { collectMetrics } from 'gloaming/metrics';
import { GatewayConsumer, GatewayService } from 'gloaming/redis';
import { Registry } from 'prom-client';

const gateway = await FakeGateway.start({ guilds: 1 });
const shard = new Shard(ShardId.ONE, { token: 'consumer-token', intents: Intents.Guilds | Intents.GuildMessages, gatewayUrl: gateway.url });
const registry = new Registry();
collectMetrics(shard, { registry });
for await (const event of shard satisfies AsyncIterable<ShardEvent>) {
  if (event.t === GatewayDispatchEvents.Ready) {
    console.log(\`ready \${event.d.session_id.length > 0}\`);
    console.log(\`metrics \${/^gloaming_identifies_total\\{shard="0"\\} 1$/m.test(await registry.metrics())}\`);
    break;
  }
}
const session: Session | null = await shard.close(CloseFrame.RESUME);
console.log(\`session \${Session.fromJSON(JSON.parse(JSON.stringify(session))).id === session?.id}\`);
// Worker threads run the compiled worker side the package ships.
const fleet = new WorkerFleet({ workers: 2, shards: { total: 2 }, config: { token: 'consumer-token', intents: 1, gatewayUrl: gateway.url }, queue: { enqueue: () => Promise.resolve() } });
let readies = 0;
for await (const { event } of fleet) if (event.t === GatewayDispatchEvents.Ready && ++readies === 2) break;
console.log(\`workers \${(await fleet.close(CloseFrame.RESUME)).size}\`);
try {
  new Shard(ShardId.ONE, { token: 'consumer-token', intents: 1, compression: 'zstd-stream' });
} catch (error) {
  if (error instanceof ConfigError) console.log(\`zstd \${error.message}\`);
}
// The service publishes through Redis; a consumer reads it back.
const redis = process.env.REDIS_URL as string;
const service = await GatewayService.start({ token: 'consumer-token', applicationId: '123456789012345678', intents: Intents.Guilds | Intents.GuildMessages, redis, total: 1, gatewayUrl: gateway.url, allowInsecureUrls: true, identifyIntervalMs: 0, events: ['MESSAGE_CREATE'] });
const consumer = new GatewayConsumer({ redis, group: 'bot', consumer: 'c1', events: ['MESSAGE_CREATE'], from: '0' });
while (!service.active) await new Promise((resolve) => setTimeout(resolve, 20));
gateway.dispatch(0, 'MESSAGE_CREATE', { id: '1', channel_id: '2', guild_id: '3', content: 'over redis' });
for await (const { event, ack } of consumer) {
  await ack();
  console.log(\`bus \${event.t === GatewayDispatchEvents.MessageCreate && event.d.content === 'over redis'}\`);
  break;
}
await consumer.close();
await service.stop();
await gateway.close();
`;

describe('the published package', () => {
  let tarball = '';
  const entries: string[] = [];

  it('packs from a fresh copy: dist with declarations and LICENSE, no source maps, no internals', async () => {
    const copy = join(work, 'repo');
    const { stdout: files } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
    for (const file of files.split('\0').filter((name) => name !== '')) {
      mkdirSync(join(copy, file, '..'), { recursive: true });
      cpSync(join(root, file), join(copy, file));
    }
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    const { stdout } = await run('npm', ['pack', '--pack-destination', work, '--silent', '--json=false'], { cwd: copy });
    tarball = join(work, stdout.trim().split('\n').at(-1)!);
    const { stdout: listing } = await run('tar', ['-tzf', tarball]);
    entries.push(...listing.split('\n').filter((line) => line !== ''));
    for (const file of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/testing/index.d.ts', 'dist/metrics/index.d.ts', 'dist/cli/main.js']) {
      expect(entries).toContain(`package/${file}`);
    }
    expect(entries.filter((entry) => entry.endsWith('.map') || /^package\/(src|test|bench|examples|docs)\//.test(entry) || entry.includes('fixtures'))).toEqual([]);
    expect(entries).toContain('package/dist/redis/index.d.ts');
    const { stdout: latency } = await run('tar', ['-xzOf', tarball, 'package/dist/shard/latency.d.ts']);
    expect(latency).toContain('class Latency');
    expect(latency).not.toMatch(/\bsent\(|\backnowledged\(/); // @internal members
  }, 120_000);

  it('npm start -- --json in the fresh copy writes only NDJSON to stdout (npm banners go to stderr)', async () => {
    const { stdout, stderr } = await run('npm', ['start', '--', '--json', '--duration', '2', '--shards', '2', '--concurrency', '2'], { cwd: join(work, 'repo') });
    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(stderr).toContain('> gloaming@');
  }, 120_000);

  it('installs into a strict TypeScript 6 project that typechecks every entry point, runs, and has the bin', async () => {
    expect(tarball).not.toBe('');
    const project = join(work, 'bot');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bot', private: true, type: 'module' }));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, outDir: 'out' }, include: ['bot.ts'] }),
    );
    writeFileSync(join(project, 'bot.ts'), CONSUMER);
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', tarball, 'prom-client@15.1.3', 'ioredis@6.0.0', 'typescript@6.0.3', '@types/node@20.19.43'], { cwd: project });
    const compiled = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project }).catch((error: { stdout: string }) => error);
    expect('stdout' in compiled ? compiled.stdout : '').toBe('');
    const { stdout } = await run(process.execPath, [join(project, 'out', 'bot.js')], { cwd: project, env: { ...process.env, REDIS_URL: redis.current.url } });
    expect(stdout.split('\n')).toEqual([
      'ready true',
      'metrics true',
      'session true',
      'workers 2',
      expect.stringMatching(/^zstd .*zstd-napi.*not installed \(npm install zstd-napi\)/),
      'bus true',
      '',
    ]);
    const help = await run(join(project, 'node_modules', '.bin', 'gloaming'), ['--help'], { cwd: project });
    expect(help.stdout).toContain('usage: gloaming');
  }, 240_000);
});
