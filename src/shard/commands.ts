/**
 * Typed builders for the commands a bot sends over the gateway (protocol.md section 10),
 * each validated before it leaves so a mistake fails here, with the field's name, rather
 * than as a 4001/4002 close that drops every other command on the connection.
 */
import {
  ActivityType,
  GatewayOpcodes,
  GatewayRequestChannelInfoField,
  PresenceUpdateStatus,
  type GatewayActivityUpdateData,
  type GatewayPresenceUpdateData,
  type GatewayRequestChannelInfoData,
  type GatewayRequestGuildMembersData,
  type GatewayRequestSoundboardSoundsData,
  type GatewayVoiceStateUpdateData,
} from 'discord-api-types/v10';
import { ShardError } from './errors.js';

/**
 * A gateway command: an `{ op, d }` payload ready for {@link serializeCommand}.
 *
 * @example
 * const command: GatewayCommand = updatePresence({ status: 'online', activities: [], afk: false, since: null });
 */
export interface GatewayCommand<Op extends GatewayOpcodes = GatewayOpcodes, D = unknown> {
  /** The gateway opcode (3 presence, 4 voice state, 8 request members, …). */
  readonly op: Op;
  /** The command's data, sent as its JSON. */
  readonly d: D;
}

/**
 * Discord's limit on one client payload, in bytes of JSON; a larger one closes the
 * connection with 4002.
 *
 * @example
 * if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) console.log('too large');
 */
export const MAX_PAYLOAD_BYTES = 4096;

/**
 * The error a send refuses `json` with before anything leaves, or null when it fits.
 * @internal
 */
export function payloadTooLarge(json: string): ShardError | null {
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_PAYLOAD_BYTES) return null;
  return new ShardError('PAYLOAD_TOO_LARGE', `payload of ${bytes} bytes exceeds Discord's ${MAX_PAYLOAD_BYTES} byte limit (the gateway would close with 4002)`);
}

const SNOWFLAKE = /^\d{1,20}$/;
const STATUSES: readonly string[] = Object.values(PresenceUpdateStatus);
const ACTIVITY_TYPES: readonly unknown[] = Object.values(ActivityType).filter((value) => typeof value === 'number');
const CHANNEL_INFO_FIELDS: readonly string[] = Object.values(GatewayRequestChannelInfoField);
const MAX_MEMBERS_PER_REQUEST = 100;
const MAX_NONCE_BYTES = 32;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    default:
      return `a ${typeof value}`;
  }
}

/** Array.isArray without its `any[]` narrowing, which would erase the element type. */
function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function fail(builder: string, field: string, expected: string, got: unknown, Kind: typeof TypeError = TypeError): never {
  throw new Kind(`${builder}: ${field} must be ${expected} (got ${describe(got)})`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !isArray(value);
}

function checkObject(builder: string, field: string, value: unknown): asserts value is Record<string, unknown> {
  if (!isRecord(value)) fail(builder, field, 'an object', value);
}

function checkSnowflake(builder: string, field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') fail(builder, field, 'a snowflake string', value);
  if (!SNOWFLAKE.test(value)) fail(builder, field, 'a snowflake (1 to 20 digits)', value, RangeError);
}

function checkBoolean(builder: string, field: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') fail(builder, field, 'a boolean', value);
}

function checkOptionalString(builder: string, field: string, value: unknown): asserts value is string | null | undefined {
  if (value !== undefined && value !== null && typeof value !== 'string') fail(builder, field, 'a string, null or undefined', value);
}

function checkActivity(index: number, value: unknown): GatewayActivityUpdateData {
  const at = `activities[${index}]`;
  checkObject('updatePresence', at, value);
  if (typeof value.name !== 'string') fail('updatePresence', `${at}.name`, 'a string', value.name);
  if (!ACTIVITY_TYPES.includes(value.type)) fail('updatePresence', `${at}.type`, 'an ActivityType (0 to 5)', value.type);
  checkOptionalString('updatePresence', `${at}.state`, value.state);
  checkOptionalString('updatePresence', `${at}.url`, value.url);
  // Bots may set only these four fields; anything else would be ignored or refused.
  const activity: GatewayActivityUpdateData = { name: value.name, type: value.type as ActivityType };
  if (value.state !== undefined) activity.state = value.state;
  if (value.url !== undefined) activity.url = value.url;
  return activity;
}

/** A presence as `updatePresence` takes it: `status` as the enum or its string (`'idle'`). */
export type PresenceInput = Omit<GatewayPresenceUpdateData, 'status'> & {
  /** online, dnd, idle, invisible or offline, as the enum or its string. */
  status: PresenceUpdateStatus | `${PresenceUpdateStatus}`;
};

/**
 * Builds an Update Presence command (op 3). Only an activity's `name`, `type`, `state`
 * and `url` are sent: the fields a bot may set.
 *
 * @throws TypeError naming the field if `status` is not online, dnd, idle, invisible or
 *   offline, `activities` is not an array of `{ name: string, type: ActivityType }`,
 *   `afk` is not a boolean, or `since` is neither null nor a number; RangeError if
 *   `since` is negative or not finite.
 *
 * @example
 * shard.command(updatePresence({ status: 'idle', activities: [{ name: 'chess', type: 0 }], afk: true, since: Date.now() }));
 */
export function updatePresence(d: PresenceInput): GatewayCommand<GatewayOpcodes.PresenceUpdate, GatewayPresenceUpdateData> {
  checkObject('updatePresence', 'd', d);
  if (!STATUSES.includes(d.status)) fail('updatePresence', 'status', `one of ${STATUSES.join(', ')}`, d.status);
  if (!isArray(d.activities)) fail('updatePresence', 'activities', 'an array', d.activities);
  const activities = d.activities.map((activity: unknown, index) => checkActivity(index, activity));
  checkBoolean('updatePresence', 'afk', d.afk);
  if (d.since !== null) {
    if (typeof d.since !== 'number') fail('updatePresence', 'since', 'a number of milliseconds or null', d.since);
    if (!Number.isFinite(d.since) || d.since < 0) fail('updatePresence', 'since', 'a non-negative finite number', d.since, RangeError);
  }
  return { op: GatewayOpcodes.PresenceUpdate, d: { since: d.since, activities, status: d.status as PresenceUpdateStatus, afk: d.afk } };
}

/**
 * Builds an Update Voice State command (op 4): join, move within or (`channelId: null`)
 * leave a guild's voice channel. `selfMute` and `selfDeaf` default to false.
 *
 * @throws TypeError or RangeError naming `guildId`, `channelId`, `selfMute` or `selfDeaf`
 *   when it is not a snowflake (or null, for the channel) or a boolean.
 *
 * @example
 * shard.command(updateVoiceState({ guildId: '41771983423143937', channelId: '127121515262115840', selfDeaf: true }));
 */
export function updateVoiceState(d: {
  guildId: string;
  channelId: string | null;
  selfMute?: boolean;
  selfDeaf?: boolean;
}): GatewayCommand<GatewayOpcodes.VoiceStateUpdate, GatewayVoiceStateUpdateData> {
  checkObject('updateVoiceState', 'd', d);
  checkSnowflake('updateVoiceState', 'guildId', d.guildId);
  if (d.channelId !== null) checkSnowflake('updateVoiceState', 'channelId', d.channelId);
  const selfMute = d.selfMute ?? false;
  const selfDeaf = d.selfDeaf ?? false;
  checkBoolean('updateVoiceState', 'selfMute', selfMute);
  checkBoolean('updateVoiceState', 'selfDeaf', selfDeaf);
  return {
    op: GatewayOpcodes.VoiceStateUpdate,
    d: { guild_id: d.guildId, channel_id: d.channelId, self_mute: selfMute, self_deaf: selfDeaf },
  };
}

/**
 * Builds a Request Guild Members command (op 8); the reply arrives as
 * GUILD_MEMBERS_CHUNK dispatches carrying `nonce`. Give exactly one of `query` (with
 * `limit`) or `userIds`. `query: ''` with `limit: 0` asks for every member (needs the
 * GUILD_MEMBERS intent; Discord allows it once per guild per 30 s and answers excess
 * with a RATE_LIMITED dispatch).
 *
 * @throws TypeError naming the field if both or neither of `query`/`userIds` are given,
 *   `limit` is missing with `query` or given with `userIds`, or a value has the wrong
 *   type; RangeError naming the field if `guildId` or a user id is not a snowflake,
 *   `limit` is not an integer from 0 (to 100 with a non-empty query), there are not 1
 *   to 100 user ids, or `nonce` is over 32 bytes of UTF-8.
 *
 * @example
 * shard.command(requestGuildMembers({ guildId: '41771983423143937', query: 'ab', limit: 10, nonce: 'search-1' }));
 * shard.command(requestGuildMembers({ guildId: '41771983423143937', userIds: ['80351110224678912'], presences: true }));
 */
export function requestGuildMembers(d: {
  guildId: string;
  query?: string;
  limit?: number;
  userIds?: string | readonly string[];
  presences?: boolean;
  nonce?: string;
}): GatewayCommand<GatewayOpcodes.RequestGuildMembers, GatewayRequestGuildMembersData> {
  const B = 'requestGuildMembers';
  checkObject(B, 'd', d);
  checkSnowflake(B, 'guildId', d.guildId);
  if ((d.query === undefined) === (d.userIds === undefined)) {
    throw new TypeError(`${B}: exactly one of query or userIds must be given`);
  }
  const base: { guild_id: string; presences?: boolean; nonce?: string } = { guild_id: d.guildId };
  if (d.presences !== undefined) {
    checkBoolean(B, 'presences', d.presences);
    base.presences = d.presences;
  }
  if (d.nonce !== undefined) {
    if (typeof d.nonce !== 'string') fail(B, 'nonce', 'a string', d.nonce);
    // Discord silently ignores a longer nonce, and the reply could not be matched.
    const bytes = Buffer.byteLength(d.nonce, 'utf8');
    if (bytes > MAX_NONCE_BYTES) fail(B, 'nonce', `at most ${MAX_NONCE_BYTES} bytes of UTF-8, not ${bytes}`, d.nonce, RangeError);
    base.nonce = d.nonce;
  }

  if (d.query !== undefined) {
    if (typeof d.query !== 'string') fail(B, 'query', 'a string', d.query);
    if (d.limit === undefined) throw new TypeError(`${B}: limit is required with query (0 with query '' for every member)`);
    if (typeof d.limit !== 'number') fail(B, 'limit', 'a number', d.limit);
    // A query returns at most 100 members; only the full list ('') goes past that.
    const cap = d.query === '' ? Number.MAX_SAFE_INTEGER : MAX_MEMBERS_PER_REQUEST;
    if (!Number.isInteger(d.limit) || d.limit < 0 || d.limit > cap) {
      fail(B, 'limit', d.query === '' ? 'a non-negative integer' : 'an integer from 0 to 100 with a non-empty query', d.limit, RangeError);
    }
    return { op: GatewayOpcodes.RequestGuildMembers, d: { ...base, query: d.query, limit: d.limit } };
  }

  if (d.limit !== undefined) throw new TypeError(`${B}: limit is only used with query, not with userIds`);
  const userIds = d.userIds;
  if (typeof userIds === 'string') {
    checkSnowflake(B, 'userIds', userIds);
    return { op: GatewayOpcodes.RequestGuildMembers, d: { ...base, user_ids: userIds } };
  }
  if (!isArray(userIds)) fail(B, 'userIds', 'a snowflake or an array of snowflakes', userIds);
  if (userIds.length === 0 || userIds.length > MAX_MEMBERS_PER_REQUEST) {
    throw new RangeError(`${B}: userIds must hold 1 to ${MAX_MEMBERS_PER_REQUEST} ids (got ${userIds.length})`);
  }
  userIds.forEach((id: unknown, index) => checkSnowflake(B, `userIds[${index}]`, id));
  return { op: GatewayOpcodes.RequestGuildMembers, d: { ...base, user_ids: [...userIds] } };
}

/**
 * Builds a Request Soundboard Sounds command (op 31); Discord answers with one
 * SOUNDBOARD_SOUNDS dispatch per guild.
 *
 * @throws TypeError if `guildIds` is not an array; RangeError naming `guildIds` if it is
 *   empty or `guildIds[i]` if that id is not a snowflake.
 *
 * @example
 * shard.command(requestSoundboardSounds(['41771983423143937']));
 */
export function requestSoundboardSounds(
  guildIds: readonly string[],
): GatewayCommand<GatewayOpcodes.RequestSoundboardSounds, GatewayRequestSoundboardSoundsData> {
  const B = 'requestSoundboardSounds';
  if (!isArray(guildIds)) fail(B, 'guildIds', 'an array of snowflakes', guildIds);
  if (guildIds.length === 0) throw new RangeError(`${B}: guildIds must hold at least one guild id`);
  guildIds.forEach((id: unknown, index) => checkSnowflake(B, `guildIds[${index}]`, id));
  return { op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: [...guildIds] } };
}

/**
 * Builds a Request Channel Info command (op 43); Discord answers with a CHANNEL_INFO
 * dispatch listing the guild's channels with the requested ephemeral fields.
 *
 * @param fields - which fields to ask for: `'status'` (voice channel status) and/or
 *   `'voice_start_time'` (unix seconds); the values of discord-api-types'
 *   `GatewayRequestChannelInfoField`.
 * @throws TypeError or RangeError naming `guildId` if it is not a snowflake, `fields` if
 *   it is not a non-empty array, or `fields[i]` if that entry is not a known field.
 *
 * @example
 * shard.command(requestChannelInfo('41771983423143937', ['status', 'voice_start_time']));
 */
export function requestChannelInfo(
  guildId: string,
  fields: readonly `${GatewayRequestChannelInfoField}`[],
): GatewayCommand<GatewayOpcodes.RequestChannelInfo, GatewayRequestChannelInfoData> {
  const B = 'requestChannelInfo';
  checkSnowflake(B, 'guildId', guildId);
  if (!isArray(fields)) fail(B, 'fields', 'an array', fields);
  if (fields.length === 0) throw new RangeError(`${B}: fields must hold at least one of ${CHANNEL_INFO_FIELDS.join(', ')}`);
  fields.forEach((field: unknown, index) => {
    if (typeof field !== 'string' || !CHANNEL_INFO_FIELDS.includes(field)) {
      fail(B, `fields[${index}]`, `one of ${CHANNEL_INFO_FIELDS.join(', ')}`, field);
    }
  });
  return { op: GatewayOpcodes.RequestChannelInfo, d: { guild_id: guildId, fields: [...fields] } };
}

/**
 * Serialises a command to the JSON text frame the gateway expects (`{"op":…,"d":…}`).
 *
 * @throws RangeError naming the op if the JSON is over {@link MAX_PAYLOAD_BYTES} bytes of
 *   UTF-8 (Discord would close the connection with 4002); TypeError if `op` is not an
 *   integer.
 *
 * @example
 * socket.send(serializeCommand(requestSoundboardSounds(['41771983423143937'])));
 */
export function serializeCommand(command: GatewayCommand): string {
  if (!isRecord(command) || !Number.isInteger(command.op)) fail('serializeCommand', 'command.op', 'an integer opcode', isRecord(command) ? command.op : command);
  // Only op and d: stray properties on the object must not reach the wire.
  const json = JSON.stringify({ op: command.op, d: command.d ?? null });
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    const name = GatewayOpcodes[command.op] ?? 'unknown';
    throw new RangeError(
      `serializeCommand: op ${command.op} (${name}) payload is ${bytes} bytes, over Discord's ${MAX_PAYLOAD_BYTES} byte limit (it would close with 4002)`,
    );
  }
  return json;
}
