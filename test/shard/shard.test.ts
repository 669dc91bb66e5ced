// A real Shard against FakeGateway: connecting, heartbeats, fatal close codes, and closing
// into a session that a later shard resumes (exactly-once through faults: exactly-once-*.test.ts).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { ShardError } from '../../src/shard/errors.js';
import { startGateway } from '../support/gateway.js';
import { expectEverySequenceOnce, shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3, rate: 100, heartbeatInterval: 400 });
const open = shardsPerTest();

const last = (values: number[]): number => values[values.length - 1] ?? 0;

describe('connecting', () => {
  it('identifies with zlib-stream, reaches Active and reads READY, its guilds and traffic', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    expect(shard.state).toEqual({ kind: 'Disconnected', attempts: 0 });
    await reader.until(() => reader.sequences().length >= 10);
    expect(shard.state.kind).toBe('Active');
    const [ready, ...rest] = reader.events.filter((event) => event.op === GatewayOpcodes.Dispatch);
    expect(ready?.t).toBe('READY');
    expect(rest.slice(0, 3).map((event) => event.t)).toEqual(['GUILD_CREATE', 'GUILD_CREATE', 'GUILD_CREATE'].slice(0, g.world.guildIds.length));
    expect(shard.session).toMatchObject({ id: g.sessions()[0]!.id, resumeUrl: g.resumeUrl });
    expect(g.log.ofType('connect')[0]).toMatchObject({ path: 'gateway', compress: 'zlib-stream' });
    expect(g.log.ofType('identify')[0]).toMatchObject({ shard: 0, numShards: 1, intents: 513 });
    expect(reader.events[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 400 } });
    expect(shard.inflaterMetrics.messages).toBeGreaterThan(10);
  });

  it('heartbeats carry the last sequence and are acknowledged; latency is measured', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.latency.heartbeats >= 3, 5_000);
    const beats = g.log.ofType('heartbeat');
    const dispatches = g.log.ofType('dispatch');
    for (const beat of beats.slice(1)) {
      const sentBefore = dispatches.filter((d) => d.time <= beat.time).map((d) => d.sequence);
      // Not ahead of what was sent, and not behind what was sent well before (a stale sequence fails).
      const sentWellBefore = dispatches.filter((d) => d.time <= beat.time - 150).map((d) => d.sequence);
      expect(beat.sequence).toBeLessThanOrEqual(last(sentBefore));
      expect(beat.sequence).toBeGreaterThanOrEqual(last(sentWellBefore));
    }
    expect(shard.latency.recent.length).toBeGreaterThan(0);
    expect(shard.latency.average).toBeGreaterThanOrEqual(0);
  });

  it('works with zstd-stream and with no compression', async () => {
    for (const compression of ['zstd-stream', null] as const) {
      const g = await start();
      const { reader } = open(g, { compression });
      await reader.until(() => reader.sequences().length >= 20);
      expectEverySequenceOnce(reader);
      expect(g.log.ofType('connect')[0]?.compress).toBe(compression ?? 'none');
    }
  });
});

describe('fatal close codes', () => {
  it.each([4004, 4010, 4011, 4012, 4013, 4014])('%i ends the stream with an error naming the code', async (code) => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    g.inject({ type: 'close', code });
    await reader.done;
    expect(reader.error).toBeInstanceOf(ShardError);
    expect(reader.error).toMatchObject({ kind: 'FatallyClosed', code: 'FATAL_CLOSE_CODE', reconnecting: false, closeCode: code, message: expect.stringContaining(String(code)) });
    expect(shard.state).toEqual({ kind: 'FatallyClosed', code });
    expect(reader.events.at(-1)).toMatchObject({ op: 'close', d: { code } });
    await expect(shard.nextEvent()).rejects.toMatchObject({ kind: 'FatallyClosed' });
    await expect(shard.send('{"op":3}')).rejects.toMatchObject({ kind: 'Sending', code: 'SEND_AFTER_CLOSE' });
    expect(g.log.ofType('connect')).toHaveLength(1);
  });

  it('a wrong token is 4004 from the real validation', async () => {
    const g = await start({ token: 'right' });
    const { reader } = open(g, { token: 'wrong' });
    await reader.done;
    expect(reader.error).toMatchObject({ kind: 'FatallyClosed', closeCode: 4004 });
    expect(String((reader.error as Error).message)).not.toContain('wrong');
  });
});

describe('closing and resuming later', () => {
  it('close(RESUME) returns the session; a new shard resumes it with zero identifies and misses nothing', async () => {
    const g = await start();
    const first = open(g);
    await first.reader.until(() => first.reader.sequences().length > 20);
    const session = await first.shard.close(CloseFrame.RESUME);
    await first.reader.done;
    expect(first.reader.error).toBeNull();
    expect(session).not.toBeNull();
    expect(JSON.parse(JSON.stringify(session))).toMatchObject({ id: g.sessions()[0]!.id, resumeUrl: g.resumeUrl });
    expect(g.sessions()[0]?.state).toBe('detached');
    const read = first.reader.sequences();
    expect(session!.sequence).toBe(last(read));

    await new Promise((resolve) => setTimeout(resolve, 200)); // traffic piles up while nobody is connected
    const second = open(g, { session });
    await second.reader.until(() => last(second.reader.sequences()) > session!.sequence + 30);
    const resumedSequences = second.reader.sequences();
    expect([...read, ...resumedSequences]).toEqual(Array.from({ length: read.length + resumedSequences.length }, (_, i) => i + 1));
    expect(g.log.ofType('identify')).toHaveLength(1);
    expect(g.log.ofType('resume')).toHaveLength(1);
  });

  it('a session saved as JSON resumes in another process', async () => {
    const g = await start();
    const first = open(g);
    await first.reader.until(() => first.reader.sequences().length > 20);
    const session = await first.shard.close(CloseFrame.RESUME);
    const script = `
      import { Session, Shard, ShardId } from 'gloaming';
      const session = Session.fromJSON(JSON.parse(process.argv[process.argv.length - 1]));
      const shard = new Shard(ShardId.ONE, { token: 'test-token', intents: 513, gatewayUrl: ${JSON.stringify(g.url)}, allowInsecureUrls: true, session });
      const seen = [];
      for await (const event of shard) {
        if (event.op === 0) seen.push(event.s);
        if (seen.length >= 30) break;
      }
      await shard.close();
      console.log(JSON.stringify(seen));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '--eval', script, '--', JSON.stringify(session)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const seen = JSON.parse(output) as number[];
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => session!.sequence + 1 + i));
    expect(g.log.ofType('identify')).toHaveLength(1);
    expect(g.log.ofType('resume')).toHaveLength(1);
  });

  it('close(NORMAL) ends the session and returns null', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    const id = shard.session?.id;
    expect(await shard.close(CloseFrame.NORMAL)).toBeNull();
    await reader.done;
    await g.log.waitFor((e) => e.type === 'close' && e.by === 'client' && e.code === 1000);
    expect(g.sessions().find((session) => session.id === id)?.state).toBe('ended');
    expect(reader.events.at(-1)).toMatchObject({ op: 'close', d: { code: 1000 } });
    await expect(shard.nextEvent()).rejects.toMatchObject({ kind: 'Closed', code: 'SHARD_CLOSED' });
  });
});
