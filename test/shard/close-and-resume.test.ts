// Closing a shard: close(RESUME) hands back a session that a later shard, in this process or
// another, resumes; close(NORMAL) ends it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3, rate: 100, heartbeatInterval: 400 });
const open = shardsPerTest();

const last = (values: number[]): number => values[values.length - 1] ?? 0;

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
