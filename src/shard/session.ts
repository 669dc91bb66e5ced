/**
 * A resumable gateway session (id, last sequence, resume URL) and its JSON form, so a
 * session can outlive the shard, and the process, that opened it.
 */
import { inspect } from 'node:util';

const show = (value: unknown): string => inspect(value, { depth: 0, breakLength: Infinity, maxStringLength: 40, maxArrayLength: 4 });

/** The JSON form of a {@link Session}, as `toJSON` writes it and `fromJSON` reads it. */
export interface SessionJSON {
  /** The `session_id` from READY. */
  id: string;
  /** The last dispatch sequence number the session saw. */
  sequence: number;
  /** The `resume_gateway_url` from READY, or `null` to resume on the base gateway URL. */
  resumeUrl: string | null;
}

/** Throws a TypeError naming the bad field unless the three parts make a valid session. */
function check(where: string, id: unknown, sequence: unknown, resumeUrl: unknown): void {
  if (typeof id !== 'string' || id === '') throw new TypeError(`${where} id must be a non-empty string, got ${show(id)}`);
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new TypeError(`${where} sequence must be a non-negative integer, got ${show(sequence)}`);
  }
  if (resumeUrl !== null && (typeof resumeUrl !== 'string' || resumeUrl === '')) {
    throw new TypeError(`${where} resumeUrl must be a non-empty string or null, got ${show(resumeUrl)}`);
  }
}

/**
 * A gateway session that can be resumed: by this shard after a disconnect, or by a new
 * Shard (this process or a later one). Immutable: a shard hands out a new `Session` as the
 * sequence advances.
 *
 * Whether `resumeUrl` is used is the shard's decision (a `ws:` URL to another machine is
 * skipped unless `allowInsecureUrls` is set), so any non-empty string is accepted here.
 *
 * @throws TypeError, naming the field, when `id` is not a non-empty string, `sequence` is
 *   not a non-negative safe integer, or `resumeUrl` is neither a non-empty string nor null.
 *
 * @example
 * const session = await shard.close(CloseFrame.RESUME);
 * await writeFile('session.json', JSON.stringify(session));
 * // later, maybe in another process:
 * const resumed = Session.fromJSON(JSON.parse(await readFile('session.json', 'utf8')));
 * new Shard(ShardId.ONE, { token, intents, session: resumed });
 */
export class Session {
  /** The `session_id` from READY. */
  readonly id: string;
  /** The last dispatch sequence number seen; a resume replays what came after it. */
  readonly sequence: number;
  /** The `resume_gateway_url` from READY; `null` means resume on the base gateway URL. */
  readonly resumeUrl: string | null;

  /**
   * @param id - the `session_id` from READY.
   * @param sequence - the last sequence number seen, a non-negative integer.
   * @param resumeUrl - the `resume_gateway_url` from READY, or `null` for the base URL.
   */
  constructor(id: string, sequence: number, resumeUrl: string | null) {
    check('Session', id, sequence, resumeUrl);
    this.id = id;
    this.sequence = sequence;
    this.resumeUrl = resumeUrl;
    Object.freeze(this);
  }

  /**
   * A new `Session` with the same id and resume URL at `sequence`.
   *
   * @throws TypeError when `sequence` is not a non-negative safe integer.
   *
   * @example
   * const next = session.withSequence(session.sequence + 1);
   */
  withSequence(sequence: number): Session {
    return new Session(this.id, sequence, this.resumeUrl);
  }

  /**
   * The plain-object form, for `JSON.stringify` and session stores.
   *
   * @example
   * JSON.stringify(new Session('abc', 42, null)); // '{"id":"abc","sequence":42,"resumeUrl":null}'
   */
  toJSON(): SessionJSON {
    return { id: this.id, sequence: this.sequence, resumeUrl: this.resumeUrl };
  }

  /**
   * Reads a session back from its JSON form (already parsed). Fields other than `id`,
   * `sequence` and `resumeUrl` are ignored, so a store may keep its own alongside.
   *
   * @throws TypeError, naming the bad field, when `value` is not an object or a field is
   *   missing or invalid.
   *
   * @example
   * const session = Session.fromJSON(JSON.parse(text));
   */
  static fromJSON(value: unknown): Session {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TypeError(`Session JSON must be an object, got ${show(value)}`);
    }
    const { id, sequence, resumeUrl } = value as Record<string, unknown>;
    check('Session JSON field', id, sequence, resumeUrl);
    return new Session(id as string, sequence as number, resumeUrl as string | null);
  }
}
