// Connection setup, heartbeats and every IDENTIFY-time close code, driven with a raw client.
import { describe, expect, it } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';

const start = startGateway({ identifyInterval: 0 });

/** Connects, reads HELLO, sends `payload` and returns the close the server answers with. */
async function closeAfter(g: FakeGateway, ...payloads: unknown[]): Promise<{ code: number; reason: string }> {
  const client = await RawClient.connect(g.url);
  await client.nextOp(10);
  for (const payload of payloads) client.send(payload);
  return client.closed();
}

const identify = (fields: Record<string, unknown> = {}) => ({
  op: 2,
  d: { token: 'test-token', intents: 513, properties: { os: 'linux', browser: 'b', device: 'd' }, ...fields },
});

describe('connection query', () => {
  it('closes 4012 for any version but 10', async () => {
    const g = await start();
    for (const v of ['9', '11', '']) {
      const client = await RawClient.connect(g.url, { query: `v=${v}&encoding=json` });
      expect((await client.closed()).code).toBe(4012);
    }
  });

  it('refuses encodings and compressions it does not serve, naming them', async () => {
    const g = await start();
    const etf = await RawClient.connect(g.url, { query: 'v=10&encoding=etf' });
    expect(await etf.closed()).toMatchObject({ code: 4002, reason: expect.stringContaining('etf') });
    const brotli = await RawClient.connect(g.url, { query: 'v=10&encoding=json&compress=brotli' });
    expect(await brotli.closed()).toMatchObject({ code: 4000, reason: expect.stringContaining('brotli') });
  });

  it('answers 404 for paths that are not the gateway or the resume url', async () => {
    const g = await start();
    await expect(RawClient.connect(`${g.url}/elsewhere`)).rejects.toThrow(/404/);
  });
});

describe('hello and heartbeats', () => {
  it('sends HELLO with the configured interval and ACKs each heartbeat', async () => {
    const g = await start({ heartbeatInterval: 12_345 });
    const client = await RawClient.connect(g.url);
    const hello = await client.next();
    expect(hello).toEqual({ op: 10, d: { heartbeat_interval: 12_345 }, s: null, t: null });
    client.send({ op: 1, d: null });
    expect(await client.next()).toEqual({ op: 11, d: null, s: null, t: null });
    client.send({ op: 1, d: 7 });
    expect((await client.next()).op).toBe(11);
    expect(g.log.ofType('heartbeat').map((e) => e.sequence)).toEqual([null, 7]);
  });

  it('asks for a heartbeat with op 1 on request', async () => {
    const g = await start();
    const client = await RawClient.connect(g.url);
    await client.ready();
    expect(g.inject({ type: 'request-heartbeat' })).toBe(1);
    expect(await client.nextOp(1)).toEqual({ op: 1, d: null, s: null, t: null });
  });

  it('closes 4009 and ends the session when the client stops heartbeating', async () => {
    const g = await start({ heartbeatInterval: 100, heartbeatTimeout: 300 });
    const client = await RawClient.connect(g.url);
    const ready = await client.ready();
    const started = Date.now();
    expect((await client.closed(2_000)).code).toBe(4009);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const resumer = await RawClient.connect(ready.resume_gateway_url);
    await resumer.nextOp(10);
    resumer.send({ op: 6, d: { token: 'test-token', session_id: ready.session_id, seq: 1 } });
    expect(await resumer.nextOp(9)).toMatchObject({ d: false });
  });

  it('keeps a heartbeating connection open past the timeout', async () => {
    const g = await start({ heartbeatInterval: 100, heartbeatTimeout: 300 });
    const client = await RawClient.connect(g.url);
    await client.ready();
    const beat = setInterval(() => client.send({ op: 1, d: null }), 100);
    await new Promise((resolve) => setTimeout(resolve, 700));
    clearInterval(beat);
    expect(client.received.some((item) => item.kind === 'close')).toBe(false);
  });
});

describe('close codes', () => {
  it('4004 for a wrong token, a missing one and one with the Bot prefix', async () => {
    const g = await start({ token: 'secret' });
    expect((await closeAfter(g, identify({ token: 'other' }))).code).toBe(4004);
    expect((await closeAfter(g, identify({ token: undefined }))).code).toBe(4004);
    expect((await closeAfter(g, identify({ token: 'Bot secret' }))).code).toBe(4004);
    const ok = await RawClient.connect(g.url);
    expect((await ok.ready({ token: 'secret' })).session_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('4003 for a command before IDENTIFY', async () => {
    const g = await start();
    const presence = { op: 3, d: { since: null, activities: [], status: 'online', afk: false } };
    expect((await closeAfter(g, presence)).code).toBe(4003);
  });

  it('4005 for a second IDENTIFY and for RESUME after IDENTIFY', async () => {
    const g = await start();
    for (const second of [identify(), { op: 6, d: { token: 'test-token', session_id: 'x', seq: 0 } }]) {
      const client = await RawClient.connect(g.url);
      const ready = await client.ready();
      expect(ready.session_id).toBeTruthy();
      client.send(second);
      expect((await client.closed()).code).toBe(4005);
    }
  });

  it('4002 for invalid JSON, a non-object and a payload over 4096 bytes', async () => {
    const g = await start();
    expect((await closeAfter(g, '{"op":1,')).code).toBe(4002);
    expect((await closeAfter(g, '[1,2]')).code).toBe(4002);
    const big = JSON.stringify({ op: 1, d: null, padding: 'x'.repeat(4100) });
    expect(await closeAfter(g, big)).toMatchObject({ code: 4002, reason: expect.stringContaining('4096') });
    // exactly at the limit is accepted
    const client = await RawClient.connect(g.url);
    await client.nextOp(10);
    const fitting = JSON.stringify({ op: 1, d: null, p: '' });
    client.send(JSON.stringify({ op: 1, d: null, p: 'x'.repeat(4096 - fitting.length) }));
    expect((await client.nextOp(11)).op).toBe(11);
  });

  it('4001 for an unknown opcode, a receive-only opcode and a malformed payload', async () => {
    const g = await start();
    expect((await closeAfter(g, { op: 5, d: null })).code).toBe(4001);
    expect((await closeAfter(g, { op: 42, d: null })).code).toBe(4001);
    expect((await closeAfter(g, { op: 11, d: null })).code).toBe(4001);
    expect((await closeAfter(g, { op: 1, d: 'seven' })).code).toBe(4001);
    expect((await closeAfter(g, identify({ properties: 'linux' }))).code).toBe(4001);
    expect((await closeAfter(g, identify({ large_threshold: 251 }))).code).toBe(4001);
  });

  it('4010 for a bad shard array', async () => {
    const g = await start({ shards: 2 });
    for (const shard of [[2, 2], [-1, 2], [0, 0], [1.5, 2], [0], 'zero']) {
      expect((await closeAfter(g, identify({ shard }))).code).toBe(4010);
    }
  });

  it('4011 when a shard would hold too many guilds', async () => {
    const g = await start({ guilds: 12, maxGuildsPerShard: 5 });
    expect((await closeAfter(g, identify({ shard: [0, 1] }))).code).toBe(4011);
    const split = await RawClient.connect(g.url);
    const ready = await split.ready({ shard: [0, 4] });
    expect(ready.guilds.length).toBeLessThanOrEqual(5);
  });

  it('4013 for undefined intent bits, 4014 for privileged intents not enabled', async () => {
    const g = await start({ privilegedIntents: 0 });
    expect((await closeAfter(g, identify({ intents: 1 << 17 }))).code).toBe(4013);
    expect((await closeAfter(g, identify({ intents: -1 }))).code).toBe(4013);
    expect((await closeAfter(g, identify({ intents: 'all' }))).code).toBe(4013);
    expect((await closeAfter(g, identify({ intents: 1 | 2 }))).code).toBe(4014);
    expect((await closeAfter(g, identify({ intents: 32768 }))).code).toBe(4014);
  });

  it('4008 for more than 120 payloads in 60 s, heartbeats included', async () => {
    const g = await start();
    const client = await RawClient.connect(g.url);
    await client.nextOp(10);
    for (let i = 0; i < 120; i++) client.send({ op: 1, d: null });
    await client.until((item) => item.kind === 'payload' && g.log.ofType('heartbeat').length === 120);
    expect(client.received.some((item) => item.kind === 'close')).toBe(false);
    client.send({ op: 1, d: null });
    expect((await client.closed()).code).toBe(4008);
  });
});
