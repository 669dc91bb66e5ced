// Tests for the simulated world: determinism, shard ownership, payload shapes under intents,
// member requests, traffic filtering and sizes, and the huge GUILD_CREATE.
import { describe, it, expect } from 'vitest';
import { ChannelType, GatewayIntentBits } from 'discord-api-types/v10';
import type {
  APIGuildMember,
  GatewayGuildCreateDispatchData,
  GatewayGuildMembersChunkPresence,
  GatewayMessageCreateDispatchData,
  GatewayVoiceServerUpdateDispatchData,
  GatewayVoiceState,
} from 'discord-api-types/v10';
import { receivesDispatch } from '../../src/intents.js';
import { Random } from '../../src/testing/random.js';
import { World } from '../../src/testing/world.js';
import type { SimulatedDispatch } from '../../src/testing/world.js';

const I = GatewayIntentBits;
const SNOWFLAKE = /^\d{17,20}$/;
const DISCORD_EPOCH = 1_420_070_400_000n;
const ALL = (): boolean => true;

const guildCreate = (world: World, id: string, intents: number, threshold = 50): GatewayGuildCreateDispatchData =>
  world.guildCreate(id, intents, threshold) as GatewayGuildCreateDispatchData;

const shardOf = (id: string, numShards: number): number => Number((BigInt(id) >> 22n) % BigInt(numShards));

function traffic(world: World, count: number, options: { seed?: number; shard?: [number, number]; intents?: number } = {}): SimulatedDispatch[] {
  const { seed = 1, shard = [0, 1], intents } = options;
  const rng = new Random(seed);
  const allowed = intents === undefined ? ALL : (t: string, inGuild: boolean): boolean => receivesDispatch(intents, t, inGuild);
  const messageContent = intents === undefined || (intents & I.MessageContent) !== 0;
  const events: SimulatedDispatch[] = [];
  for (let k = 0; k < count; k++) {
    const event = world.nextDispatch(shard[0], shard[1], rng, allowed, messageContent);
    if (event === null) throw new Error('no event');
    events.push(event);
  }
  return events;
}

/** The 50,000-member guild the seed-7 world happens to have (member counts are heavy-tailed). */
const world7 = new World({ seed: 7, guilds: 1000 });
const biggest = world7.guildIds.find((id) => guildCreate(world7, id, I.Guilds).member_count === 50_000);

describe('World options', () => {
  it.each([
    { seed: Number.NaN, guilds: 1 },
    { seed: Number.POSITIVE_INFINITY, guilds: 1 },
    { seed: 1, guilds: -1 },
    { seed: 1, guilds: 1.5 },
    { seed: 1, guilds: 100_001 },
  ])('rejects %o with a RangeError', (options) => {
    expect(() => new World(options)).toThrow(RangeError);
  });

  it('accepts the limits 0 and 100,000 guilds', () => {
    expect(new World({ seed: 1, guilds: 0 }).guildIds).toEqual([]);
    const world = new World({ seed: 1, guilds: 100_000 });
    expect(new Set(world.guildIds).size).toBe(100_000);
  });
});

describe('determinism', () => {
  it('builds the same bot, guilds and members from the same seed', () => {
    const a = new World({ seed: 42, guilds: 200 });
    const b = new World({ seed: 42, guilds: 200 });
    expect(b.bot).toEqual(a.bot);
    expect(b.applicationId).toBe(a.applicationId);
    expect(b.guildIds).toEqual(a.guildIds);
    for (const id of a.guildIds.slice(0, 20)) {
      expect(JSON.stringify(b.guildCreate(id, 0xffff, 50))).toBe(JSON.stringify(a.guildCreate(id, 0xffff, 50)));
    }
    const id = a.guildIds[0] ?? '';
    expect(b.members(id, { query: '', limit: 0, presences: true })).toEqual(a.members(id, { query: '', limit: 0, presences: true }));
  });

  it('builds a different world from another seed', () => {
    const a = new World({ seed: 42, guilds: 10 });
    const b = new World({ seed: 43, guilds: 10 });
    expect(b.bot.id).not.toBe(a.bot.id);
    expect(b.guildIds).not.toEqual(a.guildIds);
  });

  it('repeats traffic for the same Random seed, and only then', () => {
    const make = (): World => new World({ seed: 42, guilds: 100 });
    const first = JSON.stringify(traffic(make(), 500, { seed: 9, shard: [1, 2] }));
    expect(JSON.stringify(traffic(make(), 500, { seed: 9, shard: [1, 2] }))).toBe(first);
    expect(JSON.stringify(traffic(make(), 500, { seed: 10, shard: [1, 2] }))).not.toBe(first);
  });

  it('does not change guilds or members while generating traffic', () => {
    const world = new World({ seed: 3, guilds: 20 });
    const before = world.guildIds.map((id) => JSON.stringify(world.guildCreate(id, 0xffff, 50)));
    traffic(world, 2000);
    expect(world.guildIds.map((id) => JSON.stringify(world.guildCreate(id, 0xffff, 50)))).toEqual(before);
  });
});

describe('guilds and shards', () => {
  const world = new World({ seed: 5, guilds: 2000 });

  it('gives guilds unique snowflake ids created between 2015 and now', () => {
    expect(new Set(world.guildIds).size).toBe(2000);
    for (const id of world.guildIds) {
      expect(id).toMatch(SNOWFLAKE);
      const created = Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
      expect(created).toBeGreaterThan(Date.UTC(2015, 0, 1));
      expect(created).toBeLessThan(Date.now());
    }
  });

  it.each([1, 2, 3, 7, 16])('splits the guilds over %i shards by (id >> 22) mod n', (numShards) => {
    const seen: string[] = [];
    for (let shard = 0; shard < numShards; shard++) {
      const owned = world.guildsForShard(shard, numShards);
      expect(owned.length).toBeGreaterThan(2000 / numShards / 2);
      for (const id of owned) expect(shardOf(id, numShards)).toBe(shard);
      seen.push(...owned);
    }
    expect(seen.sort()).toEqual([...world.guildIds].sort());
  });

  it('rejects invalid shards', () => {
    for (const [shard, count] of [[1, 1], [-1, 2], [0, 0], [0.5, 2], [0, 1.5]] as const) {
      expect(() => world.guildsForShard(shard, count)).toThrow(RangeError);
      expect(() => world.nextDispatch(shard, count, new Random(1), ALL, true)).toThrow(RangeError);
    }
  });

  it('knows its guilds', () => {
    expect(world.hasGuild(world.guildIds[0] ?? '')).toBe(true);
    expect(world.hasGuild('1')).toBe(false);
    expect(() => world.guildCreate('1', 0, 50)).toThrow(RangeError);
  });

  it('draws heavy-tailed member counts and realistic structure', () => {
    const guilds = world.guildIds.slice(0, 1000).map((id) => guildCreate(world, id, I.Guilds));
    const counts = guilds.map((g) => g.member_count);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...counts)).toBe(50_000);
    expect(counts.filter((n) => n <= 500).length / counts.length).toBeGreaterThan(0.85);
    expect(counts.filter((n) => n > 5000).length).toBeGreaterThan(0);
    for (const g of guilds) {
      const ofType = (type: ChannelType): number => g.channels.filter((c) => c.type === type).length;
      expect(ofType(ChannelType.GuildText)).toBeGreaterThanOrEqual(3);
      expect(ofType(ChannelType.GuildText)).toBeLessThanOrEqual(40);
      expect(ofType(ChannelType.GuildVoice)).toBeGreaterThanOrEqual(1);
      expect(ofType(ChannelType.GuildVoice)).toBeLessThanOrEqual(8);
      expect([1, 2]).toContain(ofType(ChannelType.GuildCategory));
      expect(g.roles.length).toBeGreaterThanOrEqual(2);
      expect(g.roles.length).toBeLessThanOrEqual(30);
      expect(g.roles[0]?.id).toBe(g.id); // @everyone
      expect(new Set([...g.channels, ...g.roles].map((x) => x.id)).size).toBe(g.channels.length + g.roles.length);
    }
  });
});

describe('guildCreate', () => {
  const world = new World({ seed: 11, guilds: 300 });
  const ids = world.guildIds.filter((id) => guildCreate(world, id, I.Guilds).member_count > 150);
  const id = ids[0] ?? '';

  it('lists only the bot without GUILD_PRESENCES', () => {
    const d = guildCreate(world, id, I.Guilds | I.GuildMessages);
    expect(d.members.map((m) => m.user.id)).toEqual([world.bot.id]);
    expect(d.members[0]?.user.bot).toBe(true);
    expect(d.presences).toEqual([]);
    expect(d.voice_states).toEqual([]);
    expect(d.id).toBe(id);
    expect(d.unavailable).toBe(false);
    expect(Number.isNaN(Date.parse(d.joined_at))).toBe(false);
  });

  it('lists the first 100 members and the online presences with GUILD_PRESENCES', () => {
    const d = guildCreate(world, id, I.Guilds | I.GuildPresences);
    expect(d.members).toHaveLength(100);
    expect(new Set(d.members.map((m) => m.user.id)).size).toBe(100);
    const memberIds = new Set(d.members.map((m) => m.user.id));
    expect(d.presences.length).toBeGreaterThan(10);
    expect(d.presences.length).toBeLessThan(100);
    for (const p of d.presences) {
      expect(memberIds.has(p.user.id)).toBe(true);
      expect(p.status).not.toBe('offline');
      expect(p.guild_id).toBe(id);
    }
  });

  it('lists small guilds whole', () => {
    const small = world.guildIds.find((g) => guildCreate(world, g, I.Guilds).member_count < 20) ?? '';
    const d = guildCreate(world, small, I.Guilds | I.GuildPresences);
    expect(d.members).toHaveLength(d.member_count);
  });

  it('adds voice states and the members in voice with GUILD_VOICE_STATES', () => {
    const withVoice = ids.map((g) => guildCreate(world, g, I.Guilds | I.GuildVoiceStates)).filter((d) => d.voice_states.length > 0);
    expect(withVoice.length).toBeGreaterThan(0);
    for (const d of withVoice) {
      const voiceIds = new Set(d.channels.filter((c) => c.type === ChannelType.GuildVoice).map((c) => c.id));
      const memberIds = new Set(d.members.map((m) => m.user.id));
      for (const state of d.voice_states) {
        expect(voiceIds.has(state.channel_id ?? '')).toBe(true);
        expect(memberIds.has(state.user_id)).toBe(true);
      }
      expect(d.presences).toEqual([]);
    }
  });

  it('sets large by the threshold', () => {
    const d = guildCreate(world, id, I.Guilds, 50);
    expect(d.large).toBe(true);
    expect(guildCreate(world, id, I.Guilds, d.member_count).large).toBe(false);
  });
});

describe('members', () => {
  it('returns all 50,000 members of a big guild for query "" with limit 0, in chunks of 1000', () => {
    expect(biggest).toBeDefined();
    const { members, notFound, presences } = world7.members(biggest ?? '', { query: '', limit: 0 });
    expect(members).toHaveLength(50_000);
    expect(notFound).toEqual([]);
    expect(presences).toEqual([]);
    expect(new Set(members.map((m) => m.user.id)).size).toBe(50_000);
    const chunks: APIGuildMember[][] = [];
    for (let k = 0; k < members.length; k += 1000) chunks.push(members.slice(k, k + 1000));
    expect(chunks).toHaveLength(50);
    expect(members[0]?.user.id).toBe(world7.bot.id);
  });

  it('agrees with the members a GUILD_CREATE lists', () => {
    const id = biggest ?? '';
    const listed = guildCreate(world7, id, I.Guilds | I.GuildPresences).members;
    expect(world7.members(id, { query: '', limit: 100 }).members).toEqual(listed);
  });

  it('finds members by username prefix, case-insensitively, up to the limit', () => {
    const id = biggest ?? '';
    const { members } = world7.members(id, { query: 'SIL', limit: 30 });
    expect(members).toHaveLength(30);
    for (const m of members) expect(m.user.username.startsWith('sil')).toBe(true);
    expect(world7.members(id, { query: 'sil', limit: 1000 }).members).toHaveLength(100);
    expect(world7.members(id, { query: '', limit: 1000 }).members).toHaveLength(100);
    expect(world7.members(id, { query: 'zzz', limit: 10 }).members).toEqual([]);
  });

  it('finds members by id and reports the unknown ones', () => {
    const id = biggest ?? '';
    const known = world7.members(id, { query: '', limit: 5 }).members.map((m) => m.user.id);
    const strangers = ['123', '1300000000000000000', 'not-an-id'];
    const { members, notFound } = world7.members(id, { userIds: [...known, ...strangers] });
    expect(members.map((m) => m.user.id)).toEqual(known);
    expect(notFound).toEqual(strangers);
    const many = world7.members(id, { query: '', limit: 0 }).members.slice(0, 150).map((m) => m.user.id);
    expect(world7.members(id, { userIds: many }).members).toHaveLength(100);
  });

  it('returns presences of the members who are not offline', () => {
    const id = biggest ?? '';
    const { members, presences } = world7.members(id, { query: '', limit: 100, presences: true });
    const ids = new Set(members.map((m) => m.user.id));
    expect(presences.length).toBeGreaterThan(0);
    for (const p of presences as GatewayGuildMembersChunkPresence[]) {
      expect(ids.has(p.user.id)).toBe(true);
      expect(p.status).not.toBe('offline');
    }
  });

  it('rejects unknown guilds and bad limits', () => {
    expect(() => world7.members('1', { query: '' })).toThrow(RangeError);
    expect(() => world7.members(biggest ?? '', { query: '', limit: -1 })).toThrow(RangeError);
  });
});

describe('nextDispatch', () => {
  const world = new World({ seed: 21, guilds: 500 });

  it('produces only the events `allowed` accepts', () => {
    const rng = new Random(1);
    const onlyTyping = (t: string): boolean => t === 'TYPING_START';
    for (let k = 0; k < 300; k++) expect(world.nextDispatch(1, 2, rng, onlyTyping, true)?.t).toBe('TYPING_START');
    expect(world.nextDispatch(0, 2, rng, () => false, true)).toBeNull();
  });

  it('follows intents: GUILDS | GUILD_MESSAGES gives messages, interactions and GUILD_CREATE only', () => {
    const kinds = new Set(traffic(world, 3000, { intents: I.Guilds | I.GuildMessages, shard: [1, 3] }).map((e) => e.t));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['INTERACTION_CREATE', 'MESSAGE_CREATE']));
    for (const t of kinds) expect(['CHANNEL_UPDATE', 'GUILD_CREATE', 'INTERACTION_CREATE', 'MESSAGE_CREATE', 'MESSAGE_DELETE', 'MESSAGE_UPDATE']).toContain(t);
  });

  it('sends events of the shard\'s own guilds, and DMs only to shard 0', () => {
    for (const [shard, count] of [[0, 3], [2, 3]] as const) {
      const events = traffic(world, 2000, { shard: [shard, count] });
      for (const e of events) if (e.guildId !== null) expect(shardOf(e.guildId, count)).toBe(shard);
      const dms = events.filter((e) => e.guildId === null);
      if (shard === 0) expect(dms.length).toBeGreaterThan(0);
      else expect(dms).toEqual([]);
    }
  });

  it('mixes events roughly by the documented weights', () => {
    const events = traffic(world, 20_000, { shard: [1, 2] });
    const share = (t: string): number => events.filter((e) => e.t === t).length / events.length;
    expect(share('MESSAGE_CREATE')).toBeCloseTo(0.35, 1);
    expect(share('PRESENCE_UPDATE')).toBeCloseTo(0.22, 1);
    expect(share('TYPING_START')).toBeCloseTo(0.14, 1);
    expect(share('GUILD_MEMBER_ADD')).toBeGreaterThan(0);
  });

  it('returns null on a shard without guilds, except for DMs on shard 0', () => {
    const empty = new World({ seed: 1, guilds: 0 });
    expect(empty.nextDispatch(1, 2, new Random(1), ALL, true)).toBeNull();
    const dm = empty.nextDispatch(0, 2, new Random(1), ALL, false);
    expect(dm?.guildId).toBeNull();
    expect(dm?.t).toBe('MESSAGE_CREATE');
    expect((dm?.d as GatewayMessageCreateDispatchData).content).not.toBe('');
    expect(empty.nextDispatch(0, 2, new Random(1), (_t, inGuild) => inGuild, true)).toBeNull();
  });

  it('hides message content without MESSAGE_CONTENT, except in DMs and bot mentions', () => {
    const messages = traffic(world, 5000, { intents: I.Guilds | I.GuildMessages | I.DirectMessages })
      .filter((e) => e.t === 'MESSAGE_CREATE' || e.t === 'MESSAGE_UPDATE');
    let mentions = 0;
    let dms = 0;
    for (const { d, guildId } of messages) {
      const message = d as GatewayMessageCreateDispatchData;
      const visible = guildId === null || message.mentions.some((u) => u.id === world.bot.id);
      if (visible) {
        expect(message.content).not.toBe('');
        if (guildId === null) dms++;
        else mentions++;
      } else {
        expect(message.content).toBe('');
        expect(message.embeds).toEqual([]);
        expect(message.attachments).toEqual([]);
        expect(message.components).toEqual([]);
      }
      if (message.referenced_message) expect(message.referenced_message.content).toBe('');
    }
    expect(mentions).toBeGreaterThan(0);
    expect(dms).toBeGreaterThan(0);
  });

  it('keeps content, embeds and attachments with MESSAGE_CONTENT', () => {
    const messages = traffic(world, 3000).filter((e) => e.t === 'MESSAGE_CREATE').map((e) => e.d as GatewayMessageCreateDispatchData);
    expect(messages.every((m) => m.content !== '')).toBe(true);
    expect(messages.some((m) => m.embeds.length > 0)).toBe(true);
    expect(messages.some((m) => m.attachments.length > 0)).toBe(true);
    expect(messages.some((m) => m.referenced_message)).toBe(true);
  });

  it('shapes guild messages like Discord', () => {
    const messages = traffic(world, 2000, { shard: [1, 2] }).filter((e) => e.t === 'MESSAGE_CREATE');
    const ids = new Set<string>();
    for (const { d, guildId } of messages) {
      const m = d as GatewayMessageCreateDispatchData;
      expect(m.id).toMatch(SNOWFLAKE);
      expect(m.guild_id).toBe(guildId);
      expect(m.author.id).toMatch(SNOWFLAKE);
      expect(m.member?.roles).toBeInstanceOf(Array);
      expect(new Date(m.timestamp).toISOString()).toBe(m.timestamp);
      expect(m.channel_type).toBe(ChannelType.GuildText);
      ids.add(m.id);
    }
    expect(ids.size).toBe(messages.length);
  });

  it('keeps the mean event size near 1 KB and MESSAGE_CREATE near 1.5-2 KB', () => {
    const events = traffic(world, 5000, { seed: 4 });
    const size = (e: SimulatedDispatch): number => JSON.stringify(e.d).length;
    const mean = events.reduce((sum, e) => sum + size(e), 0) / events.length / 1024;
    const messages = events.filter((e) => e.t === 'MESSAGE_CREATE' && e.guildId !== null);
    const messageMean = messages.reduce((sum, e) => sum + size(e), 0) / messages.length / 1024;
    expect(mean).toBeGreaterThanOrEqual(0.8);
    expect(mean).toBeLessThanOrEqual(2.0);
    expect(messageMean).toBeGreaterThanOrEqual(1.4);
    expect(messageMean).toBeLessThanOrEqual(2.1);
  });
});

describe('hugeGuildCreate', () => {
  it('builds a GUILD_CREATE of at least 5 MB for a new guild of the shard', () => {
    const world = new World({ seed: 8, guilds: 50 });
    const before = world.guildsForShard(2, 4).length;
    const minBytes = 5 * 1024 * 1024;
    const { guildId, d } = world.hugeGuildCreate(2, 4, minBytes);
    const json = JSON.stringify(d);
    expect(json.length).toBeGreaterThanOrEqual(minBytes);
    expect(json.length).toBeLessThan(minBytes * 1.01);
    expect(shardOf(guildId, 4)).toBe(2);
    expect(world.hasGuild(guildId)).toBe(true);
    expect(world.guildIds).toContain(guildId);
    expect(world.guildsForShard(2, 4)).toHaveLength(before + 1);
    const guild = d as GatewayGuildCreateDispatchData;
    expect(guild.id).toBe(guildId);
    expect(guild.member_count).toBe(guild.members.length);
    expect(guild.channels.length).toBeGreaterThan(40);
    expect(guild.roles).toHaveLength(30);
    const someone = guild.members[1234]?.user.id ?? '';
    expect(world.members(guildId, { userIds: [someone] }).members[0]?.user.id).toBe(someone);
  });

  it('is deterministic and rejects bad arguments', () => {
    const a = new World({ seed: 8, guilds: 5 }).hugeGuildCreate(0, 1, 100_000);
    const b = new World({ seed: 8, guilds: 5 }).hugeGuildCreate(0, 1, 100_000);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const world = new World({ seed: 8, guilds: 5 });
    expect(() => world.hugeGuildCreate(1, 1, 100)).toThrow(RangeError);
    expect(() => world.hugeGuildCreate(0, 1, -1)).toThrow(RangeError);
  });
});

describe('voice, soundboard and channel info', () => {
  const world = new World({ seed: 13, guilds: 50 });
  const id = world.guildIds[0] ?? '';
  const d = guildCreate(world, id, I.Guilds);
  const voice = d.channels.find((c) => c.type === ChannelType.GuildVoice)?.id ?? '';
  const text = d.channels.find((c) => c.type === ChannelType.GuildText)?.id ?? '';

  it('answers a voice join with the bot\'s voice state and a voice server', () => {
    const { voiceState, voiceServer } = world.botVoiceState(id, voice, true, false, 'session-1');
    const state = voiceState as GatewayVoiceState;
    expect(state).toMatchObject({ guild_id: id, channel_id: voice, user_id: world.bot.id, session_id: 'session-1', self_mute: true, self_deaf: false });
    expect(state.member?.user.id).toBe(world.bot.id);
    const server = voiceServer as GatewayVoiceServerUpdateDispatchData;
    expect(server.guild_id).toBe(id);
    expect(server.token).toMatch(/^[0-9a-f]{16}$/);
    expect(server.endpoint).toMatch(/\.discord\.media:443$/);
  });

  it('answers a voice leave without a voice server', () => {
    const { voiceState, voiceServer } = world.botVoiceState(id, null, false, false, 'session-1');
    expect((voiceState as GatewayVoiceState).channel_id).toBeNull();
    expect(voiceServer).toBeNull();
  });

  it('rejects non-voice channels and unknown guilds', () => {
    expect(() => world.botVoiceState(id, text, false, false, 's')).toThrow(RangeError);
    expect(() => world.botVoiceState('1', null, false, false, 's')).toThrow(RangeError);
  });

  it('lists soundboard sounds like the GUILD_CREATE does', () => {
    expect(world.soundboardSounds(id)).toEqual({ soundboard_sounds: d.soundboard_sounds, guild_id: id });
    expect(() => world.soundboardSounds('1')).toThrow(RangeError);
  });

  it('gives channel info for voice channels with only the requested fields', () => {
    const voiceIds = d.channels.filter((c) => c.type === ChannelType.GuildVoice).map((c) => c.id);
    const both = world.channelInfo(id, ['status', 'voice_start_time']) as { guild_id: string; channels: Record<string, unknown>[] };
    expect(both.guild_id).toBe(id);
    expect(both.channels.map((c) => c.id)).toEqual(voiceIds);
    for (const c of both.channels) expect(Object.keys(c).sort()).toEqual(['id', 'status', 'voice_start_time']);
    const status = world.channelInfo(id, ['status']) as { channels: Record<string, unknown>[] };
    for (const c of status.channels) expect(Object.keys(c).sort()).toEqual(['id', 'status']);
    expect(() => world.channelInfo('1', [])).toThrow(RangeError);
  });
});
