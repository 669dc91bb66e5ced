/**
 * Where a gateway service and its consumers meet on Redis: the name of every key, and what
 * an event entry holds. One stream per event type, so a consumer reads only the types it
 * wants and a GUILD_CREATE flood does not queue in front of MESSAGE_CREATE.
 */

/** The prefix of every key of the event bus unless another is given (one per bot). */
export const DEFAULT_BUS_PREFIX = 'gloaming:bus:';

/** How many entries each event stream keeps, about (`XADD MAXLEN ~`), unless another cap is given. */
export const DEFAULT_STREAM_CAP = 100_000;

/** Commands kept per shard's stream, about: a service reads them as they come, the cap bounds one nobody reads. */
export const COMMAND_CAP = 1_000;
/** Answers kept per consumer, and for how long after the last: the consumer that asked reads them at once. */
export const REPLY_CAP = 1_000;
export const REPLY_TTL_MS = 60_000;

/** The keys of one bus. */
export interface BusKeys {
  /** The stream of one event type. */
  events(type: string): string;
  /** The stream a shard's owning service reads commands from. */
  commands(shard: number): string;
  /** The stream a consumer reads its commands' answers from. */
  replies(group: string, consumer: string): string;
  /** Per group, shard and session: which entry of each sequence was handed out (a sorted set). */
  handed(group: string, shard: number, session: string): string;
  /** Entries of a group delivered too often, kept instead of dropped. */
  deadLetter(group: string): string;
  /** The shard total, written by every service at start (for routing by guild). */
  readonly total: string;
}

/** The keys under `prefix`. */
export function busKeys(prefix: string = DEFAULT_BUS_PREFIX): BusKeys {
  return {
    events: (type) => `${prefix}events:${type}`,
    commands: (shard) => `${prefix}commands:${shard}`,
    replies: (group, consumer) => `${prefix}replies:${group}:${consumer}`,
    handed: (group, shard, session) => `${prefix}handed:${group}:${shard}:${session}`,
    deadLetter: (group) => `${prefix}dead:${group}`,
    total: `${prefix}total`,
  };
}

/** One event as it sits in a stream. */
export interface BusEntry {
  readonly shard: number;
  readonly session: string;
  readonly sequence: number;
  readonly type: string;
  /** The dispatch's `d`, as JSON text. */
  readonly data: string;
}

/** The names of an entry's fields, in the order the service writes them. */
export const ENTRY_FIELD_NAMES = ['shard', 'session', 'seq', 't', 'd'] as const;

/** The values of an entry's fields, in the order of {@link ENTRY_FIELD_NAMES}. */
export const entryValues = (shard: number, session: string, sequence: number, type: string, data: string): string[] => [String(shard), session, String(sequence), type, data];

/** The fields of an entry (name, value, …), in the order the service writes them. */
export const entryFields = (shard: number, session: string, sequence: number, type: string, data: string): string[] => {
  const values = entryValues(shard, session, sequence, type, data);
  return ENTRY_FIELD_NAMES.flatMap((name, at) => [name, values[at] as string]);
};

/** An entry's fields (as Redis returns them: name, value, …), or null for one that is not an event of ours. */
export function parseEntry(fields: readonly string[]): BusEntry | null {
  const { shard, session, seq, t, d } = fieldsOf(fields);
  const entry = { shard: Number(shard), session, sequence: Number(seq), type: t, data: d };
  if (!Number.isSafeInteger(entry.shard) || !Number.isSafeInteger(entry.sequence) || session === undefined || t === undefined || d === undefined) return null;
  return entry as BusEntry;
}

/** Stream entry fields (name, value, …) as an object. */
export function fieldsOf(fields: readonly string[]): Record<string, string | undefined> {
  const object: Record<string, string | undefined> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) object[fields[i] as string] = fields[i + 1];
  return object;
}

/** The shard of a guild: `(guild_id >> 22) % total`. */
export function shardOfGuild(guildId: string, total: number): number {
  if (!/^\d{1,20}$/.test(guildId)) throw new TypeError(`a guild id is a snowflake of digits, got ${JSON.stringify(guildId)}`);
  return Number((BigInt(guildId) >> 22n) % BigInt(total));
}
