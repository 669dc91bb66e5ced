// Every fault the simulator can inflict, seen from a raw client, and the seeded chaos mode.
import { describe, expect, it } from 'vitest';
import type { Fault } from '../../src/testing/index.js';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';

const start = startGateway({ identifyInterval: 0, guilds: 2 });

/** A client that identified and read READY and its GUILD_CREATEs. */
async function readyClient(g: FakeGateway, compress?: 'zlib-stream' | 'zstd-stream') {
  const client = await RawClient.connect(g.url, { compress });
  const ready = await client.ready();
  for (let i = 0; i < ready.guilds.length; i++) await client.nextOp(0, 'GUILD_CREATE');
  return { client, ready };
}

async function resumeOutcome(g: FakeGateway, sessionId: string): Promise<'resumed' | 'invalid'> {
  const client = await RawClient.connect(g.resumeUrl);
  await client.nextOp(10);
  client.send({ op: 6, d: { token: 'test-token', session_id: sessionId, seq: 1 } });
  const answer = await client.until((i) => i.kind === 'payload' && (i.payload.op === 9 || i.payload.t === 'RESUMED'));
  return answer.kind === 'payload' && answer.payload.op === 9 ? 'invalid' : 'resumed';
}

describe('connection faults', () => {
  it('drop: the client sees 1006 and the session stays resumable', async () => {
    const g = await start();
    const { client, ready } = await readyClient(g);
    expect(g.inject({ type: 'drop' })).toBe(1);
    expect((await client.closed()).code).toBe(1006);
    expect(await resumeOutcome(g, ready.session_id)).toBe('resumed');
  });

  it('close: any code reaches the client; session-ending codes end the session', async () => {
    const g = await start();
    for (const [code, outcome] of [
      [4000, 'resumed'],
      [1001, 'resumed'],
      [4008, 'resumed'],
      [4009, 'invalid'],
      [4007, 'invalid'],
    ] as const) {
      const { client, ready } = await readyClient(g);
      g.inject({ type: 'close', code, reason: 'test' }, { connection: g.connections().find((c) => c.session === ready.session_id)!.id });
      expect(await client.closed()).toMatchObject({ code, reason: 'test' });
      expect(await resumeOutcome(g, ready.session_id)).toBe(outcome);
    }
  });

  it('reconnect: op 7, then the server closes if the client does not', async () => {
    const g = await start({ reconnectGrace: 100 });
    const { client, ready } = await readyClient(g);
    g.inject({ type: 'reconnect' });
    expect(await client.next()).toEqual({ op: 7, d: null, s: null, t: null });
    expect((await client.closed()).code).toBe(4000);
    expect(await resumeOutcome(g, ready.session_id)).toBe('resumed');
  });

  it('invalid-session: op 9 with d, and d:false ends the session', async () => {
    const g = await start();
    const a = await readyClient(g);
    g.inject({ type: 'invalid-session', resumable: true });
    expect(await a.client.next()).toEqual({ op: 9, d: true, s: null, t: null });
    a.client.terminate();
    expect(await resumeOutcome(g, a.ready.session_id)).toBe('resumed');
    const b = await readyClient(g);
    g.inject({ type: 'invalid-session', resumable: false }, { shard: 0 });
    expect((await b.client.nextOp(9)).d).toBe(false);
    expect(await resumeOutcome(g, b.ready.session_id)).toBe('invalid');
  });

  it('stop-acks: heartbeats go unanswered from then on', async () => {
    const g = await start();
    const { client } = await readyClient(g);
    client.send({ op: 1, d: 1 });
    await client.nextOp(11);
    g.inject({ type: 'stop-acks' });
    client.send({ op: 1, d: 1 });
    await g.log.waitFor((e) => e.type === 'heartbeat' && !e.acked);
    g.inject({ type: 'request-heartbeat' });
    expect((await client.next()).op).toBe(1); // the op 1 request, not an ACK
    expect(g.log.ofType('heartbeat').map((e) => e.acked)).toEqual([true, false]);
  });

  it('corrupt-frame: undecodable for zlib-stream, zstd-stream and plain JSON; the socket stays open', async () => {
    const g = await start();
    for (const compress of ['zlib-stream', 'zstd-stream', undefined] as const) {
      const { client } = await readyClient(g, compress);
      g.inject({ type: 'corrupt-frame' }, { connection: Math.max(...g.connections().map((c) => c.id)) });
      expect((await client.nextItem()).kind).toBe('undecodable');
    }
  });

  it('invalid-json and unknown-opcode arrive as such, properly compressed', async () => {
    const g = await start();
    const { client } = await readyClient(g, 'zlib-stream');
    g.inject({ type: 'invalid-json' });
    expect(await client.nextItem()).toMatchObject({ kind: 'undecodable', error: expect.stringMatching(/JSON/) });
    g.inject({ type: 'unknown-opcode', op: 77 });
    expect(await client.next()).toEqual({ op: 77, d: null, s: null, t: null });
  });

  it('unknown-event: a numbered dispatch with a name no client knows', async () => {
    const g = await start();
    const { client } = await readyClient(g);
    const before = g.sessions()[0]!.sequence;
    g.inject({ type: 'unknown-event', t: 'FUTURE_THING' });
    expect(await client.next()).toMatchObject({ op: 0, t: 'FUTURE_THING', s: before + 1 });
  });

  it('huge-guild-create: a GUILD_CREATE over 5 MB for a guild of the shard', async () => {
    const g = await start({ shards: 2 });
    const client = await RawClient.connect(g.url, { compress: 'zlib-stream' });
    await client.ready({ shard: [1, 2] });
    g.inject({ type: 'huge-guild-create' }, { shard: 1 });
    const item = await client.until((i) => i.kind === 'payload' && i.bytes > 5 * 1024 * 1024, 15_000);
    if (item.kind !== 'payload') throw new Error('unreachable');
    const guild = item.payload.d as { id: string };
    expect(item.payload.t).toBe('GUILD_CREATE');
    expect(Number((BigInt(guild.id) >> 22n) % 2n)).toBe(1);
    expect(g.world.hasGuild(guild.id)).toBe(true);
  });

  it('split-message: the next dispatch arrives in pieces and decodes whole', async () => {
    const g = await start();
    for (const compress of ['zlib-stream', 'zstd-stream', undefined] as const) {
      const { client } = await readyClient(g, compress);
      let messages = 0;
      client.socket.on('message', () => (messages += 1));
      g.inject({ type: 'split-message', pieces: 5 }, { connection: Math.max(...g.connections().map((c) => c.id)) });
      g.dispatch(0, 'INTERACTION_CREATE', { id: '1', token: 'x'.repeat(200) });
      const payload = await client.nextOp(0, 'INTERACTION_CREATE');
      expect((payload.d as { token: string }).token).toHaveLength(200);
      // zlib-stream splits into separate websocket messages; the others into fragments of one message
      expect(messages).toBe(compress === 'zlib-stream' ? 5 : 1);
    }
  });
});

describe('armed faults', () => {
  it('delay-hello and withhold-hello hold back the next connection’s HELLO', async () => {
    const g = await start();
    g.inject({ type: 'delay-hello', ms: 300 });
    const started = Date.now();
    const delayed = await RawClient.connect(g.url);
    await delayed.nextOp(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    g.inject({ type: 'withhold-hello' });
    const withheld = await RawClient.connect(g.url);
    await expect(withheld.next(500)).rejects.toThrow(/nothing received/);
    const normal = await RawClient.connect(g.url);
    expect((await normal.next()).op).toBe(10);
  });

  it('delay-ready and withhold-ready hold back READY of the target shard', async () => {
    const g = await start({ shards: 2 });
    g.inject({ type: 'delay-ready', ms: 300 }, { shard: 1 });
    g.inject({ type: 'withhold-ready' }, { shard: 0 });
    const zero = await RawClient.connect(g.url);
    const one = await RawClient.connect(g.url);
    await Promise.all([zero.nextOp(10), one.nextOp(10)]);
    const started = Date.now();
    one.identify({ shard: [1, 2] });
    zero.identify({ shard: [0, 2] });
    expect((await one.nextOp(0)).t).toBe('READY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    await expect(zero.next(500)).rejects.toThrow(/nothing received/);
    // heartbeats are still answered while READY is held
    zero.send({ op: 1, d: null });
    expect((await zero.next()).op).toBe(11);
  });

  it('rejects malformed faults with a TypeError naming the field', () => {
    return start().then((g) => {
      expect(() => g.inject({ type: 'close', code: 1006 })).toThrow(/code/);
      expect(() => g.inject({ type: 'delay-hello', ms: -1 })).toThrow(/ms/);
      expect(() => g.inject({ type: 'nope' } as unknown as Fault)).toThrow(/unknown fault type/);
    });
  });
});

describe('chaos', () => {
  it('draws the same faults for the same seed', async () => {
    const weights = { 'unknown-opcode': 1, 'unknown-event': 1, 'request-heartbeat': 1, 'split-message': 1 };
    const run = async (seed: number): Promise<string[]> => {
      const g = await start();
      await readyClient(g);
      const chaos = g.chaos({ seed, meanIntervalMs: 5, weights });
      await g.log.waitFor(() => g.log.ofType('fault').length >= 20, 5_000);
      chaos.stop();
      return g.log.ofType('fault').slice(0, 20).map((e) => JSON.stringify(e.fault));
    };
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a.map((f) => (JSON.parse(f) as Fault).type)).size).toBeGreaterThan(1);
  });
});
