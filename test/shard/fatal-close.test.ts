// Close codes that end a shard for good (4004, 4010-4014): an error that says what to do,
// FatallyClosed, and no reconnect.
import { describe, expect, it } from 'vitest';
import { ShardError } from '../../src/shard/errors.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3, rate: 100, heartbeatInterval: 400 });
const open = shardsPerTest();

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
