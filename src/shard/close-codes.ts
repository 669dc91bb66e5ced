/**
 * What a close code means for the shard: end for good, start a new session, or resume;
 * and the close frames a shard sends itself.
 */

/**
 * A websocket close frame.
 *
 * @example
 * const session = await shard.close(CloseFrame.RESUME);
 */
export class CloseFrame {
  /** Ends the session: the bot goes offline and the session cannot be resumed. */
  static readonly NORMAL = new CloseFrame(1000, 'closing connection');
  /** Closes the connection but keeps the session resumable (any code but 1000/1001 does). */
  static readonly RESUME = new CloseFrame(4000, 'resuming connection');

  /**
   * @throws RangeError when `code` is not a close code a client may send (1000, or 3000–4999).
   */
  constructor(
    /** The websocket close code sent. */
    readonly code: number,
    /** The close reason sent (at most 123 bytes of UTF-8). */
    readonly reason = '',
  ) {
    if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new RangeError(`CloseFrame code must be 1000 or an integer from 3000 to 4999, got ${String(code)}`);
    }
    if (Buffer.byteLength(reason) > 123) throw new RangeError('CloseFrame reason must be at most 123 bytes');
    Object.freeze(this);
  }

  /** Whether the session stays resumable after a close with this frame. */
  get resumable(): boolean {
    return this.code !== 1000 && this.code !== 1001;
  }
}

/** What the shard does after the server closed the connection with a code. */
export type CloseAction = 'fatal' | 'identify' | 'resume';

/** Codes after which reconnecting cannot help (protocol.md section 4): bad token, shard, version or intents. */
const FATAL = new Set([4004, 4010, 4011, 4012, 4013, 4014]);
/** Codes after which the session is gone: identify again, do not try to resume first. */
const NEW_SESSION = new Set([4007, 4009]);

/**
 * Classifies a close code from the server (or null for a drop without one).
 *
 * @example
 * closeAction(4004); // 'fatal'
 * closeAction(4009); // 'identify'
 * closeAction(1006); // 'resume'
 */
export function closeAction(code: number | null): CloseAction {
  if (code !== null && FATAL.has(code)) return 'fatal';
  if (code !== null && NEW_SESSION.has(code)) return 'identify';
  return 'resume';
}

const FATAL_ADVICE: Record<number, string> = {
  4004: 'authentication failed: the token is invalid or was reset',
  4010: 'invalid shard: check the shard id and total',
  4011: 'sharding required: the bot is in too many guilds for this shard count, use more shards',
  4012: 'invalid API version',
  4013: 'invalid intents: the intents value has undefined bits',
  4014: 'disallowed intents: enable the privileged intents in the Developer Portal or remove them',
};

/** A sentence explaining a fatal close code and what to do about it. */
export function fatalCloseAdvice(code: number): string {
  return FATAL_ADVICE[code] ?? `closed with ${code}`;
}
