// A shard's lifecycle in its logger: every step with its fields, in order, matching what the
// gateway saw; pino plugs in as it is; an observer's bug is an error line.
import { Writable } from 'node:stream';
import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { shardsPerTest } from '../support/shard.js';
import { until } from '../support/until.js';

const start = startGateway({ identifyInterval: 0, guilds: 3, rate: 200, heartbeatInterval: 400 });
const open = shardsPerTest();

describe('shard logs', () => {
  it('log connect, HELLO, identify with its wait, READY, a resume with its replay, the reconnect and the fatal close', async () => {
    const g = await start();
    const logger = new MemoryLogger();
    const { shard, reader } = open(g, { logger });
    await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 5);
    g.inject({ type: 'drop' });
    await until(() => logger.find('resumed').length === 1);
    g.inject({ type: 'close', code: 4004 });
    await reader.done;

    expect(logger.lines.every((line) => line.shardId === 0)).toBe(true);
    const steps = logger.lines.filter((line) => line.level !== 'trace').map((line) => line.msg);
    expect(steps).toEqual([
      'connecting',
      'hello',
      'waiting for an identify turn',
      'identify sent',
      'ready',
      'connection closed',
      'reconnecting',
      'connecting',
      'hello',
      'resume sent',
      'resumed',
      'connection closed',
      'shard ended for good',
    ]);
    const [resume] = g.log.ofType('resume');
    expect(logger.find('connecting')[1]).toMatchObject({ resuming: true, attempt: 1, url: expect.stringContaining(g.resumeUrl) });
    expect(logger.find('hello')[0]).toMatchObject({ level: 'debug', heartbeatIntervalMs: 400 });
    expect(logger.find('identify sent')[0]).toMatchObject({ level: 'info', waitMs: expect.any(Number) });
    expect(logger.find('resume sent')[0]).toMatchObject({ sequence: resume!.sequence });
    expect(logger.find('resumed')[0]).toMatchObject({ replayed: resume!.replayed });
    expect(logger.find('reconnecting')[0]).toMatchObject({ level: 'info', cause: 'CloseCode', detail: 'close 1006', attempt: 1, delayMs: 0 });
    expect(logger.find('connection closed')[1]).toMatchObject({ code: 4004, cause: 'CloseCode' });
    expect(logger.find('shard ended for good')[0]).toMatchObject({ level: 'error', code: 'FATAL_CLOSE_CODE', closeCode: 4004 });
    expect(JSON.stringify(logger.lines)).not.toContain('test-token');
  });

  it('a reconnect that follows another is a warning with its backoff delay', async () => {
    const g = await start();
    const logger = new MemoryLogger();
    const { shard, reader } = open(g, { logger, backoff: { initial: 50, max: 50, jitter: false }, timeouts: { hello: 200 } });
    await reader.until(() => shard.state.kind === 'Active');
    g.inject({ type: 'withhold-hello' }); // the next connection gets no HELLO: its timeout is the second reconnect in a row
    g.inject({ type: 'drop' });
    await until(() => logger.find('reconnecting').length === 2);
    expect(logger.find('reconnecting')[1]).toMatchObject({ level: 'warn', cause: 'Timeout', detail: 'no HELLO within 200 ms', attempt: 2, delayMs: 50 });
  });

  it('pino plugs in as it is: JSON lines with the shard id bound; an observer that throws is an error line', async () => {
    const g = await start();
    const written: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(...chunk.toString().split('\n').filter((line) => line !== ''));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, destination);
    const { shard, reader } = open(g, { logger });
    shard.observe({
      sessionChanged: () => {
        throw new Error('observer bug');
      },
    });
    await reader.until(() => reader.events.some((event) => event.t === GatewayDispatchEvents.GuildCreate));
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.msg === 'identify sent')).toMatchObject({ level: 30, shardId: 0, waitMs: expect.any(Number) });
    expect(lines.find((line) => line.msg === 'a shard observer threw')).toMatchObject({ level: 50, callback: 'sessionChanged', err: { message: 'observer bug' } });
    expect(lines.some((line) => line.level === 10)).toBe(false); // trace is below pino's level
  });
});
