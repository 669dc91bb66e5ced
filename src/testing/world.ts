/**
 * The simulated Discord world behind the FakeGateway: guilds, channels, roles, members and
 * the traffic among them, all derived from one seed so that runs repeat exactly. Only a
 * few counts per guild are stored; every member, channel and role is recomputed from
 * (seed, guild, index) when asked for, so 100,000 guilds take about 30 MB, not gigabytes.
 */
import {
  ActivityFlags,
  ActivityType,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  EmbedType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildFeature,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildVerificationLevel,
  InteractionContextType,
  InteractionType,
  Locale,
  MessageType,
  PresenceUpdateStatus,
  ReactionType,
} from 'discord-api-types/v10';
import type {
  APIAttachment,
  APIBaseVoiceState,
  APIChatInputApplicationCommandGuildInteraction,
  APIEmbed,
  APIEmoji,
  APIGuildCategoryChannel,
  APIGuildMember,
  APIGuildMemberNoUser,
  APIGuildVoiceChannel,
  APIMessage,
  APIRole,
  APISoundboardSound,
  APITextChannel,
  APIUser,
  APIUserWithMember,
  APIVoiceState,
  GatewayActivity,
  GatewayChannelInfoDispatchData,
  GatewayChannelUpdateDispatchData,
  GatewayGuildCreateDispatchData,
  GatewayGuildMemberAddDispatchData,
  GatewayGuildMemberUpdateDispatchData,
  GatewayGuildMembersChunkPresence,
  GatewayMessageCreateDispatchData,
  GatewayMessageDeleteDispatchData,
  GatewayMessageReactionAddDispatchData,
  GatewayMessageReactionRemoveDispatchData,
  GatewayPresenceUpdate,
  GatewaySoundboardSoundsDispatchData,
  GatewayTypingStartDispatchData,
  GatewayVoiceServerUpdateDispatchData,
  PresenceUpdateReceiveStatus,
} from 'discord-api-types/v10';
import { Random } from './random.js';

/**
 * Options for {@link World}.
 *
 * @example
 * const options: WorldOptions = { seed: 42, guilds: 2500 };
 */
export interface WorldOptions {
  /** Any finite number; its integer part (mod 2^32) decides everything in the world. */
  seed: number;
  /** How many guilds the bot is in (0..100000). */
  guilds: number;
}

/**
 * One dispatch the world produced, before the server wraps it in an envelope.
 *
 * @example
 * const event = world.nextDispatch(0, 1, rng, () => true, true);
 * if (event) send({ op: 0, t: event.t, d: event.d, s: ++seq });
 */
export interface SimulatedDispatch {
  /** The dispatch name, e.g. `MESSAGE_CREATE`. */
  t: string;
  /** The payload, shaped like the matching discord-api-types `...DispatchData`. */
  d: unknown;
  /** The guild it happens in; null for DMs, which Discord sends only to shard 0. */
  guildId: string | null;
}

/**
 * What a REQUEST_GUILD_MEMBERS (op 8) asks for.
 *
 * @example
 * const query: MemberQuery = { query: 'ali', limit: 10, presences: true };
 */
export interface MemberQuery {
  /** Username prefix, case-insensitive; "" matches everyone. */
  query?: string;
  /** Most members to return; 0 with query "" means all of them. */
  limit?: number;
  /** Exact members to fetch instead of a query (at most 100 are looked at). */
  userIds?: readonly string[];
  /** Whether to return the members' presences too. */
  presences?: boolean;
}

const E = GatewayDispatchEvents;
const DISCORD_EPOCH = 1_420_070_400_000;
const DAY = 86_400_000;
/** Users, guilds and the bot are created between Discord's launch and the world's start. */
const FIRST_DAY = Date.UTC(2015, 4, 13);
/** Where every shard's virtual clock starts; traffic follows it, not the wall clock, so it repeats. */
const WORLD_START = Date.UTC(2025, 5, 1);
const MASK22 = 0x3f_ffff;
const MAX_GUILDS = 100_000;
/** Members (and their presences) a GUILD_CREATE lists with GUILD_PRESENCES. */
const LISTED_MEMBERS = 100;
/** The most members a query or a user id list returns. */
const QUERY_CAP = 100;
const MAX_HUGE_BYTES = 256 * 1024 * 1024;
/** People who DM the bot; they are not in any guild. */
const DM_PEOPLE = 10_000;
/** GUILD_CREATEs sent as traffic were never identified with a threshold, so use Discord's largest. */
const TRAFFIC_LARGE_THRESHOLD = 250;

/**
 * Increment bits of the ids minted with a guild: each kind of entity owns a range, so ids
 * of one guild never clash, and ids of two guilds differ in their timestamp or worker bits.
 */
const SLOT = { category: 1, text: 3, voice: 43, role: 51, emoji: 80, sound: 100 } as const;
/** The largest count of each kind a guild may have (the huge guild has all of them). */
const MOST = { categories: 2, texts: 40, voices: 8, roles: 30, emojis: 20, sounds: 8 } as const;

/** Salts that keep the hash streams of different entity kinds apart. */
const SALT = {
  guild: 1, user: 2, created: 3, member: 4, status: 5, presence: 6, voice: 7, dm: 8,
  huge: 9, channel: 10, role: 11, emoji: 12, sound: 13, session: 14, detail: 15,
} as const;

/** The traffic mix: each guild event with its relative frequency. */
const TRAFFIC_WEIGHTS = [
  [E.MessageCreate, 35],
  [E.PresenceUpdate, 22],
  [E.TypingStart, 14],
  [E.MessageReactionAdd, 7],
  [E.MessageUpdate, 4],
  [E.GuildMemberUpdate, 4],
  [E.VoiceStateUpdate, 4],
  [E.MessageDelete, 2],
  [E.InteractionCreate, 2],
  [E.MessageReactionRemove, 1],
  [E.GuildMemberAdd, 1],
  [E.ChannelUpdate, 0.5],
  [E.GuildCreate, 0.05],
] as const;
type TrafficEvent = (typeof TRAFFIC_WEIGHTS)[number][0];
/** DM messages reach shard 0 only; they join the mix there with this weight. */
const DM_MESSAGE_WEIGHT = 2;

const ADJECTIVES = ['silent', 'cosmic', 'lucky', 'fuzzy', 'brave', 'sleepy', 'neon', 'crispy', 'golden', 'lazy',
  'swift', 'mellow', 'spicy', 'frosty', 'quiet', 'wild', 'tiny', 'grumpy', 'shiny', 'rusty'];
const NOUNS = ['fox', 'otter', 'pixel', 'comet', 'waffle', 'panda', 'raven', 'noodle', 'cactus', 'falcon',
  'badger', 'pebble', 'lynx', 'moth', 'tofu', 'wizard', 'cloud', 'ember', 'kiwi', 'orbit'];
const WORDS = ['the', 'a', 'i', 'you', 'it', 'is', 'that', 'to', 'and', 'this', 'was', 'so', 'lol', 'yeah', 'no',
  'what', 'just', 'like', 'game', 'server', 'tonight', 'anyone', 'play', 'later', 'bot', 'music', 'good', 'really',
  'think', 'know', 'got', 'new', 'update', 'patch', 'ranked', 'build', 'idea', 'haha', 'wait', 'why', 'how', 'ok',
  'nice', 'same', 'gg', 'brb', 'omg', 'maybe', 'need', 'help', 'with', 'my', 'code', 'work', 'today', 'again', 'vc'];
const ENDINGS = ['', '', '', '!', '?', ' lol', ' 😂', '...', ' 🔥'];
const TEXT_CHANNELS = ['general', 'announcements', 'rules', 'memes', 'off-topic', 'media', 'bot-commands', 'music',
  'gaming', 'art', 'help', 'introductions', 'events', 'clips', 'suggestions', 'dev', 'random', 'food', 'pets'];
const VOICE_CHANNELS = ['General', 'Gaming', 'Music', 'Chill', 'AFK', 'Study', 'Lounge', 'Movie Night'];
const ROLE_NAMES = ['Admin', 'Moderator', 'Member', 'VIP', 'Muted', 'Artist', 'Gamer', 'Booster', 'Helper',
  'Regular', 'Newbie', 'DJ', 'Streamer', 'Verified'];
const GAMES = ['Minecraft', 'Valorant', 'League of Legends', 'Fortnite', 'Counter-Strike 2', 'Genshin Impact',
  'Rocket League', 'Stardew Valley', 'Apex Legends', 'Overwatch 2'];
const UNICODE_EMOJIS = ['👍', '😂', '❤️', '🔥', '😭', '🎉', '👀', '💀', '✅', '🙏'];
const SITES = [
  { name: 'YouTube', host: 'www.youtube.com', type: EmbedType.Video },
  { name: 'GitHub', host: 'github.com', type: EmbedType.Article },
  { name: 'Reddit', host: 'www.reddit.com', type: EmbedType.Link },
  { name: 'Tenor', host: 'tenor.com', type: EmbedType.GIFV },
];
const COMMANDS = [
  { name: 'play', option: 'song' }, { name: 'rank', option: 'user' }, { name: 'remind', option: 'when' },
  { name: 'poll', option: 'question' }, { name: 'help', option: 'topic' }, { name: 'roll', option: 'dice' },
];
const LOCALES = [Locale.EnglishUS, Locale.EnglishGB, Locale.German, Locale.French, Locale.PortugueseBR];
const VOICE_REGIONS = ['iad', 'atl', 'fra', 'rtm', 'sin', 'syd'];
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const EVERYONE_PERMISSIONS = '2248473465835073';
const BOT_PERMISSIONS = '1099511627775';

/** The counts and id bits of one guild; everything else is recomputed from them. */
interface Guild {
  readonly id: string;
  /** `id >> 22`: ms since the Discord epoch; it also decides the owning shard. */
  readonly stamp: number;
  /** Worker and process bits (already shifted) of every id minted with the guild. */
  readonly worker: number;
  readonly seed: number;
  readonly memberCount: number;
  readonly categories: number;
  readonly texts: number;
  readonly voices: number;
  /** Roles other than @everyone; the first is the bot's managed role. */
  readonly roles: number;
  readonly emojis: number;
  readonly sounds: number;
}

/** The guilds one shard owns, with running weights for picking busy guilds more often. */
interface ShardGuilds {
  readonly shardId: number;
  readonly numShards: number;
  readonly guilds: Guild[];
  readonly cumulative: number[];
}

/** A shard's virtual clock: every event moves it forward, and ids minted on it are unique. */
interface Clock {
  ms: number;
  seq: number;
  readonly worker: number;
}

/** Someone in a guild: the user and the guild-specific fields, kept apart for message payloads. */
interface Person {
  readonly index: number;
  readonly user: APIUser;
  readonly fields: APIGuildMemberNoUser;
}

/** A murmur3 finaliser: spreads every input bit over the 32-bit result. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit hash of three integers, used to seed per-entity generators. */
function hash(a: number, b: number, c: number): number {
  return fmix(fmix(fmix(a ^ 0x9e3779b9) ^ b) ^ c);
}

/** FNV-1a, to fold ids and session ids into a generator seed. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

/** A hash as a float in [0, 1). */
const unit = (h: number): number => h / 4_294_967_296;

function snowflake(stamp: number, low: number): string {
  return ((BigInt(stamp) << 22n) | BigInt(low)).toString();
}

const iso = (ms: number): string => new Date(ms).toISOString();

function randomString(rng: Random, length: number, alphabet = BASE64URL): string {
  let out = '';
  for (let k = 0; k < length; k++) out += alphabet.charAt(rng.int(0, alphabet.length));
  return out;
}

/** Hex digits, as in avatar hashes and session ids. */
const hex = (rng: Random, length: number): string => randomString(rng, length, '0123456789abcdef');

function words(rng: Random, count: number, list: readonly string[] = WORDS): string {
  let text = rng.pick(list);
  for (let k = 1; k < count; k++) text += ' ' + rng.pick(list);
  return text;
}

/** Chat text whose length is heavy-tailed like real chat: mostly a few words, now and then a wall. */
function chatText(rng: Random): string {
  const roll = rng.next();
  const count = roll < 0.5 ? rng.int(1, 9) : roll < 0.85 ? rng.int(9, 40) : rng.int(40, 300);
  return (words(rng, count) + rng.pick(ENDINGS)).slice(0, 2000);
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Words for titles, names and nicknames, capitalized once rather than per use. */
const TITLE_WORDS = WORDS.map(capitalize);

/** A username such as `silent_fox42` and the display name `Silent Fox` that goes with it. */
function names(rng: Random): { username: string; displayName: string } {
  const adjective = rng.pick(ADJECTIVES);
  const noun = rng.pick(NOUNS);
  const base = adjective + rng.pick(['', '_', '.']) + noun;
  return {
    username: rng.chance(0.6) ? base + String(rng.int(0, 1000)) : base,
    displayName: `${capitalize(adjective)} ${capitalize(noun)}`,
  };
}

/** A member count from a Pareto tail: most guilds have 5–500 members, about 0.6% hit the 50,000 cap. */
function memberCountFrom(rng: Random): number {
  return Math.min(50_000, Math.floor(5 / Math.pow(1 - rng.next(), 1 / 0.55)));
}

function assertShard(shardId: number, numShards: number): void {
  if (!Number.isInteger(numShards) || numShards < 1 || !Number.isInteger(shardId) || shardId < 0 || shardId >= numShards) {
    throw new RangeError(`Invalid shard [${shardId}, ${numShards}]: need integers with 0 <= shardId < numShards`);
  }
}

function statusOf(guild: Guild, index: number): PresenceUpdateReceiveStatus {
  if (index === 0) return PresenceUpdateStatus.Online;
  const roll = unit(hash(guild.seed, index, SALT.status));
  if (roll < 0.35) return PresenceUpdateStatus.Online;
  if (roll < 0.5) return PresenceUpdateStatus.Idle;
  if (roll < 0.6) return PresenceUpdateStatus.DoNotDisturb;
  return PresenceUpdateStatus.Offline;
}

/** What someone is doing: nothing, a custom status, a game, Spotify, or a status plus one of the others. */
function activities(rng: Random, userId: string, now: number): GatewayActivity[] {
  const roll = rng.next();
  if (roll < 0.3) return [];
  const custom: GatewayActivity = {
    id: 'custom', name: 'Custom Status', type: ActivityType.Custom, state: words(rng, rng.int(2, 7)),
    emoji: { name: rng.pick(UNICODE_EMOJIS) }, created_at: now,
  };
  if (roll < 0.55) return [custom];
  const busy = rng.chance(0.6) ? playing(rng, now) : listening(rng, userId, now);
  return roll < 0.75 ? [busy] : [custom, busy];
}

function playing(rng: Random, now: number): GatewayActivity {
  const game = rng.int(0, GAMES.length);
  return {
    id: hex(rng, 16), name: GAMES[game] ?? 'A Game', type: ActivityType.Playing, created_at: now,
    application_id: snowflake(Date.UTC(2018, game) - DISCORD_EPOCH, game), session_id: hex(rng, 32),
    details: rng.pick(['Competitive', 'Ranked', 'Survival', 'Casual', 'Custom Game']),
    state: rng.pick(['In Match', 'In Menus', 'In Queue', 'Exploring']),
    timestamps: { start: now - rng.int(60_000, 3 * 3_600_000) },
    assets: { large_image: hex(rng, 18), large_text: words(rng, 2, TITLE_WORDS) },
  };
}

function listening(rng: Random, userId: string, now: number): GatewayActivity {
  const start = now - rng.int(0, 240_000);
  return {
    id: 'spotify:1', name: 'Spotify', type: ActivityType.Listening, flags: ActivityFlags.Sync | ActivityFlags.Play, created_at: now,
    sync_id: randomString(rng, 22), session_id: hex(rng, 32),
    details: words(rng, rng.int(1, 5), TITLE_WORDS), state: words(rng, 2, TITLE_WORDS),
    timestamps: { start, end: start + rng.int(120_000, 300_000) },
    assets: { large_image: `spotify:ab67616d0000b273${hex(rng, 24)}`, large_text: words(rng, 3, TITLE_WORDS) },
    party: { id: `spotify:${userId}` },
  };
}

/** The preview Discord unfurls for a link; videos also carry their player and channel. */
function linkEmbed(rng: Random): APIEmbed {
  const site = rng.pick(SITES);
  const url = `https://${site.host}/${hex(rng, 11)}/${randomString(rng, 16)}`;
  const media = (kind: string): { url: string; proxy_url: string; width: number; height: number } => {
    const path = `${site.host}/${kind}/${hex(rng, 16)}.jpg`;
    return { url: `https://${path}`, proxy_url: `https://images-ext-1.discordapp.net/external/${randomString(rng, 43)}/https/${path}`, width: 1280, height: 720 };
  };
  return {
    type: site.type, url,
    title: words(rng, rng.int(3, 10), TITLE_WORDS),
    description: words(rng, rng.int(10, 45)),
    color: rng.int(0, 0xffffff),
    provider: { name: site.name, url: `https://${site.host}` },
    thumbnail: { ...media('thumb'), placeholder: randomString(rng, 28), placeholder_version: 1 },
    ...(site.type === EmbedType.Video && {
      author: { name: words(rng, 2, TITLE_WORDS), url: `https://${site.host}/@${rng.pick(NOUNS)}${rng.int(0, 1000)}` },
      video: media('embed'),
    }),
  };
}

function attachment(rng: Random, id: string, channelId: string): APIAttachment {
  const filename = `${rng.pick(['image', 'Screenshot_2025', 'IMG_', 'clip'])}${rng.int(1000, 10_000)}.png`;
  const path = `attachments/${channelId}/${id}/${filename}`;
  const query = `?ex=${hex(rng, 8)}&is=${hex(rng, 8)}&hm=${hex(rng, 64)}&`;
  return {
    id, filename, size: rng.int(20_000, 8_000_000), content_type: 'image/png',
    url: `https://cdn.discordapp.com/${path}${query}`, proxy_url: `https://media.discordapp.net/${path}${query}`,
    width: rng.pick([640, 1280, 1920]), height: rng.pick([480, 720, 1080]),
    placeholder: randomString(rng, 28), placeholder_version: 1,
  };
}

/** Messages without MESSAGE_CONTENT keep their metadata but lose what they say (protocol.md §9). */
function hideContent<M extends APIMessage | GatewayMessageCreateDispatchData>(message: M): M {
  return { ...message, content: '', embeds: [], attachments: [], components: [] };
}

/**
 * A deterministic simulated Discord world: the bot, its guilds with channels, roles and
 * members, and realistic gateway traffic among them. The world itself never changes
 * except through {@link World.hugeGuildCreate}: traffic such as member joins is not
 * remembered, so GUILD_CREATE payloads and member lists stay the same all run long.
 *
 * @example
 * const world = new World({ seed: 42, guilds: 1000 });
 * const rng = new Random(7);
 * for (const id of world.guildsForShard(0, 4)) send('GUILD_CREATE', world.guildCreate(id, 513, 50));
 * const event = world.nextDispatch(0, 4, rng, (t, inGuild) => receivesDispatch(513, t, inGuild), false);
 */
export class World {
  /** The bot user (`bot: true`), the same for the same seed. */
  readonly bot: APIUser;
  /** The bot's application id (equal to the bot's user id, as for every modern application). */
  readonly applicationId: string;
  /** All guild ids in creation order; {@link World.hugeGuildCreate} appends to it. */
  readonly guildIds: readonly string[];

  readonly #seed: number;
  readonly #botCreated: number;
  readonly #ids: string[] = [];
  readonly #guilds = new Map<string, Guild>();
  readonly #shards = new Map<string, ShardGuilds>();
  readonly #clocks = new Map<number, Clock>();
  readonly #dmSeed: number;
  #hugeCount = 0;

  /**
   * @throws RangeError if `seed` is not a finite number or `guilds` is not an integer in 0..100000.
   * @example
   * const world = new World({ seed: 1, guilds: 100_000 }); // about 0.15 s and 30 MB
   */
  constructor(options: WorldOptions) {
    const { seed, guilds } = options;
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new RangeError(`World seed must be a finite number, got ${String(seed)}`);
    }
    if (!Number.isInteger(guilds) || guilds < 0 || guilds > MAX_GUILDS) {
      throw new RangeError(`World guilds must be an integer in 0..${MAX_GUILDS}, got ${String(guilds)}`);
    }
    this.#seed = Math.trunc(seed) >>> 0;
    this.#dmSeed = hash(this.#seed, 0, SALT.dm);
    const rng = new Random(this.#seed);
    this.#botCreated = rng.int(Date.UTC(2017, 0, 1), Date.UTC(2023, 0, 1));
    const botId = snowflake(this.#botCreated - DISCORD_EPOCH, rng.int(0, MASK22 + 1));
    this.bot = {
      id: botId, username: capitalize(rng.pick(ADJECTIVES)) + capitalize(rng.pick(NOUNS)), discriminator: String(rng.int(1000, 10_000)),
      global_name: null, avatar: hex(rng, 32), bot: true, public_flags: 0 as APIUser['public_flags'],
      avatar_decoration_data: null, collectibles: null, primary_guild: null,
    };
    this.applicationId = botId;
    this.guildIds = this.#ids;
    for (let k = 0; this.#ids.length < guilds; k++) {
      const stamp = rng.int(FIRST_DAY - DISCORD_EPOCH, WORLD_START - DAY - DISCORD_EPOCH);
      const worker = rng.int(0, 1024) << 12;
      if (!this.#guilds.has(snowflake(stamp, worker))) this.#addGuild(this.#makeGuild(hash(this.#seed, k, SALT.guild), stamp, worker));
    }
  }

  /**
   * The ids of the guilds shard `shardId` of `numShards` owns, by Discord's rule
   * `(BigInt(id) >> 22n) % BigInt(numShards) === BigInt(shardId)`.
   *
   * @throws RangeError unless `0 <= shardId < numShards` are integers.
   * @example
   * const mine = world.guildsForShard(1, 4);
   */
  guildsForShard(shardId: number, numShards: number): string[] {
    return this.#shardGuilds(shardId, numShards).guilds.map((guild) => guild.id);
  }

  /**
   * Whether the bot is in `guildId`.
   *
   * @example
   * if (!world.hasGuild(request.guild_id)) return; // Discord ignores such requests
   */
  hasGuild(guildId: string): boolean {
    return this.#guilds.has(guildId);
  }

  /**
   * The full GUILD_CREATE `d` for a guild, shaped by `intents` as Discord does: without
   * GUILD_PRESENCES `members` holds only the bot and `presences` is empty; with it, the
   * first 100 members and the presences of those not offline. With GUILD_VOICE_STATES,
   * `voice_states` lists who is in voice and those members are listed too.
   *
   * @throws RangeError for a guild the bot is not in.
   * @example
   * const d = world.guildCreate(id, GatewayIntentBits.Guilds, 50);
   */
  guildCreate(guildId: string, intents: number, largeThreshold: number): object {
    const presences = (intents & GatewayIntentBits.GuildPresences) !== 0;
    const voice = (intents & GatewayIntentBits.GuildVoiceStates) !== 0;
    return this.#guildCreate(this.#guild(guildId), presences, voice, largeThreshold);
  }

  /**
   * A GUILD_CREATE `d` of at least `minBytes` of JSON for a new guild that shard
   * `shardId` of `numShards` owns: every channel and role kind at its maximum and as many
   * members as it takes (presences stay empty, so the payload suits any intents). The
   * guild joins the world, so later traffic, member requests and voice updates know it.
   *
   * @throws RangeError for an invalid shard or `minBytes` outside 0..256 MiB.
   * @example
   * const { guildId, d } = world.hugeGuildCreate(0, 1, 5 * 1024 * 1024);
   */
  hugeGuildCreate(
    shardId: number,
    numShards: number,
    minBytes: number,
  ): {
    /** The new guild's id. */
    guildId: string;
    /** The GUILD_CREATE payload, at least `minBytes` of JSON. */
    d: object;
  } {
    assertShard(shardId, numShards);
    if (!Number.isFinite(minBytes) || minBytes < 0 || minBytes > MAX_HUGE_BYTES) {
      throw new RangeError(`minBytes must be in 0..${MAX_HUGE_BYTES}, got ${minBytes}`);
    }
    const seed = hash(this.#seed, this.#hugeCount++, SALT.huge);
    const rng = new Random(seed);
    const worker = rng.int(0, 1024) << 12;
    let stamp = rng.int(Date.UTC(2024, 0, 1) - DISCORD_EPOCH, WORLD_START - DAY - DISCORD_EPOCH);
    stamp += (shardId - (stamp % numShards) + numShards) % numShards;
    while (this.#guilds.has(snowflake(stamp, worker))) stamp += numShards;
    const open: Guild = { ...this.#makeGuild(seed, stamp, worker), ...MOST, roles: MOST.roles - 1, memberCount: MASK22 };
    const d = this.#guildCreate(open, false, false, TRAFFIC_LARGE_THRESHOLD);
    // member_count loses digits once the real count is known; the margin keeps the JSON above minBytes.
    // Traffic needs someone besides the bot, hence at least two members.
    let size = JSON.stringify(d).length;
    while (size < minBytes + 8 || d.members.length < 2) {
      const member = this.#member(open, d.members.length);
      size += JSON.stringify(member).length + 1;
      d.members.push(member);
    }
    const guild: Guild = { ...open, memberCount: d.members.length };
    d.member_count = guild.memberCount;
    this.#addGuild(guild);
    return { guildId: guild.id, d };
  }

  /**
   * One realistic dispatch for shard `shardId` of `numShards`, drawn with `rng` from the
   * traffic mix (messages, presences, typing, reactions, member and voice updates, an
   * interaction now and then, a rare full GUILD_CREATE, and DMs on shard 0), limited to
   * the events `allowed(t, inGuild)` accepts. Without `messageContent`, messages keep
   * their content only in DMs and when they mention the bot. Each shard has a virtual
   * clock that the events move forward, so the same calls with the same `rng` seed give
   * the same events. A traffic GUILD_CREATE lists presences or voice states when
   * `allowed` lets PRESENCE_UPDATE or VOICE_STATE_UPDATE through.
   *
   * @returns null when no allowed event can happen on this shard.
   * @throws RangeError for an invalid shard.
   * @example
   * const event = world.nextDispatch(0, 1, rng, (t, g) => receivesDispatch(intents, t, g), false);
   */
  nextDispatch(
    shardId: number,
    numShards: number,
    rng: Random,
    allowed: (t: string, inGuild: boolean) => boolean,
    messageContent: boolean,
  ): SimulatedDispatch | null {
    const owned = this.#shardGuilds(shardId, numShards);
    const candidates: (readonly [TrafficEvent | 'DM', number])[] =
      owned.guilds.length === 0 ? [] : TRAFFIC_WEIGHTS.filter(([t]) => allowed(t, true));
    if (shardId === 0 && allowed(E.MessageCreate, false)) candidates.push(['DM', DM_MESSAGE_WEIGHT]);
    const kind = weightedPick(rng, candidates);
    if (kind === undefined) return null;

    const clock = this.#tick(shardId, rng);
    if (kind === 'DM') return { t: E.MessageCreate, d: this.#dmMessage(rng, clock), guildId: null };
    const guild = this.#pickGuild(owned, rng);
    const d = this.#traffic(kind, guild, rng, clock, messageContent, allowed);
    return { t: kind, d, guildId: guild.id };
  }

  /**
   * Members for REQUEST_GUILD_MEMBERS: by `userIds` (the first 100; ids not in the guild
   * go to `notFound`), else by username prefix `query` up to `limit` (at most 100, except
   * that query "" with limit 0 returns every member, for the caller to chunk). Presences,
   * when asked for, cover the returned members that are not offline.
   *
   * @throws RangeError for an unknown guild or a `limit` that is not a non-negative integer.
   * @example
   * const { members } = world.members(guildId, { query: '', limit: 0 }); // everyone
   */
  members(
    guildId: string,
    q: MemberQuery,
  ): {
    /** The matching members, with their users. */
    members: APIGuildMember[];
    /** Requested `userIds` that are not in the guild (GUILD_MEMBERS_CHUNK `not_found`). */
    notFound: string[];
    /** Presences of the returned members that are not offline; empty unless `presences` was asked for. */
    presences: object[];
  } {
    const guild = this.#guild(guildId);
    const notFound: string[] = [];
    let people: Person[];
    if (q.userIds !== undefined) {
      people = [];
      for (const id of new Set(q.userIds.slice(0, QUERY_CAP))) {
        const index = this.#indexOf(guild, id);
        if (index === undefined) notFound.push(id);
        else people.push(this.#person(guild, index));
      }
    } else {
      people = this.#search(guild, q.query ?? '', q.limit ?? 0);
    }
    const presences = q.presences === true
      ? people.filter((p) => statusOf(guild, p.index) !== PresenceUpdateStatus.Offline)
        .map((p) => withoutGuildId(this.#presence(guild, p)))
      : [];
    return { members: people.map(toMember), notFound, presences };
  }

  /**
   * The bot's VOICE_STATE_UPDATE `d` after an op 4 joining `channelId` (null: leaving),
   * and the VOICE_SERVER_UPDATE `d` that follows a join (null when leaving).
   *
   * @throws RangeError for an unknown guild or a channel that is not one of its voice channels.
   * @example
   * const { voiceState, voiceServer } = world.botVoiceState(guildId, channelId, false, true, sessionId);
   */
  botVoiceState(
    guildId: string,
    channelId: string | null,
    selfMute: boolean,
    selfDeaf: boolean,
    sessionId: string,
  ): {
    /** The bot's VOICE_STATE_UPDATE `d`; `channel_id` null when leaving. */
    voiceState: object;
    /** The VOICE_SERVER_UPDATE `d` with token and endpoint; null when leaving. */
    voiceServer: object | null;
  } {
    const guild = this.#guild(guildId);
    if (channelId !== null && !this.#voiceChannelIds(guild).includes(channelId)) {
      throw new RangeError(`Channel ${channelId} is not a voice channel of guild ${guildId}`);
    }
    const voiceState: APIVoiceState = {
      guild_id: guild.id, channel_id: channelId, user_id: this.bot.id, member: toMember(this.#person(guild, 0)),
      session_id: sessionId, deaf: false, mute: false, self_deaf: selfDeaf, self_mute: selfMute,
      self_video: false, suppress: false, request_to_speak_timestamp: null,
    };
    if (channelId === null) return { voiceState, voiceServer: null };
    const rng = new Random(hash(guild.seed, hashString(channelId), hashString(sessionId)));
    const voiceServer: GatewayVoiceServerUpdateDispatchData = {
      token: hex(rng, 16), guild_id: guild.id,
      endpoint: `c-${rng.pick(VOICE_REGIONS)}${String(rng.int(1, 20)).padStart(2, '0')}-${hex(rng, 8)}.discord.media:443`,
    };
    return { voiceState, voiceServer };
  }

  /**
   * The SOUNDBOARD_SOUNDS `d` for a guild (op 31 reply): its soundboard sounds.
   *
   * @throws RangeError for an unknown guild.
   * @example
   * send('SOUNDBOARD_SOUNDS', world.soundboardSounds(guildId));
   */
  soundboardSounds(guildId: string): object {
    const guild = this.#guild(guildId);
    const d: GatewaySoundboardSoundsDispatchData = { soundboard_sounds: this.#sounds(guild), guild_id: guild.id };
    return d;
  }

  /**
   * The CHANNEL_INFO `d` for a guild (op 43 reply): one entry per voice channel, with
   * only the requested `fields` among `status` and `voice_start_time` (others are ignored).
   *
   * @throws RangeError for an unknown guild.
   * @example
   * send('CHANNEL_INFO', world.channelInfo(guildId, ['status', 'voice_start_time']));
   */
  channelInfo(guildId: string, fields: readonly string[]): object {
    const guild = this.#guild(guildId);
    const occupied = new Set(this.#voiceOccupants(guild).map((o) => o.channelId));
    const d: GatewayChannelInfoDispatchData = {
      guild_id: guild.id,
      channels: this.#voiceChannelIds(guild).map((id) => {
        const rng = new Random(hash(guild.seed, hashString(id), SALT.detail));
        const status = rng.chance(0.4) ? `${rng.pick(UNICODE_EMOJIS)} ${words(rng, rng.int(1, 4), TITLE_WORDS)}` : null;
        const start = occupied.has(id) ? Math.floor(WORLD_START / 1000) - rng.int(60, 4 * 3600) : null;
        return {
          id,
          ...(fields.includes('status') && { status }),
          ...(fields.includes('voice_start_time') && { voice_start_time: start }),
        };
      }),
    };
    return d;
  }

  // ---- the guild table ----

  #makeGuild(seed: number, stamp: number, worker: number): Guild {
    const rng = new Random(seed);
    return {
      id: snowflake(stamp, worker), stamp, worker, seed, memberCount: memberCountFrom(rng),
      categories: rng.int(1, MOST.categories + 1), texts: rng.int(3, MOST.texts + 1), voices: rng.int(1, MOST.voices + 1),
      roles: rng.int(1, MOST.roles), emojis: rng.int(0, MOST.emojis + 1), sounds: rng.int(0, MOST.sounds + 1),
    };
  }

  #addGuild(guild: Guild): void {
    this.#guilds.set(guild.id, guild);
    this.#ids.push(guild.id);
    for (const cache of this.#shards.values()) {
      if (guild.stamp % cache.numShards === cache.shardId) addWeighted(cache, guild);
    }
  }

  #guild(guildId: string): Guild {
    const guild = this.#guilds.get(guildId);
    if (guild === undefined) throw new RangeError(`Unknown guild ${guildId}: the bot is not in it`);
    return guild;
  }

  #shardGuilds(shardId: number, numShards: number): ShardGuilds {
    assertShard(shardId, numShards);
    const key = `${shardId}/${numShards}`;
    let cache = this.#shards.get(key);
    if (cache === undefined) {
      cache = { shardId, numShards, guilds: [], cumulative: [] };
      for (const guild of this.#guilds.values()) if (guild.stamp % numShards === shardId) addWeighted(cache, guild);
      this.#shards.set(key, cache);
    }
    return cache;
  }

  #pickGuild(owned: ShardGuilds, rng: Random): Guild {
    const { cumulative, guilds } = owned;
    const roll = rng.next() * (cumulative[cumulative.length - 1] ?? 0);
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) > roll) hi = mid;
      else lo = mid + 1;
    }
    return guilds[lo] as Guild;
  }

  #tick(shardId: number, rng: Random): Clock {
    let clock = this.#clocks.get(shardId);
    if (clock === undefined) {
      clock = { ms: WORLD_START, seq: 0, worker: (shardId & 0x3ff) << 12 };
      this.#clocks.set(shardId, clock);
    }
    clock.ms += rng.int(1, 30);
    return clock;
  }

  // ---- people ----

  /** When user `index` of a population joined Discord; shared by the user and member generators. */
  #userCreated(populationSeed: number, index: number): number {
    return FIRST_DAY + Math.floor(unit(hash(populationSeed, index, SALT.created)) * (WORLD_START - DAY - FIRST_DAY));
  }

  /** User `index` of a guild (or of the DM population); index 0 of a guild is the bot. */
  #user(populationSeed: number, index: number): APIUser {
    const rng = new Random(hash(populationSeed, index, SALT.user));
    const { username, displayName } = names(rng);
    return {
      id: snowflake(this.#userCreated(populationSeed, index) - DISCORD_EPOCH, (populationSeed + index) & MASK22),
      username,
      global_name: rng.chance(0.7) ? displayName : null,
      discriminator: '0',
      avatar: rng.chance(0.8) ? (rng.chance(0.1) ? 'a_' : '') + hex(rng, 32) : null,
      public_flags: rng.pick([0, 0, 0, 0, 64, 128, 256]) as APIUser['public_flags'],
      avatar_decoration_data: null,
      collectibles: null,
      primary_guild: null,
    };
  }

  #person(guild: Guild, index: number, user?: APIUser): Person {
    if (index === 0) return { index, user: this.bot, fields: this.#botFields(guild) };
    const rng = new Random(hash(guild.seed, index, SALT.member));
    const since = Math.max(guild.stamp + DISCORD_EPOCH, this.#userCreated(guild.seed, index));
    const roles = new Set<string>();
    if (guild.roles > 1) for (let k = rng.int(0, 4); k > 0; k--) roles.add(this.#roleId(guild, rng.int(1, guild.roles)));
    return {
      index,
      user: user ?? this.#user(guild.seed, index),
      fields: {
        roles: [...roles],
        joined_at: iso(since + Math.floor(rng.next() * (WORLD_START - since))),
        nick: rng.chance(0.2) ? words(rng, 2, TITLE_WORDS) : null,
        avatar: null, banner: null,
        premium_since: rng.chance(0.05) ? iso(WORLD_START - rng.int(DAY, 365 * DAY)) : null,
        deaf: false, mute: false, pending: false, flags: 0 as APIGuildMember['flags'],
        communication_disabled_until: null,
      },
    };
  }

  #botFields(guild: Guild): APIGuildMemberNoUser {
    const since = Math.max(guild.stamp + DISCORD_EPOCH, this.#botCreated);
    return {
      roles: [this.#roleId(guild, 0)],
      joined_at: iso(since + Math.floor(unit(hash(guild.seed, 0, SALT.member)) * (WORLD_START - since))),
      nick: null, avatar: null, banner: null, premium_since: null, deaf: false, mute: false, pending: false,
      flags: 0 as APIGuildMember['flags'], communication_disabled_until: null,
    };
  }

  #member(guild: Guild, index: number): APIGuildMember {
    return toMember(this.#person(guild, index));
  }

  /** Chatty members sit near the start of the member list, as a few regulars do most talking. */
  #activeIndex(guild: Guild, rng: Random): number {
    return 1 + Math.floor((guild.memberCount - 1) * rng.next() ** 2);
  }

  #indexOf(guild: Guild, userId: string): number | undefined {
    if (userId === this.bot.id) return 0;
    if (!/^\d{1,20}$/.test(userId)) return undefined;
    const index = (Number(BigInt(userId) & BigInt(MASK22)) - guild.seed) & MASK22;
    if (index === 0 || index >= guild.memberCount) return undefined;
    return this.#user(guild.seed, index).id === userId ? index : undefined;
  }

  #search(guild: Guild, query: string, limit: number): Person[] {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`Member query limit must be a non-negative integer, got ${limit}`);
    }
    const cap = query === '' && limit === 0 ? guild.memberCount : Math.min(limit === 0 ? QUERY_CAP : limit, QUERY_CAP);
    const prefix = query.toLowerCase();
    const found: Person[] = [];
    for (let index = 0; index < guild.memberCount && found.length < cap; index++) {
      const user = index === 0 ? this.bot : this.#user(guild.seed, index);
      if (user.username.toLowerCase().startsWith(prefix)) found.push(this.#person(guild, index, user));
    }
    return found;
  }

  /** Someone's presence as a GUILD_CREATE lists it. */
  #presence(guild: Guild, { index, user }: Person): GatewayPresenceUpdate {
    const status = statusOf(guild, index);
    const rng = new Random(hash(guild.seed, index, SALT.presence));
    const list = index === 0 ? [] : activities(rng, user.id, WORLD_START);
    const platform = index === 0 ? 'web' : rng.pick(['desktop', 'desktop', 'mobile', 'web'] as const);
    return { user: { id: user.id }, status, activities: list, client_status: { [platform]: status }, guild_id: guild.id };
  }

  // ---- guild structure ----

  #roleId(guild: Guild, k: number): string {
    return snowflake(guild.stamp, guild.worker | (SLOT.role + k));
  }

  #textChannelId(guild: Guild, k: number): string {
    return snowflake(guild.stamp, guild.worker | (SLOT.text + k));
  }

  #voiceChannelIds(guild: Guild): string[] {
    return Array.from({ length: guild.voices }, (_, k) => snowflake(guild.stamp, guild.worker | (SLOT.voice + k)));
  }

  /** `@everyone` (whose id is the guild's), the bot's managed role, then ordinary roles. */
  #roles(guild: Guild): APIRole[] {
    const roles = [role(guild.id, '@everyone', 0, EVERYONE_PERMISSIONS, 0), role(this.#roleId(guild, 0), this.bot.username,
      guild.roles, BOT_PERMISSIONS, 0, { bot_id: this.bot.id })];
    for (let k = 1; k < guild.roles; k++) {
      const rng = new Random(hash(guild.seed, k, SALT.role));
      const name = ROLE_NAMES[(k - 1) % ROLE_NAMES.length] ?? 'Role';
      roles.push(role(this.#roleId(guild, k), name, guild.roles - k, String(rng.int(0, 2 ** 31)), rng.int(0, 0xffffff)));
    }
    return roles;
  }

  #textChannel(guild: Guild, k: number): APITextChannel {
    const rng = new Random(hash(guild.seed, SLOT.text + k, SALT.channel));
    const name = TEXT_CHANNELS[k % TEXT_CHANNELS.length] ?? 'chat';
    return {
      id: this.#textChannelId(guild, k), type: ChannelType.GuildText,
      name: k < TEXT_CHANNELS.length ? name : `${name}-${Math.floor(k / TEXT_CHANNELS.length) + 1}`,
      position: k, parent_id: snowflake(guild.stamp, guild.worker | (SLOT.category + (k % guild.categories))),
      topic: rng.chance(0.5) ? words(rng, rng.int(3, 15)) : null, nsfw: false, rate_limit_per_user: rng.pick([0, 0, 0, 5, 30]),
      last_message_id: snowflake(WORLD_START - DISCORD_EPOCH - rng.int(0, 30 * DAY), rng.int(0, MASK22 + 1)),
      permission_overwrites: rng.chance(0.3) ? [{ id: guild.id, type: 0, allow: '0', deny: '2048' }] : [],
      flags: 0 as APITextChannel['flags'],
    };
  }

  #channels(guild: Guild): (APIGuildCategoryChannel | APITextChannel | APIGuildVoiceChannel)[] {
    const categories = Array.from({ length: guild.categories }, (_, k): APIGuildCategoryChannel => ({
      id: snowflake(guild.stamp, guild.worker | (SLOT.category + k)), type: ChannelType.GuildCategory,
      name: k === 0 ? 'Text Channels' : 'Voice Channels', position: k, permission_overwrites: [], flags: 0 as APITextChannel['flags'],
    }));
    const texts = Array.from({ length: guild.texts }, (_, k) => this.#textChannel(guild, k));
    const voices = this.#voiceChannelIds(guild).map((id, k): APIGuildVoiceChannel => ({
      id, type: ChannelType.GuildVoice, name: VOICE_CHANNELS[k] ?? `Voice ${k}`, position: k,
      parent_id: snowflake(guild.stamp, guild.worker | (SLOT.category + guild.categories - 1)),
      bitrate: 64_000, user_limit: k % 3 === 2 ? 10 : 0, rtc_region: null, rate_limit_per_user: 0,
      last_message_id: null, nsfw: false, permission_overwrites: [], flags: 0 as APITextChannel['flags'],
    }));
    return [...categories, ...texts, ...voices];
  }

  #emoji(guild: Guild, k: number): APIEmoji {
    const rng = new Random(hash(guild.seed, k, SALT.emoji));
    return {
      id: snowflake(guild.stamp, guild.worker | (SLOT.emoji + k)), name: rng.pick(ADJECTIVES) + rng.pick(NOUNS),
      roles: [], require_colons: true, managed: false, animated: rng.chance(0.2), available: true,
    };
  }

  #sounds(guild: Guild): APISoundboardSound[] {
    const owner = this.#user(guild.seed, 1);
    return Array.from({ length: guild.sounds }, (_, k) => {
      const rng = new Random(hash(guild.seed, k, SALT.sound));
      return {
        name: words(rng, 2), sound_id: snowflake(guild.stamp, guild.worker | (SLOT.sound + k)), volume: rng.int(30, 101) / 100,
        emoji_id: null, emoji_name: rng.pick(UNICODE_EMOJIS), guild_id: guild.id, available: true, user: owner,
      };
    });
  }

  /** Who sits in which voice channel; fixed per guild, like the guild's other structure. */
  #voiceOccupants(guild: Guild): { index: number; channelId: string }[] {
    const rng = new Random(hash(guild.seed, 0, SALT.voice));
    const channels = this.#voiceChannelIds(guild);
    const seen = new Set<number>();
    const count = rng.chance(0.5) ? 0 : Math.min(guild.memberCount - 1, rng.int(1, 3 * guild.voices + 1));
    const occupants: { index: number; channelId: string }[] = [];
    for (let k = 0; k < count; k++) {
      const index = this.#activeIndex(guild, rng);
      const channelId = rng.pick(channels);
      if (!seen.has(index)) occupants.push({ index, channelId });
      seen.add(index);
    }
    return occupants;
  }

  #sessionId(guild: Guild, index: number): string {
    return hex(new Random(hash(guild.seed, index, SALT.session)), 32);
  }

  #guildCreate(guild: Guild, withPresences: boolean, withVoice: boolean, largeThreshold: number): GatewayGuildCreateDispatchData {
    const rng = new Random(hash(guild.seed, 0, SALT.detail));
    const occupants = withVoice ? this.#voiceOccupants(guild) : [];
    const listed = new Set(withPresences ? Array.from({ length: Math.min(guild.memberCount, LISTED_MEMBERS) }, (_, k) => k) : [0]);
    for (const { index } of occupants) listed.add(index);
    const people = [...listed].map((index) => this.#person(guild, index));
    const big = guild.memberCount > 1000;
    return {
      id: guild.id,
      name: `${names(rng).displayName} ${rng.pick(['Club', 'Hangout', 'Lounge', 'Den', 'HQ'])}`,
      icon: rng.chance(0.8) ? hex(rng, 32) : null, splash: null, discovery_splash: null, banner: big ? hex(rng, 32) : null,
      description: big ? words(rng, 12) : null, owner_id: this.#user(guild.seed, 1).id,
      afk_channel_id: null, afk_timeout: 300, widget_enabled: false, widget_channel_id: null,
      verification_level: big ? GuildVerificationLevel.Medium : GuildVerificationLevel.Low,
      default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
      explicit_content_filter: GuildExplicitContentFilter.AllMembers,
      roles: this.#roles(guild), emojis: Array.from({ length: guild.emojis }, (_, k) => this.#emoji(guild, k)), stickers: [],
      features: big ? [GuildFeature.Community, GuildFeature.News, GuildFeature.Banner] : [],
      mfa_level: GuildMFALevel.None, application_id: null, system_channel_id: this.#textChannelId(guild, 0),
      system_channel_flags: 0 as GatewayGuildCreateDispatchData['system_channel_flags'], rules_channel_id: null,
      max_presences: null, max_members: 500_000, vanity_url_code: null,
      premium_tier: big ? GuildPremiumTier.Tier2 : GuildPremiumTier.None, premium_subscription_count: big ? rng.int(7, 60) : 0,
      preferred_locale: Locale.EnglishUS, public_updates_channel_id: null, max_video_channel_users: 25,
      max_stage_video_channel_users: 50, nsfw_level: GuildNSFWLevel.Default, premium_progress_bar_enabled: false,
      hub_type: null, safety_alerts_channel_id: null, incidents_data: null,
      joined_at: this.#botFields(guild).joined_at as string,
      large: guild.memberCount > largeThreshold,
      unavailable: false,
      member_count: guild.memberCount,
      voice_states: occupants.map(({ index, channelId }): APIBaseVoiceState => ({
        channel_id: channelId, user_id: this.#user(guild.seed, index).id, session_id: this.#sessionId(guild, index),
        deaf: false, mute: false, self_deaf: false, self_mute: index % 3 === 0, self_video: false, suppress: false,
        request_to_speak_timestamp: null,
      })),
      members: people.map(toMember),
      channels: this.#channels(guild),
      threads: [],
      presences: withPresences
        ? people.filter((p) => statusOf(guild, p.index) !== PresenceUpdateStatus.Offline)
          .map((p) => this.#presence(guild, p))
        : [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: this.#sounds(guild),
    };
  }

  // ---- traffic ----

  #traffic(
    kind: TrafficEvent,
    guild: Guild,
    rng: Random,
    clock: Clock,
    messageContent: boolean,
    allowed: (t: string, inGuild: boolean) => boolean,
  ): unknown {
    switch (kind) {
      case E.MessageCreate:
        return this.#guildMessage(guild, rng, clock, messageContent, false);
      case E.MessageUpdate:
        return this.#guildMessage(guild, rng, clock, messageContent, true);
      case E.PresenceUpdate:
        return this.#presenceUpdate(guild, rng, clock);
      case E.TypingStart:
        return this.#typing(guild, rng, clock);
      case E.MessageReactionAdd:
      case E.MessageReactionRemove:
        return this.#reaction(guild, rng, clock, kind === E.MessageReactionAdd);
      case E.GuildMemberUpdate:
        return this.#memberUpdate(guild, rng);
      case E.GuildMemberAdd:
        return this.#memberAdd(guild, rng, clock);
      case E.VoiceStateUpdate:
        return this.#voiceUpdate(guild, rng);
      case E.MessageDelete: {
        const d: GatewayMessageDeleteDispatchData = {
          id: pastId(rng, clock), channel_id: this.#textChannelId(guild, rng.int(0, guild.texts)), guild_id: guild.id,
        };
        return d;
      }
      case E.InteractionCreate:
        return this.#interaction(guild, rng, clock);
      case E.ChannelUpdate: {
        const d: GatewayChannelUpdateDispatchData = {
          ...this.#textChannel(guild, rng.int(0, guild.texts)), guild_id: guild.id, topic: words(rng, rng.int(3, 15)),
        };
        return d;
      }
      case E.GuildCreate: // the guild came back after an outage
        return this.#guildCreate(guild, allowed(E.PresenceUpdate, true), allowed(E.VoiceStateUpdate, true), TRAFFIC_LARGE_THRESHOLD);
    }
  }

  #guildMessage(guild: Guild, rng: Random, clock: Clock, messageContent: boolean, edit: boolean): GatewayMessageCreateDispatchData {
    const channelId = this.#textChannelId(guild, rng.int(0, guild.texts));
    const author = this.#person(guild, this.#activeIndex(guild, rng));
    const mentionsBot = rng.chance(0.03);
    const mentioned = mentionsBot ? [this.#person(guild, 0)] : rng.chance(0.15) ? [this.#person(guild, this.#activeIndex(guild, rng))] : [];
    const id = edit ? pastId(rng, clock) : mint(clock);
    const reply = rng.chance(0.33) ? this.#repliedTo(guild, rng, clock, channelId, messageContent) : undefined;
    const message: GatewayMessageCreateDispatchData = {
      ...this.#messageBody(rng, clock, id, channelId, author.user),
      ...(!edit && { nonce: mint(clock) }),
      content: mentioned.map((p) => `<@${p.user.id}> `).join('') + chatText(rng),
      type: reply === undefined ? MessageType.Default : MessageType.Reply,
      edited_timestamp: edit ? iso(clock.ms) : null,
      mentions: mentioned.map((p): APIUserWithMember => ({ ...p.user, member: p.fields })),
      member: author.fields,
      guild_id: guild.id,
      channel_type: ChannelType.GuildText,
      ...(reply !== undefined && {
        message_reference: { type: 0, channel_id: channelId, message_id: reply.id, guild_id: guild.id },
        referenced_message: reply,
      }),
    };
    return messageContent || mentionsBot ? message : hideContent(message);
  }

  /** The fields every message shares, with an embed or an attachment now and then. */
  #messageBody(rng: Random, clock: Clock, id: string, channelId: string, author: APIUser): APIMessage {
    return {
      id, channel_id: channelId, author, content: '', timestamp: iso(snowflakeTime(id)), edited_timestamp: null,
      tts: false, mention_everyone: false, mentions: [], mention_roles: [], pinned: false, type: MessageType.Default,
      flags: 0 as APIMessage['flags'],
      embeds: rng.chance(0.25) ? [linkEmbed(rng)] : [],
      attachments: rng.chance(0.12) ? [attachment(rng, mint(clock), channelId)] : [],
      components: [],
    };
  }

  #repliedTo(guild: Guild, rng: Random, clock: Clock, channelId: string, messageContent: boolean): APIMessage {
    const author = this.#person(guild, this.#activeIndex(guild, rng));
    const message: APIMessage = { ...this.#messageBody(rng, clock, pastId(rng, clock), channelId, author.user), content: chatText(rng) };
    return messageContent ? message : hideContent(message);
  }

  #dmMessage(rng: Random, clock: Clock): GatewayMessageCreateDispatchData {
    const index = rng.int(1, DM_PEOPLE);
    const author = this.#user(this.#dmSeed, index);
    const opened = Math.max(this.#botCreated, this.#userCreated(this.#dmSeed, index)) - DISCORD_EPOCH;
    const channelId = snowflake(opened + (hash(this.#dmSeed, index, SALT.channel) % DAY), index & MASK22);
    return {
      ...this.#messageBody(rng, clock, mint(clock), channelId, author),
      nonce: mint(clock),
      content: chatText(rng),
      channel_type: ChannelType.DM,
    };
  }

  #presenceUpdate(guild: Guild, rng: Random, clock: Clock): GatewayPresenceUpdate {
    const user = this.#user(guild.seed, this.#activeIndex(guild, rng));
    const status = rng.pick([PresenceUpdateStatus.Online, PresenceUpdateStatus.Online, PresenceUpdateStatus.Online,
      PresenceUpdateStatus.Idle, PresenceUpdateStatus.DoNotDisturb, PresenceUpdateStatus.Offline] as const);
    const offline = status === PresenceUpdateStatus.Offline;
    return {
      user: { id: user.id }, status, guild_id: guild.id,
      activities: offline ? [] : activities(rng, user.id, clock.ms),
      client_status: offline ? {} : { [rng.pick(['desktop', 'mobile', 'web'] as const)]: status, ...(rng.chance(0.3) && { mobile: status }) },
    };
  }

  #typing(guild: Guild, rng: Random, clock: Clock): GatewayTypingStartDispatchData {
    const member = this.#member(guild, this.#activeIndex(guild, rng));
    return {
      channel_id: this.#textChannelId(guild, rng.int(0, guild.texts)), guild_id: guild.id, user_id: member.user.id,
      timestamp: Math.floor(clock.ms / 1000), member,
    };
  }

  #reaction(guild: Guild, rng: Random, clock: Clock, add: boolean): GatewayMessageReactionAddDispatchData {
    const member = this.#member(guild, this.#activeIndex(guild, rng));
    const custom = guild.emojis > 0 && rng.chance(0.2) ? this.#emoji(guild, rng.int(0, guild.emojis)) : undefined;
    const removal: GatewayMessageReactionRemoveDispatchData = {
      user_id: member.user.id, channel_id: this.#textChannelId(guild, rng.int(0, guild.texts)), message_id: pastId(rng, clock),
      guild_id: guild.id, burst: false, type: ReactionType.Normal,
      emoji: custom === undefined
        ? { id: null, name: rng.pick(UNICODE_EMOJIS) }
        : { id: custom.id, name: custom.name, animated: custom.animated ?? false },
    };
    if (!add) return removal;
    return { ...removal, member, message_author_id: this.#user(guild.seed, this.#activeIndex(guild, rng)).id, burst_colors: [] };
  }

  #memberUpdate(guild: Guild, rng: Random): GatewayGuildMemberUpdateDispatchData {
    const member = this.#member(guild, this.#activeIndex(guild, rng));
    return {
      ...member, guild_id: guild.id, avatar: member.avatar ?? null, banner: member.banner ?? null,
      nick: rng.chance(0.5) ? words(rng, 2, TITLE_WORDS) : null,
    };
  }

  /** A newcomer past the end of the member list: joins are traffic only and not remembered. */
  #memberAdd(guild: Guild, rng: Random, clock: Clock): GatewayGuildMemberAddDispatchData {
    const index = guild.memberCount + rng.int(0, 1_000_000);
    const { user, fields } = this.#person(guild, index);
    return { ...fields, user, roles: [], joined_at: iso(clock.ms), premium_since: null, pending: rng.chance(0.3), guild_id: guild.id };
  }

  #voiceUpdate(guild: Guild, rng: Random): APIVoiceState {
    const index = this.#activeIndex(guild, rng);
    const leaving = rng.chance(0.3);
    return {
      guild_id: guild.id, channel_id: leaving ? null : rng.pick(this.#voiceChannelIds(guild)),
      user_id: this.#user(guild.seed, index).id, member: this.#member(guild, index), session_id: this.#sessionId(guild, index),
      deaf: false, mute: false, self_deaf: rng.chance(0.1), self_mute: rng.chance(0.3), self_video: rng.chance(0.05),
      suppress: false, request_to_speak_timestamp: null,
    };
  }

  #interaction(guild: Guild, rng: Random, clock: Clock): APIChatInputApplicationCommandGuildInteraction {
    const member = this.#member(guild, this.#activeIndex(guild, rng));
    const channel = this.#textChannel(guild, rng.int(0, guild.texts));
    const commandIndex = rng.int(0, COMMANDS.length);
    const command = COMMANDS[commandIndex] ?? { name: 'help', option: 'topic' };
    return {
      id: mint(clock), application_id: this.applicationId, type: InteractionType.ApplicationCommand,
      data: {
        id: snowflake(this.#botCreated - DISCORD_EPOCH + DAY, commandIndex), name: command.name, type: ApplicationCommandType.ChatInput,
        options: [{ name: command.option, type: ApplicationCommandOptionType.String, value: words(rng, rng.int(1, 6)) }],
      },
      guild: { id: guild.id, locale: Locale.EnglishUS, features: [] },
      guild_id: guild.id, channel: { ...channel, guild_id: guild.id }, channel_id: channel.id,
      member: { ...member, permissions: EVERYONE_PERMISSIONS },
      token: `aW50ZXJhY3Rpb246${randomString(rng, 170)}`, version: 1, app_permissions: BOT_PERMISSIONS,
      locale: rng.pick(LOCALES), guild_locale: Locale.EnglishUS, entitlements: [],
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: guild.id },
      context: InteractionContextType.Guild, attachment_size_limit: 10_485_760,
    };
  }
}

/** One key of `entries` with probability proportional to its weight; undefined when there is none. */
function weightedPick<T>(rng: Random, entries: readonly (readonly [T, number])[]): T | undefined {
  let roll = rng.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [key, weight] of entries) {
    roll -= weight;
    if (roll < 0) return key;
  }
  return entries[entries.length - 1]?.[0]; // only reached through rounding
}

/** Member chunks list presences without the `guild_id` the chunk already names. */
function withoutGuildId({ user, status, activities, client_status }: GatewayPresenceUpdate): GatewayGuildMembersChunkPresence {
  return { user, status, activities, client_status };
}

function role(id: string, name: string, position: number, permissions: string, color: number, tags?: APIRole['tags']): APIRole {
  return {
    id, name, color, colors: { primary_color: color, secondary_color: null, tertiary_color: null },
    hoist: color !== 0 && position % 3 === 0, icon: null, unicode_emoji: null, position, permissions,
    managed: tags !== undefined, mentionable: false, flags: 0 as APIRole['flags'], ...(tags && { tags }),
  };
}

/** The member object with its user; copying field by field is much faster than an object spread here. */
function toMember({ user, fields: f }: Person): APIGuildMember {
  return {
    user, roles: f.roles, joined_at: f.joined_at, nick: f.nick, avatar: f.avatar, banner: f.banner,
    premium_since: f.premium_since, deaf: f.deaf, mute: f.mute, pending: f.pending, flags: f.flags,
    communication_disabled_until: f.communication_disabled_until,
  };
}

function addWeighted(cache: ShardGuilds, guild: Guild): void {
  // Busy guilds talk more, but a square root keeps the 50,000-member ones from drowning the rest.
  cache.guilds.push(guild);
  cache.cumulative.push((cache.cumulative[cache.cumulative.length - 1] ?? 0) + Math.sqrt(guild.memberCount));
}

/** A fresh id on the shard's clock; the sequence keeps ids minted in the same ms apart. */
function mint(clock: Clock): string {
  return snowflake(clock.ms - DISCORD_EPOCH, clock.worker | (clock.seq++ & 0xfff));
}

/** The id of a message sent some time before now (for edits, deletes and reactions). */
function pastId(rng: Random, clock: Clock): string {
  return snowflake(clock.ms - DISCORD_EPOCH - rng.int(1_000, 3 * DAY), rng.int(0, MASK22 + 1));
}

function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}
