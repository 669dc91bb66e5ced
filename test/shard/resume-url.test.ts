// Where a shard reconnects to: the resume URL READY names when it is safe, the base URL when
// the resume URL fails or is refused.
import { describe, expect, it } from 'vitest';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { Session } from '../../src/shard/session.js';
import { startGateway } from '../support/gateway.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('where it connects', () => {
  it('falls back to the base URL when the resume URL cannot be reached', async () => {
    const g = await start();
    const first = open(g);
    await first.reader.until(() => first.reader.sequences().length > 3);
    const session = await first.shard.close(CloseFrame.RESUME);
    const second = open(g, { session: new Session(session!.id, session!.sequence, 'ws://127.0.0.1:1') });
    await second.reader.until(() => second.shard.state.kind === 'Active');
    expect(second.reader.events.find((e) => e.op === 'error')?.d).toMatchObject({ kind: 'Connecting', message: expect.stringContaining('127.0.0.1:1') });
    const resume = g.log.ofType('resume')[0]!;
    expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('gateway');
    expect(g.log.ofType('identify')).toHaveLength(1);
  });

  /** The problems of the resume URLs the shards of `run` logged as ignored. */
  async function ignoredDuring(run: (logger: MemoryLogger) => Promise<void>): Promise<string[]> {
    const logger = new MemoryLogger();
    await run(logger);
    return logger.find('ignoring resume_gateway_url: resuming on the gateway URL').map((line) => `${String(line.url)}: ${String(line.problem)}`);
  }

  it('uses a ws: resume_gateway_url on loopback without an opt-in or a warning', async () => {
    const g = await start();
    const warnings = await ignoredDuring(async (logger) => {
      const { shard, reader } = open(g, { logger });
      await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 3);
      expect(shard.session?.resumeUrl).toBe(g.resumeUrl);
      g.inject({ type: 'drop' });
      const resume = await g.log.waitFor((e) => e.type === 'resume');
      expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('resume');
    });
    expect(warnings).toEqual([]);
  });

  it.each([
    ['ws: to another host', 'ws://gateway.example/resume', 'would carry the token unencrypted'],
    ['another protocol', 'https://gateway.example/resume', 'must be a wss: or ws: URL'],
    ['not a URL', 'gateway.example/resume', 'is not a valid URL'],
  ])('skips a resume_gateway_url that is %s with a warning, and resumes on the gateway URL', async (_what, resumeGatewayUrl, problem) => {
    const g = await start({ resumeGatewayUrl });
    const warnings = await ignoredDuring(async (logger) => {
      const { shard, reader } = open(g, { logger });
      await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 3);
      expect(shard.session?.resumeUrl).toBeNull();
      g.inject({ type: 'drop' });
      const resume = await g.log.waitFor((e) => e.type === 'resume');
      expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('gateway');
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${resumeGatewayUrl}: `);
    expect(warnings[0]).toContain(problem);
  });

  it('takes a ws: resume_gateway_url to another host only with allowInsecureUrls', async () => {
    const g = await start({ resumeGatewayUrl: 'ws://gateway.example/resume' });
    const { shard, reader } = open(g, { allowInsecureUrls: true });
    await reader.until(() => shard.state.kind === 'Active');
    expect(shard.session?.resumeUrl).toBe('ws://gateway.example/resume');
  });

  it('resumes on a resume_gateway_url with a fragment, which a websocket URL may not carry', async () => {
    const g = await start();
    const first = open(g);
    await first.reader.until(() => first.reader.sequences().length > 3);
    const session = await first.shard.close(CloseFrame.RESUME);
    const second = open(g, { session: new Session(session!.id, session!.sequence, `${g.resumeUrl}#fragment`) });
    await second.reader.until(() => second.shard.state.kind === 'Active');
    const resume = g.log.ofType('resume')[0]!;
    expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)).toMatchObject({ path: 'resume', target: expect.not.stringContaining('#') });
  });
});
