// Deadlines: a socket that does not open, a HELLO or a READY that does not come; each is an
// error item and a reconnect.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/shard/session.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('timeouts', () => {
  it('gives up on a socket that does not open within the connect timeout', async () => {
    const g = await start();
    // A TCP listener that accepts and never answers the websocket upgrade.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const { shard, reader } = open(g, {
        session: new Session('f'.repeat(32), 0, `ws://127.0.0.1:${port}`),
        timeouts: { connect: 300 },
      });
      // the resume URL never opens, so the shard falls back to the gateway, which refuses the unknown session
      await reader.until(() => shard.state.kind === 'Active');
      expect(reader.events.find((e) => e.op === 'error')?.d).toMatchObject({ kind: 'Connecting', code: 'CONNECT_FAILED', reconnecting: true });
      expect(g.log.ofType('resume-rejected')).toHaveLength(1);
      expect(g.log.ofType('identify')).toHaveLength(1);
    } finally {
      silent.close();
    }
  });

  it('reconnects when HELLO does not come', async () => {
    const g = await start();
    g.inject({ type: 'withhold-hello' });
    const { shard, reader } = open(g, { timeouts: { hello: 300 } });
    await reader.until(() => shard.state.kind === 'Active');
    expect(reader.events.find((e) => e.op === 'error')?.d).toMatchObject({ kind: 'Timeout', code: 'HELLO_TIMEOUT', reconnecting: true, message: expect.stringContaining('HELLO') });
    expect(g.log.ofType('connect')).toHaveLength(2);
  });

  it('reconnects when READY does not come, identifying again', async () => {
    const g = await start();
    g.inject({ type: 'withhold-ready' });
    const { shard, reader } = open(g, { timeouts: { ready: 300 } });
    await reader.until(() => shard.state.kind === 'Active');
    expect(reader.events.find((e) => e.op === 'error')?.d).toMatchObject({ kind: 'Timeout', code: 'READY_TIMEOUT', reconnecting: true, message: expect.stringContaining('READY') });
    expect(g.log.ofType('identify')).toHaveLength(2);
  });
});
