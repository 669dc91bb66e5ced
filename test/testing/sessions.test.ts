// Identify admission, discovery over REST, READY and GUILD_CREATE, and RESUME with replay.
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';

const start = startGateway();

const shardOf = (guildId: string, total: number): number => Number((BigInt(guildId) >> 22n) % BigInt(total));

async function resume(url: string, sessionId: string, seq: number, token = 'test-token'): Promise<RawClient> {
  const client = await RawClient.connect(url);
  await client.nextOp(10);
  client.send({ op: 6, d: { token, session_id: sessionId, seq } });
  return client;
}

describe('discovery', () => {
  it('serves /gateway and /gateway/bot, counting identifies down', async () => {
    const g = await start({ shards: 3, maxConcurrency: 2, sessionStartLimit: 5, token: 'secret', identifyInterval: 0 });
    const plain = await fetch(`${g.restUrl}/gateway`);
    expect(await plain.json()).toEqual({ url: g.url });
    const bot = async (): Promise<Response> => fetch(`${g.restUrl}/gateway/bot`, { headers: { authorization: 'Bot secret' } });
    const before = (await (await bot()).json()) as { url: string; shards: number; session_start_limit: Record<string, number> };
    expect(before).toMatchObject({ url: g.url, shards: 3, session_start_limit: { total: 5, remaining: 5, max_concurrency: 2 } });
    expect(before.session_start_limit.reset_after).toBeGreaterThan(0);
    const client = await RawClient.connect(g.url);
    await client.ready({ token: 'secret' });
    const after = (await (await bot()).json()) as { session_start_limit: { remaining: number } };
    expect(after.session_start_limit.remaining).toBe(4);
  });

  it('answers 401 for a missing or wrong token', async () => {
    const g = await start({ token: 'secret' });
    expect((await fetch(`${g.restUrl}/gateway/bot`)).status).toBe(401);
    expect((await fetch(`${g.restUrl}/gateway/bot`, { headers: { authorization: 'Bot nope' } })).status).toBe(401);
    expect((await fetch(`${g.restUrl}/gateway/bot`, { headers: { authorization: 'secret' } })).status).toBe(401);
    expect((await fetch(`${g.restUrl}/nothing`)).status).toBe(404);
  });
});

describe('identify admission', () => {
  it('allows one identify per bucket per interval and answers the next with op 9 false', async () => {
    const g = await start({ shards: 4, maxConcurrency: 2, identifyInterval: 400 });
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(g.url)));
    await Promise.all(clients.map((c) => c.nextOp(10)));
    clients.forEach((client, shard) => client.identify({ shard: [shard, 4] }));
    // shards 0 and 1 (buckets 0 and 1) get in; 2 and 3 share those buckets and are refused
    expect((await clients[0]!.nextOp(0, 'READY')).s).toBe(1);
    expect((await clients[1]!.nextOp(0, 'READY')).s).toBe(1);
    expect((await clients[2]!.nextOp(9)).d).toBe(false);
    expect((await clients[3]!.nextOp(9)).d).toBe(false);
    expect(g.log.ofType('identify-rejected').map((e) => [e.shard, e.reason])).toEqual([
      [2, 'concurrency'],
      [3, 'concurrency'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    clients[2]!.identify({ shard: [2, 4] });
    expect((await clients[2]!.nextOp(0, 'READY')).s).toBe(1);
    expect(g.limits.sessionStartLimit().remaining).toBe(997);
  });

  it('closes 4004 once the daily budget is spent', async () => {
    const g = await start({ sessionStartLimit: 1, identifyInterval: 0 });
    await (await RawClient.connect(g.url)).ready();
    const late = await RawClient.connect(g.url);
    await late.nextOp(10);
    late.identify();
    expect(await late.closed()).toMatchObject({ code: 4004, reason: expect.stringContaining('daily') });
    expect(g.log.ofType('identify-rejected')).toMatchObject([{ reason: 'daily-limit' }]);
  });
});

describe('READY and guilds', () => {
  it('sends READY then one GUILD_CREATE per owned guild, numbered from 1', async () => {
    const g = await start({ shards: 3, guilds: 30, identifyInterval: 0 });
    for (const shard of [0, 1, 2]) {
      const client = await RawClient.connect(g.url);
      const ready = await client.ready({ shard: [shard, 3] });
      expect(ready).toMatchObject({ v: 10, shard: [shard, 3], resume_gateway_url: g.resumeUrl, user: { bot: true } });
      expect(ready.resume_gateway_url).not.toBe(g.url);
      const owned = g.world.guildIds.filter((id) => shardOf(id, 3) === shard);
      expect(ready.guilds.map((guild) => guild.id).sort()).toEqual([...owned].sort());
      const creates = [];
      for (let i = 0; i < owned.length; i++) creates.push(await client.nextOp(0));
      expect(creates.map((p) => p.t)).toEqual(owned.map(() => 'GUILD_CREATE'));
      expect(creates.map((p) => p.s)).toEqual(owned.map((_, i) => i + 2));
      expect(creates.map((p) => (p.d as { id: string }).id).sort()).toEqual([...owned].sort());
    }
  });

  it('does not send the shard field in READY when IDENTIFY had none', async () => {
    const g = await start();
    const ready = await (await RawClient.connect(g.url)).ready();
    expect(ready).not.toHaveProperty('shard');
  });
});

describe('resume', () => {
  it('replays the missed dispatches in order on the resume url, then RESUMED', async () => {
    const g = await start({ guilds: 4, identifyInterval: 0 });
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    const seen = ready.guilds.length + 1;
    const guildId = g.world.guildIds[0]!;
    for (let i = 1; i < seen; i++) await first.nextOp(0);
    first.terminate();
    await g.log.waitFor((e) => e.type === 'close');
    const sent = [1, 2, 3].map((n) => g.dispatch(0, 'MESSAGE_CREATE', { id: String(n), guild_id: guildId, content: `m${n}` })[0]);
    expect(sent).toEqual([seen + 1, seen + 2, seen + 3]);
    const second = await resume(ready.resume_gateway_url, ready.session_id, seen);
    const replay = [await second.nextOp(0), await second.nextOp(0), await second.nextOp(0), await second.nextOp(0)];
    expect(replay.map((p) => [p.s, p.t])).toEqual([
      [seen + 1, 'MESSAGE_CREATE'],
      [seen + 2, 'MESSAGE_CREATE'],
      [seen + 3, 'MESSAGE_CREATE'],
      [seen + 4, 'RESUMED'],
    ]);
    expect((replay[0]!.d as { content: string }).content).toBe('m1');
    const resumeEntry = g.log.ofType('resume')[0]!;
    expect(resumeEntry).toMatchObject({ session: ready.session_id, sequence: seen, replayed: 3 });
    const connect = g.log.ofType('connect').find((e) => e.connection === resumeEntry.connection);
    expect(connect?.path).toBe('resume');
    expect(g.log.ofType('identify')).toHaveLength(1);
    // a later dispatch flows on the resumed connection
    g.dispatch(0, 'MESSAGE_CREATE', { id: '4', guild_id: guildId, content: 'm4' });
    expect((await second.nextOp(0)).s).toBe(seen + 5);
  });

  it('replays from any earlier sequence, including 0', async () => {
    const g = await start({ guilds: 3, identifyInterval: 0 });
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    first.terminate();
    await g.log.waitFor((e) => e.type === 'close');
    const total = g.sessions()[0]!.sequence;
    const again = await resume(g.resumeUrl, ready.session_id, 0);
    const got = [];
    for (let i = 0; i <= total; i++) got.push((await again.nextOp(0)).s);
    expect(got).toEqual(Array.from({ length: total + 1 }, (_, i) => i + 1));
  });

  it('answers an unknown session with op 9 false', async () => {
    const g = await start();
    const client = await resume(g.url, 'f'.repeat(32), 0);
    expect(await client.nextOp(9)).toMatchObject({ d: false });
    expect(g.log.ofType('resume-rejected')).toMatchObject([{ reason: 'unknown-session' }]);
  });

  it('answers an expired session with op 9 false', async () => {
    const g = await start({ sessionTimeout: 100 });
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    first.terminate();
    await g.log.waitFor((e) => e.type === 'close');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const client = await resume(g.resumeUrl, ready.session_id, 1);
    expect(await client.nextOp(9)).toMatchObject({ d: false });
    expect(g.log.ofType('resume-rejected')).toMatchObject([{ reason: 'expired' }]);
  });

  it('closes 4007 for a sequence ahead of the server and ends the session', async () => {
    const g = await start();
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    first.terminate();
    await g.log.waitFor((e) => e.type === 'close');
    const ahead = await resume(g.resumeUrl, ready.session_id, 1_000);
    expect((await ahead.closed()).code).toBe(4007);
    const retry = await resume(g.resumeUrl, ready.session_id, 1);
    expect((await retry.nextOp(9)).d).toBe(false);
  });

  it('ends the session when the client closes with 1000, keeps it after 4000', async () => {
    const g = await start({ identifyInterval: 0 });
    const normal = await RawClient.connect(g.url);
    const a = await normal.ready();
    normal.close(1000);
    await g.log.waitFor((e) => e.type === 'close' && e.by === 'client');
    expect((await (await resume(g.resumeUrl, a.session_id, 1)).nextOp(9)).d).toBe(false);
    const kept = await RawClient.connect(g.url);
    const b = await kept.ready();
    kept.close(4000);
    await g.log.waitFor((e) => e.type === 'close' && e.by === 'client' && e.code === 4000);
    expect((await (await resume(g.resumeUrl, b.session_id, 1)).nextOp(0)).t).not.toBeNull();
  });

  it('takes the session from a connection that is still open', async () => {
    const g = await start();
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    const second = await resume(g.resumeUrl, ready.session_id, 1);
    expect((await second.nextOp(0, 'RESUMED')).t).toBe('RESUMED');
    expect((await first.closed()).code).toBe(1006);
  });

  it('sends op 9 false when the replay needs dispatches beyond the replay limit', async () => {
    const g = await start({ replayLimit: 2, guilds: 0 });
    const first = await RawClient.connect(g.url);
    const ready = await first.ready();
    first.terminate();
    await g.log.waitFor((e) => e.type === 'close');
    for (let i = 0; i < 10; i++) g.dispatch(0, 'INTERACTION_CREATE', { id: String(i) });
    const client = await resume(g.resumeUrl, ready.session_id, 1);
    expect((await client.nextOp(9)).d).toBe(false);
    expect(g.log.ofType('resume-rejected')).toMatchObject([{ reason: 'replay-lost' }]);
  });
});
