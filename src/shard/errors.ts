/**
 * The errors a shard reports: a kind to branch on, a message that says what happened and
 * what to do, and the underlying cause. None of them ever contains the token.
 */

/** What went wrong. Only `FatallyClosed` ends a shard; the others are followed by a reconnect or skip one message. */
export type ShardErrorKind =
  /**
   * The server closed with a code that reconnecting cannot fix (4004, 4010–4014), or
   * `maxIdentifyFailures` IDENTIFY attempts in a row ended before READY.
   */
  | 'FatallyClosed'
  /** Opening the websocket failed or timed out. */
  | 'Connecting'
  /** HELLO or READY/RESUMED did not arrive in time. */
  | 'Timeout'
  /**
   * An IDENTIFY ended before READY (a close, a drop, op 9 or a timeout): the shard waits
   * longer each time, and ends with `FatallyClosed` after `maxIdentifyFailures` in a row.
   */
  | 'IdentifyFailed'
  /** The identify queue rejected (not an abort): the shard reconnects after a growing backoff and asks again. */
  | 'Queue'
  /** A message could not be decompressed, or inflated past the size cap. */
  | 'Decompressing'
  /** A message was not valid JSON, not a gateway payload, or one the protocol forbids (a HELLO without an interval, a dispatch without a new sequence number). */
  | 'Deserializing'
  /** No heartbeat ACK arrived between two heartbeats. */
  | 'Zombie'
  /** A payload could not be sent (too large, or the shard closed). */
  | 'Sending'
  /** The shard was closed with `close()`: thrown by the pull methods once the stream is drained. */
  | 'Closed';

/**
 * An error from a shard, delivered as an item of its stream (or thrown, for `FatallyClosed`).
 *
 * @example
 * for await (const event of shard) {
 *   if (event.op === 'error') console.warn(event.d.kind, event.d.message);
 * }
 */
export class ShardError extends Error {
  override readonly name = 'ShardError';

  constructor(
    readonly kind: ShardErrorKind,
    message: string,
    options?: { cause?: unknown; closeCode?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.closeCode = options?.closeCode ?? null;
  }

  /** For `FatallyClosed`, the close code that ended the shard (null when the last failed IDENTIFY ended without one); else null. */
  readonly closeCode: number | null;
}
