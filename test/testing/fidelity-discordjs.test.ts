// Fidelity: an independent client, @discordjs/ws, runs against FakeGateway. It discovers
// the gateway through /gateway/bot, shards with max_concurrency, inflates zlib-stream,
// resumes after a TCP drop and after op 7, and must see every sequence exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type { CreateWebSocketManagerOptions, SessionInfo as DjsSessionInfo } from '@discordjs/ws';
import { GatewayDispatchEvents, GatewayIntentBits } from 'discord-api-types/v10';
import type { GatewayDispatchPayload, GatewayReadyDispatchData } from 'discord-api-types/v10';
import { FakeGateway } from '../../src/testing/index.js';
import type { DispatchEntry, LogEntry } from '../../src/testing/index.js';

const TOKEN = 'fidelity-token';
const I = GatewayIntentBits;
const INTENTS =
  I.Guilds |
  I.GuildMembers |
  I.GuildMessages |
  I.GuildMessageReactions |
  I.GuildMessageTyping |
  I.GuildVoiceStates |
  I.GuildPresences |
  I.MessageContent;

let gateway: FakeGateway | undefined;
let manager: WebSocketManager | undefined;
let rest: REST | undefined;

afterEach(async () => {
  try {
    await manager?.destroy();
  } finally {
    manager = undefined;
    rest?.clearHashSweeper();
    rest?.clearHandlerSweeper();
    rest = undefined;
    await gateway?.close();
    gateway = undefined;
  }
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms; fails naming `what` after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** 1..n */
const upTo = (n: number): number[] => Array.from({ length: n }, (_, index) => index + 1);

/** A dispatch as the client emitted it, tagged with the shard and the session it belonged to. */
interface Received {
  readonly shard: number;
  readonly session: string;
  readonly s: number;
  readonly t: string;
  readonly d: unknown;
}

/** Everything a WebSocketManager emitted that the test looks at. */
class Recorder {
  readonly dispatches: Received[] = [];
  readonly readies = new Map<number, GatewayReadyDispatchData>();
  readonly resumed: number[] = [];
  readonly errors: string[] = [];
  readonly #sessionOf = new Map<number, string>();

  constructor(target: WebSocketManager) {
    target.on(WebSocketShardEvents.Dispatch, (payload: GatewayDispatchPayload, shard: number) => {
      if (payload.t === GatewayDispatchEvents.Ready) {
        this.readies.set(shard, payload.d);
        this.#sessionOf.set(shard, payload.d.session_id);
      }
      const session = this.#sessionOf.get(shard);
      if (session === undefined) {
        this.errors.push(`shard ${shard}: ${payload.t} (s=${payload.s}) before READY`);
        return;
      }
      this.dispatches.push({ shard, session, s: payload.s, t: payload.t, d: payload.d });
    });
    target.on(WebSocketShardEvents.Resumed, (shard: number) => this.resumed.push(shard));
    target.on(WebSocketShardEvents.Error, (error: Error, shard: number) => this.errors.push(`shard ${shard}: ${error.message}`));
  }

  ofShard(shard: number): Received[] {
    return this.dispatches.filter((dispatch) => dispatch.shard === shard);
  }

  ofSession(session: string): Received[] {
    return this.dispatches.filter((dispatch) => dispatch.session === session);
  }

  /** The highest sequence the client has seen for a session (0 for none). */
  lastSequence(session: string): number {
    return this.ofSession(session).reduce((max, dispatch) => Math.max(max, dispatch.s), 0);
  }
}

/**
 * A WebSocketManager configured like a production bot, but pointed at the simulator's REST
 * base and with a session store of its own (the library's default store is process-wide).
 */
function createManager(g: FakeGateway, options: Pick<CreateWebSocketManagerOptions, 'shardCount' | 'compression' | 'intents'>): WebSocketManager {
  rest = new REST({ api: g.restUrl.replace(/\/v10$/, ''), version: '10' }).setToken(TOKEN);
  const store = new Map<number, DjsSessionInfo>();
  manager = new WebSocketManager({
    token: TOKEN,
    rest,
    ...options,
    retrieveSessionInfo: (shardId) => store.get(shardId) ?? null,
    updateSessionInfo: (shardId, info) => {
      if (info) store.set(shardId, info);
      else store.delete(shardId);
    },
  });
  return manager;
}

const guildShard = (guildId: string, numShards: number): number => Number((BigInt(guildId) >> 22n) % BigInt(numShards));

describe('@discordjs/ws against FakeGateway', () => {
  it('shards with zlib-stream, obeys max_concurrency, resumes after a drop and op 7 with every sequence exactly once', async () => {
    const identifyInterval = 300;
    const g = (gateway = await FakeGateway.start({
      token: TOKEN,
      shards: 4,
      maxConcurrency: 2,
      identifyInterval,
      guilds: 20,
      rate: 20,
      seed: 11,
      heartbeatInterval: 2_000,
    }));
    const m = createManager(g, { shardCount: 4, compression: CompressionMethod.ZlibNative, intents: INTENTS });
    const client = new Recorder(m);
    const started = Date.now();

    // Discovery through REST, exactly as against discord.com.
    const info = await m.fetchGatewayInformation();
    expect(info).toMatchObject({ url: g.url, shards: 4, session_start_limit: { max_concurrency: 2, total: 1000 } });

    await m.connect(); // resolves once every shard has READY
    const connectedIn = Date.now() - started;

    // Every shard: READY, then a GUILD_CREATE for each READY guild stub, then traffic.
    const shards = [0, 1, 2, 3];
    await until('traffic on every shard', () =>
      shards.every((shard) => {
        const ready = client.readies.get(shard);
        return ready !== undefined && client.ofShard(shard).length >= 1 + ready.guilds.length + 5;
      }),
    );
    let guildTotal = 0;
    for (const shard of shards) {
      const ready = client.readies.get(shard) as GatewayReadyDispatchData;
      expect(ready.shard).toEqual([shard, 4]);
      expect(ready.resume_gateway_url).toBe(g.resumeUrl);
      expect(ready.v).toBe(10);
      expect(ready.user.bot).toBe(true);
      const stubIds = ready.guilds.map((guild) => guild.id);
      expect(ready.guilds.every((guild) => guild.unavailable)).toBe(true);
      expect(stubIds.every((id) => guildShard(id, 4) === shard)).toBe(true);
      guildTotal += stubIds.length;
      const [first, ...rest] = client.ofShard(shard);
      expect(first).toMatchObject({ t: 'READY', s: 1 });
      const creates = rest.slice(0, stubIds.length);
      expect(creates.map((dispatch) => dispatch.t)).toEqual(stubIds.map(() => 'GUILD_CREATE'));
      expect(creates.map((dispatch) => (dispatch.d as { id: string }).id).sort()).toEqual([...stubIds].sort());
      const traffic = rest.slice(stubIds.length);
      expect(traffic.length).toBeGreaterThanOrEqual(5);
    }
    expect(guildTotal).toBe(20);

    // Identify admission: nothing rejected, one identify per shard, buckets respected.
    expect(g.log.ofType('identify-rejected')).toEqual([]);
    const identifies = g.log.ofType('identify');
    expect(identifies.map((entry) => entry.shard).sort()).toEqual(shards);
    expect(identifies.every((entry) => entry.numShards === 4 && entry.intents === INTENTS)).toBe(true);
    for (const bucket of [0, 1]) {
      const times = identifies.filter((entry) => entry.shard % 2 === bucket).map((entry) => entry.time);
      expect(times).toHaveLength(2);
      expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(identifyInterval);
    }
    const sessionOfShard = new Map(identifies.map((entry) => [entry.shard, entry.session]));
    for (const shard of shards) expect(client.readies.get(shard)?.session_id).toBe(sessionOfShard.get(shard));
    expect(g.log.ofType('connect').every((entry) => entry.compress === 'zlib-stream')).toBe(true);

    // Faults: a TCP drop on shard 1, op 7 on shard 2.
    const dropShard = 1;
    const reconnectShard = 2;
    const faultAt = Date.now();
    expect(g.inject({ type: 'drop' }, { shard: dropShard })).toBe(1);
    expect(g.inject({ type: 'reconnect' }, { shard: reconnectShard })).toBe(1);
    const resumes = (await Promise.all(
      [dropShard, reconnectShard].map((shard) => g.log.waitFor((entry) => entry.type === 'resume' && entry.shard === shard, 10_000)),
    )) as Extract<LogEntry, { type: 'resume' }>[];
    await until('RESUMED on both shards', () => client.resumed.includes(dropShard) && client.resumed.includes(reconnectShard));
    const resumedIn = Date.now() - faultAt;

    const connects = g.log.ofType('connect');
    const closes = g.log.ofType('close');
    for (const resume of resumes) {
      expect(resume.session).toBe(sessionOfShard.get(resume.shard));
      expect(connects.find((entry) => entry.connection === resume.connection)).toMatchObject({ path: 'resume', compress: 'zlib-stream' });
      // The session kept producing while the client was away, so there was something to replay.
      expect(resume.replayed).toBeGreaterThan(0);
    }
    // The drop was a server-side 1006; after op 7 the client closed itself (not the server's grace timer),
    // with a code that keeps the session (not 1000/1001).
    const oldConnection = (shard: number): number => identifies.find((entry) => entry.shard === shard)?.connection as number;
    expect(closes.find((entry) => entry.connection === oldConnection(dropShard))).toMatchObject({ by: 'server', code: 1006 });
    const opSevenClose = closes.find((entry) => entry.connection === oldConnection(reconnectShard));
    expect(opSevenClose?.by).toBe('client');
    expect([1000, 1001]).not.toContain(opSevenClose?.code);
    expect(g.log.ofType('resume-rejected')).toEqual([]);

    // Let traffic run on the resumed sessions.
    await sleep(1_000);
    expect(g.log.ofType('identify')).toHaveLength(4);
    expect(g.log.ofType('identify-rejected')).toEqual([]);
    expect(g.log.ofType('resume')).toHaveLength(2);
    // Resumes spend no identify budget: /gateway/bot (fetched again through REST) counts 4 starts.
    expect((await m.fetchGatewayInformation(true)).session_start_limit.remaining).toBe(1000 - 4);

    // Quiesce: every session is attached and its connection has written all it numbered; wait
    // until the client has caught up with that, then stop the client (it closes with 1000).
    const snapshot = g.sessions();
    expect(snapshot.map((session) => session.id).sort()).toEqual([...sessionOfShard.values()].sort());
    for (const session of snapshot) {
      expect(session.state).toBe('attached');
      expect(Math.max(...g.log.sequencesSent(session.id))).toBe(session.sequence);
    }
    await until('the client to catch up with the server', () => snapshot.every((session) => client.lastSequence(session.id) >= session.sequence));
    await m.destroy();
    manager = undefined;
    await sleep(100);
    const after = new Map(g.sessions().map((session) => [session.id, session]));

    const dispatchLog = g.log.ofType('dispatch');
    const replayNotes: string[] = [];
    for (const { id, shard, sequence: atSnapshot } of snapshot) {
      // The client: each sequence exactly once, in order, nothing missing, up to at least the snapshot.
      const received = client.ofSession(id);
      const sequences = received.map((dispatch) => dispatch.s);
      expect(sequences, `shard ${shard}: sequences the client received`).toEqual(upTo(sequences.length));
      expect(sequences.length).toBeGreaterThanOrEqual(atSnapshot);

      // The server: every number given out was written at least once, in order. Non-replay writes
      // rise strictly; a resume's replay is exactly (resume seq, resume seq + replayed], on the new
      // connection. A replayed dispatch is in the log twice when the old socket had it written
      // before the fault, once (only as a replay) when it was produced while the session was detached.
      const entries = dispatchLog.filter((entry) => entry.session === id);
      const live = entries.filter((entry) => !entry.replay).map((entry) => entry.sequence);
      expect(live, `shard ${shard}: non-replay writes rise`).toEqual([...live].sort((a, b) => a - b));
      expect(new Set(live).size).toBe(live.length);
      const distinct = [...new Set(entries.map((entry) => entry.sequence))].sort((a, b) => a - b);
      const last = distinct.length;
      expect(distinct, `shard ${shard}: sequences in the log`).toEqual(upTo(last));
      expect(sequences.length).toBeLessThanOrEqual(last);
      const finalSequence = after.get(id)?.sequence;
      if (finalSequence !== undefined) expect(last).toBeLessThanOrEqual(finalSequence);
      const resume = resumes.find((entry) => entry.session === id);
      const replays = entries.filter((entry) => entry.replay);
      if (resume === undefined) {
        expect(replays).toEqual([]);
        expect(live).toEqual(upTo(last));
      } else {
        expect(replays.map((entry) => entry.sequence)).toEqual(upTo(resume.replayed).map((n) => resume.sequence + n));
        expect(replays.every((entry) => entry.connection === resume.connection)).toBe(true);
        const beforeFault = entries.filter((entry) => !entry.replay && entry.connection !== resume.connection).map((entry) => entry.sequence);
        expect(beforeFault).toEqual(upTo(beforeFault.length));
        // The client resumed from what it had processed; the old socket may have had a few more written.
        expect(resume.sequence).toBeLessThanOrEqual(beforeFault.length);
        replayNotes.push(
          `shard ${shard}: resumed at seq ${resume.sequence}, old socket had written ${beforeFault.length}, ` +
            `replayed ${resume.replayed} (${beforeFault.length - resume.sequence} twice in the log, ${resume.sequence + resume.replayed - beforeFault.length} buffered while detached)`,
        );
      }

      // What the client got is what the server numbered: same event name for every sequence.
      const typeOf = new Map<number, string>(entries.map((entry: DispatchEntry) => [entry.sequence, entry.t]));
      expect(received.filter((dispatch) => typeOf.get(dispatch.s) !== dispatch.t)).toEqual([]);
      if (resume !== undefined) {
        const resumed = received.find((dispatch) => dispatch.t === 'RESUMED');
        expect(resumed?.s).toBe(resume.sequence + resume.replayed + 1);
      }
    }
    // Heartbeats flowed (2 s interval) and were acked; the server closed nothing but the drop.
    expect(g.log.ofType('heartbeat').length).toBeGreaterThan(0);
    expect(g.log.ofType('heartbeat').every((entry) => entry.acked)).toBe(true);
    const allCloses = g.log.ofType('close');
    expect(allCloses.filter((entry) => entry.by === 'server').map((entry) => entry.code)).toEqual([1006]);
    expect(allCloses.filter((entry) => entry.by === 'client' && entry.code !== 1000)).toHaveLength(1);
    expect(client.errors).toEqual([]);

    console.info(
      `[fidelity] 4 shards READY in ${connectedIn} ms; both resumes in ${resumedIn} ms; ` +
        `replayed ${resumes.map((resume) => `${resume.replayed} on shard ${resume.shard}`).join(', ')}; ` +
        `client received ${client.dispatches.length} dispatches; total ${Date.now() - started} ms; ${replayNotes.join('; ')}`,
    );
  });

  it('receives READY and an injected MESSAGE_CREATE verbatim on one uncompressed shard', async () => {
    const g = (gateway = await FakeGateway.start({ token: TOKEN, guilds: 5, seed: 3, identifyInterval: 300 }));
    const m = createManager(g, { shardCount: 1, compression: null, intents: I.Guilds | I.GuildMessages | I.MessageContent });
    const client = new Recorder(m);
    await m.connect();

    const ready = client.readies.get(0);
    expect(ready?.shard).toEqual([0, 1]);
    expect(ready?.guilds).toHaveLength(5);
    expect(g.log.ofType('connect')).toMatchObject([{ path: 'gateway', compress: 'none' }]);
    const guildId = ready?.guilds[0]?.id as string;
    await until('the GUILD_CREATEs', () => client.ofShard(0).filter((dispatch) => dispatch.t === 'GUILD_CREATE').length === 5);

    const message = {
      id: '1300000000000000001',
      channel_id: '1300000000000000002',
      guild_id: guildId,
      author: { id: '1300000000000000003', username: 'fidelity', discriminator: '0', global_name: null, avatar: null },
      content: 'hello from the fidelity test — ünïcødé ✓',
      timestamp: '2025-01-01T00:00:00.000000+00:00',
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
    };
    const [sequence] = g.dispatch(0, 'MESSAGE_CREATE', message);
    expect(sequence).toBe(7); // READY, 5 GUILD_CREATEs, then this
    await until('the MESSAGE_CREATE', () => client.ofShard(0).some((dispatch) => dispatch.t === 'MESSAGE_CREATE'));
    const received = client.ofShard(0).find((dispatch) => dispatch.t === 'MESSAGE_CREATE');
    expect(received).toEqual({ shard: 0, session: ready?.session_id, s: sequence, t: 'MESSAGE_CREATE', d: message });
    expect(client.ofShard(0).map((dispatch) => dispatch.s)).toEqual(upTo(7));
    expect(client.errors).toEqual([]);
  });
});
