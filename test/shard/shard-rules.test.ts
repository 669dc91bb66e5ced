// The rest of the shard's rules against FakeGateway: commands, timeouts, hostile input,
// unknown payloads, backpressure and where it reconnects to.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { GatewayDispatchEvents, GatewayOpcodes, PresenceUpdateStatus } from 'discord-api-types/v10';
import type { GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { eventTypesForIntents } from '../../src/codec/event-types.js';
import { resolveShardConfig } from '../../src/config.js';
import { InMemoryQueue } from '../../src/queue/in-memory-queue.js';
import { CloseFrame } from '../../src/shard/close-codes.js';
import { requestGuildMembers, updatePresence } from '../../src/shard/commands.js';
import { Session } from '../../src/shard/session.js';
import { startGateway } from '../support/gateway.js';
import { shardsPerTest } from '../support/shard.js';

const start = startGateway({ identifyInterval: 0, guilds: 3 });
const open = shardsPerTest();

describe('commands', () => {
  it('wait until the shard is identified, then reach the gateway', async () => {
    const g = await start();
    g.inject({ type: 'delay-ready', ms: 300 }, { shard: 0 });
    const { shard, reader } = open(g);
    const presence: GatewayPresenceUpdateData = { since: null, activities: [{ name: 'tests', type: 0 }], status: PresenceUpdateStatus.Idle, afk: false };
    let settled = false;
    const sent = shard.command(updatePresence(presence)).then(() => (settled = true));
    await g.log.waitFor((e) => e.type === 'identify');
    await reader.until(() => shard.state.kind === 'Identifying');
    await new Promise((resolve) => setTimeout(resolve, 100)); // READY is held back for 300 ms
    expect(settled).toBe(false);
    expect(g.log.ofType('command')).toHaveLength(0);
    await sent;
    expect(shard.state.kind).toBe('Active');
    await g.log.waitFor((e) => e.type === 'command');
    expect(g.sessions()[0]?.presence).toEqual(presence);
    expect(g.log.ofType('close')).toHaveLength(0);
  });

  it('refuses a payload over 4096 bytes before sending anything', async () => {
    const g = await start();
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    await expect(shard.send(JSON.stringify({ op: 3, d: { pad: 'x'.repeat(4096) } }))).rejects.toMatchObject({
      kind: 'Sending',
      code: 'PAYLOAD_TOO_LARGE',
      reconnecting: false,
      message: expect.stringContaining('4096'),
    });
    expect(g.log.ofType('command')).toHaveLength(0);
    expect(g.log.ofType('close')).toHaveLength(0);
  });

  it('pass the ratelimiter: 117 commands go at once for a 41.25 s interval, the next waits', async () => {
    const g = await start({ heartbeatInterval: 41_250 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    expect(shard.ratelimiter?.max()).toBe(117);
    const command = requestGuildMembers({ guildId: g.world.guildIds[0]!, query: 'a', limit: 1 });
    // IDENTIFY and heartbeats use the reserve of 3 that 117 leaves
    await Promise.all(Array.from({ length: 117 }, () => shard.command(command)));
    const waiting = shard.command(command);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(shard.ratelimiter?.available()).toBe(0);
    expect(shard.ratelimiter?.nextAvailableIn()).toBeGreaterThan(50_000);
    expect(g.log.ofType('command')).toHaveLength(117);
    expect(g.log.ofType('close')).toHaveLength(0);
    void waiting.catch(() => undefined); // rejected when the shard closes after the test
  });

  it('surfaces RATE_LIMITED with the nonce', async () => {
    const g = await start({ guilds: 1 });
    const { shard, reader } = open(g, { intents: 513 | 2 });
    const guildId = g.world.guildIds[0]!;
    await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'first' }));
    await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'second' }));
    await reader.until(() => reader.events.some((e) => e.t === GatewayDispatchEvents.RateLimited));
    const limited = reader.events.find((e) => e.t === GatewayDispatchEvents.RateLimited);
    expect(limited?.d).toMatchObject({ opcode: 8, meta: { guild_id: guildId, nonce: 'second' } });
  });
});

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

  it('waits for the identify queue before IDENTIFY', async () => {
    const g = await start();
    const queue = new InMemoryQueue(1, 1000, 86_400_000, 1000, { intervalMs: 400 });
    await queue.enqueue(0); // the bucket's turn is taken for the next 400 ms
    const started = performance.now();
    const { shard, reader } = open(g, { queue });
    await reader.until(() => shard.state.kind === 'Active');
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(g.log.ofType('identify-rejected')).toHaveLength(0);
  });
});

describe('the identify queue', () => {
  it('a rejection (not an abort) is an error item and a reconnect with growing backoff, never a stuck shard', async () => {
    const g = await start();
    let rejections = 3;
    const queue = { enqueue: () => (rejections-- > 0 ? Promise.reject(new Error('store unreachable')) : Promise.resolve()) };
    const { shard, reader } = open(g, { queue, backoff: { initial: 100, max: 1_000, jitter: false } });
    await reader.until(() => shard.state.kind === 'Active', 5_000);
    const errors = reader.events.flatMap((event) => (event.op === 'error' ? [event.d] : []));
    expect(errors.map((error) => [error.kind, error.code, error.reconnecting, error.message])).toEqual(
      Array.from({ length: 3 }, () => ['Queue', 'QUEUE_FAILED', true, 'the identify queue failed (store unreachable): reconnecting after a backoff']),
    );
    const connects = g.log.ofType('connect').map((entry) => entry.time);
    expect(connects).toHaveLength(4);
    expect(connects[2]! - connects[1]!).toBeGreaterThanOrEqual(200 - 10);
    expect(connects[3]! - connects[2]!).toBeGreaterThanOrEqual(400 - 10);
    expect(g.log.ofType('identify')).toHaveLength(1);
  });
});

describe('hostile input', () => {
  it('invalid JSON is reported, and a resume replaces the connection in case its context is out of step', async () => {
    const g = await start({ rate: 0 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    g.inject({ type: 'invalid-json' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '1' });
    await reader.until(() => reader.events.some((e) => e.t === GatewayDispatchEvents.InteractionCreate));
    expect(reader.events.filter((e) => e.op === 'error').map((e) => e.d)).toMatchObject([{ kind: 'Deserializing', code: 'MESSAGE_NOT_JSON', reconnecting: true }]);
    expect(g.log.ofType('connect')).toHaveLength(2);
    expect(g.log.ofType('resume')).toHaveLength(1);
    expect(g.log.ofType('identify')).toHaveLength(1);
  });

  it('unknown opcodes and event names are skipped by nextEvent and kept by nextMessage', async () => {
    const g = await start({ rate: 0, guilds: 0 });
    const { shard } = open(g);
    const texts: string[] = [];
    while (shard.state.kind !== 'Active') {
      const message = await shard.nextMessage();
      if (message.type === 'text') texts.push(message.text);
    }
    g.inject({ type: 'unknown-opcode', op: 99 });
    g.inject({ type: 'unknown-event', t: 'FUTURE_EVENT' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '1' });
    const event = await shard.nextEvent();
    expect(event).toMatchObject({ op: GatewayOpcodes.Dispatch, t: 'INTERACTION_CREATE', s: 3 });
    expect(shard.session?.sequence).toBe(3); // the unknown event's sequence counted
    g.inject({ type: 'unknown-opcode', op: 98 });
    const raw = await shard.nextMessage();
    expect(raw).toEqual({ type: 'text', text: '{"t":null,"s":null,"op":98,"d":null}' });
  });
});

describe('heartbeat requests', () => {
  it('answers op 1 with a heartbeat at once', async () => {
    const g = await start({ heartbeatInterval: 60_000 });
    const { shard, reader } = open(g);
    await reader.until(() => shard.state.kind === 'Active');
    const before = g.log.ofType('heartbeat').length;
    g.inject({ type: 'request-heartbeat' });
    const beat = await g.log.waitFor((e) => e.type === 'heartbeat' && g.log.ofType('heartbeat').length > before, 2_000);
    expect(beat).toMatchObject({ type: 'heartbeat', sequence: shard.session?.sequence });
  });
});

describe('event types', () => {
  it('nextEvent yields only the wanted dispatches; sequences stay exact and nextMessage has all', async () => {
    const g = await start({ rate: 0, guilds: 2 });
    const { shard } = open(g, { eventTypes: eventTypesForIntents(0) }); // READY, INTERACTION_CREATE, …: no GUILD_CREATE
    const first = await shard.nextEvent(); // HELLO
    expect(first.op).toBe(GatewayOpcodes.Hello);
    expect((await shard.nextEvent()).t).toBe('READY');
    g.dispatch(0, 'MESSAGE_CREATE', { id: '1', guild_id: g.world.guildIds[0], content: 'skipped' });
    g.dispatch(0, 'INTERACTION_CREATE', { id: '2' });
    const interaction = await shard.nextEvent();
    expect(interaction).toMatchObject({ t: 'INTERACTION_CREATE', s: 5 }); // after READY and two GUILD_CREATEs and the message
    expect(shard.session?.sequence).toBe(5);
  });

  it('eventTypes must hold dispatch names', () => {
    expect(() => resolveShardConfig({ token: 't', intents: 1, eventTypes: ['MESAGE_CREATE' as never] })).toThrow(/eventTypes/);
  });
});

describe('backpressure', () => {
  it('a consumer that stops reading stops the socket; reading again delivers everything once', async () => {
    const g = await start({ rate: 'max' });
    const { shard } = open(g, { maxBufferedMessages: 200 });
    const sequences: number[] = [];
    const read = async (count: number): Promise<void> => {
      while (sequences.length < count) {
        const event = await shard.nextEvent();
        if (event.op === GatewayOpcodes.Dispatch) sequences.push(event.s);
      }
    };
    await read(500);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const generated = g.sessions()[0]!.sequence;
    // The server kept producing (kernel buffers take megabytes), but the shard decoded only
    // what it hands out plus its bounded buffer (and the rest of the last socket read, which
    // ws decodes whole: up to 64 KiB, about 270 messages here): the rest waits in the socket.
    expect(generated).toBeGreaterThan(2_000);
    expect(shard.inflaterMetrics.messages).toBeLessThan(500 + 200 + 300);
    await read(generated + 1000);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
  });
});

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

  /** Warnings the process emits while `run` runs. */
  async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      await run();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    return warnings;
  }

  it('uses a ws: resume_gateway_url on loopback without an opt-in or a warning', async () => {
    const g = await start();
    const warnings = await warningsDuring(async () => {
      const { shard, reader } = open(g);
      await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 3);
      expect(shard.session?.resumeUrl).toBe(g.resumeUrl);
      g.inject({ type: 'drop' });
      const resume = await g.log.waitFor((e) => e.type === 'resume');
      expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('resume');
    });
    expect(warnings.filter((warning) => warning.includes('resume_gateway_url'))).toEqual([]);
  });

  it.each([
    ['ws: to another host', 'ws://gateway.example/resume', 'would carry the token unencrypted'],
    ['another protocol', 'https://gateway.example/resume', 'must be a wss: or ws: URL'],
    ['not a URL', 'gateway.example/resume', 'is not a valid URL'],
  ])('skips a resume_gateway_url that is %s with a warning, and resumes on the gateway URL', async (_what, resumeGatewayUrl, problem) => {
    const g = await start({ resumeGatewayUrl });
    const warnings = await warningsDuring(async () => {
      const { shard, reader } = open(g);
      await reader.until(() => shard.state.kind === 'Active' && reader.sequences().length > 3);
      expect(shard.session?.resumeUrl).toBeNull();
      g.inject({ type: 'drop' });
      const resume = await g.log.waitFor((e) => e.type === 'resume');
      expect(g.log.ofType('connect').find((c) => c.connection === resume.connection)?.path).toBe('gateway');
    });
    expect(warnings.find((warning) => warning.includes('resume_gateway_url'))).toContain(problem);
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
