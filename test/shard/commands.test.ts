// Command builders: wire shapes, field-naming validation errors, and the 4096-byte payload cap.
import { ActivityType, GatewayOpcodes, GatewayRequestChannelInfoField, PresenceUpdateStatus } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import {
  MAX_PAYLOAD_BYTES,
  requestChannelInfo,
  requestGuildMembers,
  requestSoundboardSounds,
  serializeCommand,
  updatePresence,
  updateVoiceState,
  type GatewayCommand,
} from '../../src/shard/commands.js';

const GUILD = '41771983423143937';
const CHANNEL = '127121515262115840';
const USER = '80351110224678912';

/** Calls a builder with input its types forbid, as a JavaScript caller could. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loose = <F extends (...args: any[]) => unknown>(builder: F) => builder as unknown as (...args: unknown[]) => unknown;

describe('updatePresence', () => {
  it('builds op 3 with the wire shape', () => {
    const command = updatePresence({
      status: PresenceUpdateStatus.Idle,
      activities: [{ name: 'chess', type: ActivityType.Playing }, { name: 'x', type: ActivityType.Custom, state: 'thinking', url: null }],
      afk: true,
      since: 1_700_000_000_000,
    });
    expect(command).toEqual({
      op: GatewayOpcodes.PresenceUpdate,
      d: {
        since: 1_700_000_000_000,
        activities: [{ name: 'chess', type: 0 }, { name: 'x', type: 4, state: 'thinking', url: null }],
        status: 'idle',
        afk: true,
      },
    });
    expect(JSON.parse(serializeCommand(command))).toEqual({ op: 3, d: command.d });
  });

  it('accepts every status and sends only the fields a bot may set', () => {
    for (const status of ['online', 'dnd', 'idle', 'invisible', 'offline']) {
      expect(updatePresence({ status: status as PresenceUpdateStatus, activities: [], afk: false, since: null }).d.status).toBe(status);
    }
    const activity = { name: 'a', type: 0, details: 'not for bots', created_at: 1 };
    expect(loose(updatePresence)({ status: 'online', activities: [activity], afk: false, since: null })).toEqual({
      op: 3,
      d: { since: null, activities: [{ name: 'a', type: 0 }], status: 'online', afk: false },
    });
  });

  it.each([
    ['status', { status: 'away' }, TypeError],
    ['activities', { activities: 'playing' }, TypeError],
    ['activities[0]', { activities: [null] }, TypeError],
    ['activities[0].name', { activities: [{ type: 0 }] }, TypeError],
    ['activities[1].type', { activities: [{ name: 'a', type: 0 }, { name: 'b', type: 9 }] }, TypeError],
    ['activities[0].state', { activities: [{ name: 'a', type: 4, state: 5 }] }, TypeError],
    ['activities[0].url', { activities: [{ name: 'a', type: 1, url: {} }] }, TypeError],
    ['afk', { afk: 'no' }, TypeError],
    ['since', { since: '5' }, TypeError],
    ['since', { since: -1 }, RangeError],
    ['since', { since: Number.NaN }, RangeError],
  ])('names %s when it is invalid', (field, patch, Kind) => {
    const d = { status: 'online', activities: [], afk: false, since: null, ...patch };
    expect(() => loose(updatePresence)(d)).toThrow(Kind);
    expect(() => loose(updatePresence)(d)).toThrow(`updatePresence: ${field} must be`);
  });

  it('refuses a missing payload', () => {
    expect(() => loose(updatePresence)(undefined)).toThrow(/updatePresence: d must be an object/);
  });
});

describe('updateVoiceState', () => {
  it('builds op 4 in snake_case with false defaults', () => {
    expect(updateVoiceState({ guildId: GUILD, channelId: CHANNEL })).toEqual({
      op: GatewayOpcodes.VoiceStateUpdate,
      d: { guild_id: GUILD, channel_id: CHANNEL, self_mute: false, self_deaf: false },
    });
    expect(updateVoiceState({ guildId: GUILD, channelId: null, selfMute: true, selfDeaf: true }).d).toEqual({
      guild_id: GUILD,
      channel_id: null,
      self_mute: true,
      self_deaf: true,
    });
  });

  it.each([
    ['guildId', { guildId: 123 }, TypeError],
    ['guildId', { guildId: 'abc' }, RangeError],
    ['guildId', { guildId: '1'.repeat(21) }, RangeError],
    ['channelId', { channelId: '' }, RangeError],
    ['channelId', { channelId: undefined }, TypeError],
    ['selfMute', { selfMute: 1 }, TypeError],
    ['selfDeaf', { selfDeaf: 'yes' }, TypeError],
  ])('names %s when it is invalid', (field, patch, Kind) => {
    const d = { guildId: GUILD, channelId: CHANNEL, ...patch };
    expect(() => loose(updateVoiceState)(d)).toThrow(Kind);
    expect(() => loose(updateVoiceState)(d)).toThrow(`updateVoiceState: ${field} must be`);
  });
});

describe('requestGuildMembers', () => {
  it('builds op 8 for a query', () => {
    expect(requestGuildMembers({ guildId: GUILD, query: 'ab', limit: 10, presences: true, nonce: 'n1' })).toEqual({
      op: GatewayOpcodes.RequestGuildMembers,
      d: { guild_id: GUILD, query: 'ab', limit: 10, presences: true, nonce: 'n1' },
    });
  });

  it('builds the full list request', () => {
    expect(requestGuildMembers({ guildId: GUILD, query: '', limit: 0 }).d).toEqual({ guild_id: GUILD, query: '', limit: 0 });
  });

  it('builds op 8 for user ids, one or many', () => {
    expect(requestGuildMembers({ guildId: GUILD, userIds: USER }).d).toEqual({ guild_id: GUILD, user_ids: USER });
    const ids = Array.from({ length: 100 }, (_, i) => String(1_000 + i));
    expect(requestGuildMembers({ guildId: GUILD, userIds: ids, nonce: 'x'.repeat(32) }).d).toEqual({
      guild_id: GUILD,
      user_ids: ids,
      nonce: 'x'.repeat(32),
    });
  });

  it('accepts limits 0 to 100 with a non-empty query', () => {
    expect(requestGuildMembers({ guildId: GUILD, query: 'a', limit: 0 }).d).toMatchObject({ limit: 0 });
    expect(requestGuildMembers({ guildId: GUILD, query: 'a', limit: 100 }).d).toMatchObject({ limit: 100 });
  });

  it('wants exactly one of query and userIds', () => {
    expect(() => requestGuildMembers({ guildId: GUILD })).toThrow(/query or userIds/);
    expect(() => requestGuildMembers({ guildId: GUILD, query: 'a', limit: 1, userIds: USER })).toThrow(/query or userIds/);
  });

  it('requires limit with query and refuses it with userIds', () => {
    expect(() => requestGuildMembers({ guildId: GUILD, query: 'a' })).toThrow(/requestGuildMembers: limit is required/);
    expect(() => requestGuildMembers({ guildId: GUILD, userIds: USER, limit: 5 })).toThrow(/requestGuildMembers: limit is only used/);
  });

  it.each([
    ['guildId', { guildId: 'x' }, RangeError],
    ['query', { query: 5 }, TypeError],
    ['limit', { limit: '5' }, TypeError],
    ['limit', { limit: 101 }, RangeError],
    ['limit', { limit: -1 }, RangeError],
    ['limit', { limit: 1.5 }, RangeError],
    ['presences', { presences: 'true' }, TypeError],
    ['nonce', { nonce: 7 }, TypeError],
    ['nonce', { nonce: 'x'.repeat(33) }, RangeError],
    ['nonce', { nonce: 'é'.repeat(17) }, RangeError], // 17 characters, 34 bytes
  ])('names %s when it is invalid (query form)', (field, patch, Kind) => {
    const d = { guildId: GUILD, query: 'ab', limit: 10, ...patch };
    expect(() => loose(requestGuildMembers)(d)).toThrow(Kind);
    expect(() => loose(requestGuildMembers)(d)).toThrow(`requestGuildMembers: ${field} must be`);
  });

  it('allows a limit above 100 only for the full list', () => {
    expect(requestGuildMembers({ guildId: GUILD, query: '', limit: 1000 }).d).toMatchObject({ limit: 1000 });
    expect(() => requestGuildMembers({ guildId: GUILD, query: '', limit: -1 })).toThrow(/limit must be a non-negative integer/);
  });

  it.each([
    ['userIds', { userIds: 5 }, TypeError, 'must be'],
    ['userIds', { userIds: 'abc' }, RangeError, 'must be'],
    ['userIds', { userIds: [] }, RangeError, 'must hold 1 to 100'],
    ['userIds', { userIds: Array.from({ length: 101 }, (_, i) => String(i + 1)) }, RangeError, 'must hold 1 to 100'],
    ['userIds[1]', { userIds: [USER, 'nope'] }, RangeError, 'must be'],
  ])('names %s when it is invalid (user id form)', (field, patch, Kind, says) => {
    const d = { guildId: GUILD, ...patch };
    expect(() => loose(requestGuildMembers)(d)).toThrow(Kind);
    expect(() => loose(requestGuildMembers)(d)).toThrow(`requestGuildMembers: ${field} ${says}`);
  });
});

describe('requestSoundboardSounds', () => {
  it('builds op 31', () => {
    const ids = [GUILD, '2'];
    const command = requestSoundboardSounds(ids);
    expect(command).toEqual({ op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: [GUILD, '2'] } });
    expect(command.d.guild_ids).not.toBe(ids); // a copy: later edits to the input do not change the command
  });

  it('names guildIds when it is invalid', () => {
    expect(() => requestSoundboardSounds([])).toThrow(RangeError);
    expect(() => requestSoundboardSounds([])).toThrow(/requestSoundboardSounds: guildIds must hold at least one/);
    expect(() => loose(requestSoundboardSounds)(GUILD)).toThrow(/requestSoundboardSounds: guildIds must be an array/);
    expect(() => requestSoundboardSounds([GUILD, 'x'])).toThrow(/requestSoundboardSounds: guildIds\[1\] must be a snowflake/);
  });
});

describe('requestChannelInfo', () => {
  it('builds op 43', () => {
    expect(requestChannelInfo(GUILD, ['status', 'voice_start_time'])).toEqual({
      op: GatewayOpcodes.RequestChannelInfo,
      d: { guild_id: GUILD, fields: ['status', 'voice_start_time'] },
    });
    expect(requestChannelInfo(GUILD, [GatewayRequestChannelInfoField.Status]).d.fields).toEqual(['status']);
  });

  it('names guildId and fields when they are invalid', () => {
    expect(() => requestChannelInfo('g', ['status'])).toThrow(/requestChannelInfo: guildId must be a snowflake/);
    expect(() => requestChannelInfo(GUILD, [])).toThrow(RangeError);
    expect(() => requestChannelInfo(GUILD, [])).toThrow(/requestChannelInfo: fields must hold/);
    expect(() => loose(requestChannelInfo)(GUILD, 'status')).toThrow(/requestChannelInfo: fields must be an array/);
    expect(() => loose(requestChannelInfo)(GUILD, ['status', 'topic'])).toThrow(/requestChannelInfo: fields\[1\] must be one of status, voice_start_time/);
  });
});

describe('serializeCommand', () => {
  /** A soundboard request whose JSON is exactly `bytes` long, padded through one long id. */
  function sized(bytes: number): GatewayCommand {
    const overhead = serializeCommand({ op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: [''] } }).length;
    return { op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: ['1'.repeat(bytes - overhead)] } };
  }

  it('accepts exactly 4096 bytes and refuses 4097, naming the op', () => {
    expect(MAX_PAYLOAD_BYTES).toBe(4096);
    expect(Buffer.byteLength(serializeCommand(sized(4096)))).toBe(4096);
    expect(() => serializeCommand(sized(4097))).toThrow(RangeError);
    expect(() => serializeCommand(sized(4097))).toThrow(/op 31 \(RequestSoundboardSounds\) payload is 4097 bytes/);
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 'é' is 2 bytes: 2100 of them fit in characters but not in bytes
    const presence = updatePresence({ status: PresenceUpdateStatus.Online, activities: [{ name: 'é'.repeat(2100), type: 0 }], afk: false, since: null });
    expect(JSON.stringify(presence).length).toBeLessThan(4096);
    expect(() => serializeCommand(presence)).toThrow(/op 3 \(PresenceUpdate\)/);
  });

  it('writes only op and d', () => {
    const command = { op: GatewayOpcodes.RequestChannelInfo, d: { guild_id: GUILD, fields: ['status'] }, token: 'secret' };
    expect(serializeCommand(command)).toBe(`{"op":43,"d":{"guild_id":"${GUILD}","fields":["status"]}}`);
  });

  it('refuses a command without an integer op', () => {
    expect(() => loose(serializeCommand)({ d: null })).toThrow(/serializeCommand: command.op must be an integer opcode/);
  });
});
