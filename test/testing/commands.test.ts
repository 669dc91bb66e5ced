// Every client send command (protocol.md section 10) against a real connection to the simulator.
import { describe, expect, it } from 'vitest';
import type { FakeGateway } from '../../src/testing/index.js';
import { startGateway } from '../support/gateway.js';
import { RawClient } from '../support/raw-client.js';
import type { Payload } from '../support/raw-client.js';

const GUILDS = 1;
const GUILD_MEMBERS = 2;
const GUILD_VOICE_STATES = 128;
const GUILD_VOICE_CHANNEL = 2;

const start = startGateway({ identifyInterval: 0 });

interface Member {
  user: { id: string; username: string };
}
interface GuildCreate {
  id: string;
  member_count: number;
  large: boolean;
  channels: { id: string; type: number }[];
  soundboard_sounds: unknown[];
}
interface Chunk {
  guild_id: string;
  members: Member[];
  chunk_index: number;
  chunk_count: number;
  not_found?: string[];
  nonce?: string;
}

/** Connects, identifies and reads READY plus one GUILD_CREATE per guild READY listed. */
async function connect(g: FakeGateway, fields: Record<string, unknown> = {}) {
  const client = await RawClient.connect(g.url);
  const ready = await client.ready(fields);
  const guilds: GuildCreate[] = [];
  for (let k = 0; k < ready.guilds.length; k++) guilds.push((await client.nextOp(0, 'GUILD_CREATE')).d as GuildCreate);
  return { client, ready: ready as typeof ready & { user: { id: string } }, guilds };
}

/**
 * Heartbeats and returns the dispatches that arrive before the ACK. The simulator answers
 * commands synchronously and writes in order, so the ACK comes after every reply.
 */
async function repliesUntilAck(client: RawClient): Promise<Payload[]> {
  client.send({ op: 1, d: null });
  const replies: Payload[] = [];
  await client.until((item) => {
    if (item.kind !== 'payload') return false;
    if (item.payload.op === 0) replies.push(item.payload);
    return item.payload.op === 11;
  });
  return replies;
}

/** The smallest guild over 2000 members: a full list of it spans several chunks. */
function largeGuild(guilds: GuildCreate[]): GuildCreate {
  const large = guilds.filter((guild) => guild.member_count > 2000).sort((a, b) => a.member_count - b.member_count)[0];
  if (large === undefined) throw new Error(`no guild over 2000 members among ${guilds.map((guild) => guild.member_count).join(', ')}`);
  return large;
}

function voiceChannel(guilds: GuildCreate[]): { guild: GuildCreate; channelId: string } {
  for (const guild of guilds) {
    const channel = guild.channels.find((c) => c.type === GUILD_VOICE_CHANNEL);
    if (channel) return { guild, channelId: channel.id };
  }
  throw new Error('no voice channel in any guild');
}

describe('presence update (op 3)', () => {
  it('records the presence the client sets, replacing the previous one', async () => {
    const g = await start();
    const { client } = await connect(g);
    const first = { since: null, activities: [{ name: 'the tests', type: 0 }], status: 'dnd', afk: false };
    client.send({ op: 3, d: first });
    await repliesUntilAck(client);
    expect(g.sessions()).toHaveLength(1);
    expect(g.sessions()[0]?.presence).toEqual(first);
    const second = { since: 1_700_000_000_000, activities: [{ name: 'Custom Status', state: 'away', type: 4 }], status: 'idle', afk: true };
    client.send({ op: 3, d: second });
    await repliesUntilAck(client);
    expect(g.sessions()[0]?.presence).toEqual(second);
  });

  it('records the presence given in IDENTIFY', async () => {
    const g = await start();
    const presence = { since: null, activities: [{ name: 'at startup', type: 2 }], status: 'online', afk: false };
    await connect(g, { presence });
    expect(g.sessions()[0]?.presence).toEqual(presence);
  });

  it('has no presence without one in IDENTIFY or op 3', async () => {
    const g = await start();
    await connect(g);
    expect(g.sessions()[0]?.presence).toBeNull();
  });

  it('closes 4001 for a malformed presence', async () => {
    const g = await start();
    const valid = { since: null, activities: [], status: 'online', afk: false };
    const malformed: unknown[] = [
      null,
      { ...valid, status: 'busy' },
      { ...valid, status: undefined },
      { ...valid, afk: undefined },
      { ...valid, afk: 'no' },
      { ...valid, activities: 'none' },
      { ...valid, since: 'yesterday' },
    ];
    for (const d of malformed) {
      const { client } = await connect(g);
      client.send({ op: 3, d });
      expect((await client.closed()).code, JSON.stringify(d)).toBe(4001);
    }
  });
});

describe('voice state (op 4)', () => {
  it('joining gives VOICE_STATE_UPDATE then VOICE_SERVER_UPDATE with GUILD_VOICE_STATES; leaving only VOICE_STATE_UPDATE', async () => {
    const g = await start({ guilds: 10 });
    const { client, ready, guilds } = await connect(g, { intents: GUILDS | GUILD_VOICE_STATES });
    const { guild, channelId } = voiceChannel(guilds);

    client.send({ op: 4, d: { guild_id: guild.id, channel_id: channelId, self_mute: true, self_deaf: false } });
    const joined = await repliesUntilAck(client);
    expect(joined.map((p) => p.t)).toEqual(['VOICE_STATE_UPDATE', 'VOICE_SERVER_UPDATE']);
    expect(joined[0]?.d).toMatchObject({
      guild_id: guild.id,
      channel_id: channelId,
      user_id: ready.user.id,
      session_id: ready.session_id,
      self_mute: true,
      self_deaf: false,
    });
    const server = joined[1]?.d as { token: string; guild_id: string; endpoint: string };
    expect(server.guild_id).toBe(guild.id);
    expect(server.token).toMatch(/^\S+$/);
    expect(server.endpoint).toMatch(/^\S+$/);

    client.send({ op: 4, d: { guild_id: guild.id, channel_id: null, self_mute: false, self_deaf: false } });
    const left = await repliesUntilAck(client);
    expect(left.map((p) => p.t)).toEqual(['VOICE_STATE_UPDATE']);
    expect(left[0]?.d).toMatchObject({ guild_id: guild.id, channel_id: null, user_id: ready.user.id, session_id: ready.session_id });
  });

  it('without GUILD_VOICE_STATES joining gives only VOICE_SERVER_UPDATE and leaving nothing', async () => {
    const g = await start({ guilds: 10 });
    const { client, guilds } = await connect(g, { intents: GUILDS });
    const { guild, channelId } = voiceChannel(guilds);

    client.send({ op: 4, d: { guild_id: guild.id, channel_id: channelId, self_mute: false, self_deaf: true } });
    const joined = await repliesUntilAck(client);
    expect(joined.map((p) => p.t)).toEqual(['VOICE_SERVER_UPDATE']);
    expect(joined[0]?.d).toMatchObject({ guild_id: guild.id, token: expect.any(String), endpoint: expect.any(String) });

    client.send({ op: 4, d: { guild_id: guild.id, channel_id: null, self_mute: false, self_deaf: false } });
    expect(await repliesUntilAck(client)).toEqual([]);
  });

  it('ignores a guild that is not on the shard and closes 4001 for a malformed voice state', async () => {
    const g = await start({ guilds: 20, shards: 2 });
    const mine = await connect(g, { intents: GUILDS | GUILD_VOICE_STATES, shard: [0, 2] });
    const theirs = await connect(g, { intents: GUILDS | GUILD_VOICE_STATES, shard: [1, 2] });
    const { guild, channelId } = voiceChannel(theirs.guilds);
    mine.client.send({ op: 4, d: { guild_id: guild.id, channel_id: channelId, self_mute: false, self_deaf: false } });
    expect(await repliesUntilAck(mine.client)).toEqual([]);

    mine.client.send({ op: 4, d: { guild_id: guild.id, channel_id: channelId } });
    expect((await mine.client.closed()).code).toBe(4001);
  });
});

describe('request guild members (op 8)', () => {
  // Seed 7 with 40 guilds has several guilds of thousands of members on one shard.
  const world = { seed: 7, guilds: 40 } as const;

  it('by query: at most `limit` (and never over 100) members whose usernames start with it, nonce echoed', async () => {
    const g = await start(world);
    const { client, guilds } = await connect(g, { intents: GUILDS | GUILD_MEMBERS });
    const guild = largeGuild(guilds);

    client.send({ op: 8, d: { guild_id: guild.id, query: 's', limit: 100, nonce: 'query-1' } });
    const [chunk] = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(chunk).toMatchObject({ guild_id: guild.id, chunk_index: 0, chunk_count: 1, nonce: 'query-1' });
    expect(chunk?.members.length).toBeGreaterThan(0);
    expect(chunk?.members.length).toBeLessThanOrEqual(100);
    for (const member of chunk?.members ?? []) expect(member.user.username.toLowerCase().startsWith('s')).toBe(true);

    client.send({ op: 8, d: { guild_id: guild.id, query: 's', limit: 7 } });
    const small = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(small).toHaveLength(1);
    expect(small[0]?.members.length).toBeLessThanOrEqual(7);
    expect(small[0]?.members.length).toBeGreaterThan(0);
    expect(small[0]).not.toHaveProperty('nonce');

    client.send({ op: 8, d: { guild_id: guild.id, query: 's', limit: 5000 } });
    const capped = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(capped).toHaveLength(1);
    expect(capped[0]?.members.length).toBeLessThanOrEqual(100);

    client.send({ op: 8, d: { guild_id: guild.id, query: 'zzzz-nobody', limit: 10 } });
    const none = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(none).toEqual([{ guild_id: guild.id, members: [], chunk_index: 0, chunk_count: 1 }]);
  });

  it('by user_ids: the members found, the rest in not_found; a nonce over 32 bytes is ignored', async () => {
    const g = await start(world);
    const { client, guilds } = await connect(g, { intents: GUILDS | GUILD_MEMBERS });
    const guild = largeGuild(guilds);
    client.send({ op: 8, d: { guild_id: guild.id, query: 'b', limit: 3 } });
    const known = ((await repliesUntilAck(client))[0]?.d as Chunk).members.map((member) => member.user.id);
    expect(known).toHaveLength(3);
    const unknown = '123456789012345678';

    const nonce32 = 'n'.repeat(32);
    client.send({ op: 8, d: { guild_id: guild.id, user_ids: [...known, unknown], nonce: nonce32 } });
    const [chunk] = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(chunk).toMatchObject({ guild_id: guild.id, chunk_index: 0, chunk_count: 1, not_found: [unknown], nonce: nonce32 });
    expect(chunk?.members.map((member) => member.user.id).sort()).toEqual([...known].sort());

    client.send({ op: 8, d: { guild_id: guild.id, user_ids: known[0], nonce: 'n'.repeat(33) } });
    const single = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(single).toHaveLength(1);
    expect(single[0]?.members.map((member) => member.user.id)).toEqual([known[0]]);
    expect(single[0]).not.toHaveProperty('nonce');
    expect(single[0]).not.toHaveProperty('not_found');

    // 32 bytes is the limit in bytes, not characters: 11 three-byte characters are 33 bytes.
    client.send({ op: 8, d: { guild_id: guild.id, user_ids: [unknown], nonce: '€'.repeat(11) } });
    const [multibyte] = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(multibyte).toMatchObject({ members: [], not_found: [unknown] });
    expect(multibyte).not.toHaveProperty('nonce');
  });

  it('sends presences of the requested members only with GUILD_PRESENCES; without it presences is ignored', async () => {
    const GUILD_PRESENCES = 256;
    for (const intents of [GUILDS | GUILD_MEMBERS | GUILD_PRESENCES, GUILDS | GUILD_MEMBERS]) {
      const g = await start(world);
      const { client, guilds } = await connect(g, { intents });
      const guild = largeGuild(guilds);
      client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 50, presences: true } });
      const [chunk] = (await repliesUntilAck(client)).map((p) => p.d as Chunk & { presences?: { user: { id: string } }[] });
      expect(chunk?.members).toHaveLength(50);
      if (intents & GUILD_PRESENCES) {
        const memberIds = new Set(chunk?.members.map((member) => member.user.id));
        expect(chunk?.presences?.length).toBeGreaterThan(0);
        expect(chunk?.presences?.every((presence) => memberIds.has(presence.user.id))).toBe(true);
      } else {
        expect(chunk).not.toHaveProperty('presences');
        expect(client.received.some((item) => item.kind === 'close')).toBe(false);
      }
      await g.close();
    }
  });

  it('the full list comes in chunks of at most 1000 adding up to member_count; a second one within 30 s is RATE_LIMITED', async () => {
    const g = await start(world);
    const { client, guilds } = await connect(g, { intents: GUILDS | GUILD_MEMBERS });
    const guild = largeGuild(guilds);
    expect(guild.large).toBe(true);

    client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'everyone' } });
    const chunks = (await repliesUntilAck(client)).map((p) => {
      expect(p.t).toBe('GUILD_MEMBERS_CHUNK');
      return p.d as Chunk;
    });
    expect(chunks.length).toBe(Math.ceil(guild.member_count / 1000));
    const ids = new Set<string>();
    chunks.forEach((chunk, position) => {
      expect(chunk).toMatchObject({ guild_id: guild.id, chunk_index: position, chunk_count: chunks.length, nonce: 'everyone' });
      expect(chunk.chunk_index).toBeGreaterThanOrEqual(0);
      expect(chunk.chunk_index).toBeLessThan(chunk.chunk_count);
      expect(chunk.members.length).toBeLessThanOrEqual(1000);
      for (const member of chunk.members) ids.add(member.user.id);
    });
    const total = chunks.reduce((sum, chunk) => sum + chunk.members.length, 0);
    expect(total).toBe(guild.member_count);
    expect(ids.size).toBe(total);

    client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'again' } });
    const limited = await repliesUntilAck(client);
    expect(limited.map((p) => p.t)).toEqual(['RATE_LIMITED']);
    const d = limited[0]?.d as { opcode: number; retry_after: number; meta: { guild_id: string; nonce?: string } };
    expect(d).toEqual({ opcode: 8, retry_after: expect.any(Number), meta: { guild_id: guild.id, nonce: 'again' } });
    expect(d.retry_after).toBeGreaterThan(0);
    expect(d.retry_after).toBeLessThanOrEqual(30);

    // The limit is on full lists of that guild only: queries and other guilds still answer.
    client.send({ op: 8, d: { guild_id: guild.id, query: 'a', limit: 2 } });
    expect((await repliesUntilAck(client)).map((p) => p.t)).toEqual(['GUILD_MEMBERS_CHUNK']);
    const other = guilds.find((candidate) => candidate.id !== guild.id && candidate.member_count <= 1000) as GuildCreate;
    client.send({ op: 8, d: { guild_id: other.id, query: '', limit: 0 } });
    const otherChunks = (await repliesUntilAck(client)).map((p) => p.d as Chunk);
    expect(otherChunks).toHaveLength(1);
    expect(otherChunks[0]?.members).toHaveLength(other.member_count);
  });

  it('the full-list limit is per bot, not per connection', async () => {
    const g = await start(world);
    const first = await connect(g, { intents: GUILDS | GUILD_MEMBERS });
    const guild = largeGuild(first.guilds);
    first.client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0 } });
    expect((await repliesUntilAck(first.client)).length).toBeGreaterThan(1);
    first.client.close();
    const second = await connect(g, { intents: GUILDS | GUILD_MEMBERS });
    second.client.send({ op: 8, d: { guild_id: guild.id, query: '', limit: 0 } });
    const replies = await repliesUntilAck(second.client);
    expect(replies.map((p) => p.t)).toEqual(['RATE_LIMITED']);
    expect(replies[0]?.d).toMatchObject({ opcode: 8, meta: { guild_id: guild.id } });
    expect((replies[0]?.d as { meta: object }).meta).not.toHaveProperty('nonce');
  });

  it('the full list without GUILD_MEMBERS closes 4001', async () => {
    const g = await start(world);
    const { client, guilds } = await connect(g, { intents: GUILDS });
    client.send({ op: 8, d: { guild_id: largeGuild(guilds).id, query: '', limit: 0 } });
    expect((await client.closed()).code).toBe(4001);
  });
});

describe('soundboard sounds (op 31) and channel info (op 43)', () => {
  it('answers SOUNDBOARD_SOUNDS once per requested guild the shard owns', async () => {
    const g = await start({ guilds: 20, shards: 2 });
    const mine = await connect(g, { intents: GUILDS, shard: [0, 2] });
    const theirs = await connect(g, { intents: GUILDS, shard: [1, 2] });
    expect(mine.guilds.length).toBeGreaterThanOrEqual(2);
    const [a, b] = mine.guilds as [GuildCreate, GuildCreate];
    const foreign = theirs.guilds[0] as GuildCreate;

    mine.client.send({ op: 31, d: { guild_ids: [a.id, foreign.id, b.id] } });
    const replies = await repliesUntilAck(mine.client);
    expect(replies.map((p) => p.t)).toEqual(['SOUNDBOARD_SOUNDS', 'SOUNDBOARD_SOUNDS']);
    expect(replies.map((p) => p.d)).toEqual([
      { guild_id: a.id, soundboard_sounds: a.soundboard_sounds },
      { guild_id: b.id, soundboard_sounds: b.soundboard_sounds },
    ]);

    mine.client.send({ op: 31, d: { guild_ids: 'all' } });
    expect((await mine.client.closed()).code).toBe(4001);
  });

  it('answers CHANNEL_INFO with only the requested fields', async () => {
    const g = await start({ guilds: 10 });
    const { client, guilds } = await connect(g, { intents: GUILDS });
    const { guild } = voiceChannel(guilds);
    const channelIds = new Set(guild.channels.map((channel) => channel.id));
    type Info = { guild_id: string; channels: Record<string, unknown>[] };

    const ask = async (fields: string[]): Promise<Info> => {
      client.send({ op: 43, d: { guild_id: guild.id, fields } });
      const replies = await repliesUntilAck(client);
      expect(replies.map((p) => p.t)).toEqual(['CHANNEL_INFO']);
      const info = replies[0]?.d as Info;
      expect(info.guild_id).toBe(guild.id);
      expect(info.channels.length).toBeGreaterThan(0);
      for (const channel of info.channels) expect(channelIds.has(channel.id as string)).toBe(true);
      return info;
    };

    for (const channel of (await ask(['status'])).channels) expect(Object.keys(channel).sort()).toEqual(['id', 'status']);
    for (const channel of (await ask(['voice_start_time'])).channels) expect(Object.keys(channel).sort()).toEqual(['id', 'voice_start_time']);
    const both = await ask(['status', 'voice_start_time']);
    for (const channel of both.channels) {
      expect(Object.keys(channel).sort()).toEqual(['id', 'status', 'voice_start_time']);
      expect(channel.status === null || typeof channel.status === 'string').toBe(true);
      expect(channel.voice_start_time === null || Number.isInteger(channel.voice_start_time)).toBe(true);
    }
    for (const channel of (await ask([])).channels) expect(Object.keys(channel)).toEqual(['id']);

    client.send({ op: 43, d: { guild_id: guild.id, fields: ['topic'] } });
    expect((await client.closed()).code).toBe(4001);
  });
});

describe('command log', () => {
  it('logs a command entry with op and d for every command', async () => {
    const g = await start({ guilds: 10 });
    const { client, guilds } = await connect(g, { intents: GUILDS | GUILD_MEMBERS | GUILD_VOICE_STATES });
    const { guild, channelId } = voiceChannel(guilds);
    const commands = [
      { op: 3, d: { since: null, activities: [], status: 'invisible', afk: false } },
      { op: 4, d: { guild_id: guild.id, channel_id: channelId, self_mute: false, self_deaf: false } },
      { op: 8, d: { guild_id: guild.id, query: '', limit: 0, nonce: 'log' } },
      { op: 31, d: { guild_ids: [guild.id] } },
      { op: 43, d: { guild_id: guild.id, fields: ['status'] } },
    ];
    for (const command of commands) client.send(command);
    await repliesUntilAck(client);
    const logged = g.log.ofType('command');
    expect(logged.map(({ op, d }) => ({ op, d }))).toEqual(commands);
    for (const entry of logged) expect(entry.shard).toBe(0);
    // heartbeats, IDENTIFY and RESUME are not commands
    expect(logged.some((entry) => entry.op === 1 || entry.op === 2)).toBe(false);
  });
});
