/**
 * The errors a shard reports: a kind to branch on, a message that says what happened and
 * what to do, and the underlying cause. None of them ever contains the token.
 */

/** The group of what went wrong. Only `FatallyClosed` ends a shard; the others are followed by a reconnect or skip one message (see `ShardError.reconnecting`). */
export type ShardErrorKind =
  /**
   * The server closed with a code that reconnecting cannot fix (4004, 4010–4014),
   * `maxIdentifyFailures` IDENTIFY attempts in a row ended before READY, or a WorkerFleet gave
   * up on the worker holding the shard.
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
  | 'Closed'
  /** Something other than a `ShardError` ended a shard's stream: a bug to report. */
  | 'Unexpected'
  /** The worker thread holding the shard exited without being asked (a WorkerFleet restarts it). */
  | 'Worker';

/**
 * One stable, machine-readable code per situation a shard reports, to branch on or count;
 * `kind` groups them, and `reconnecting` says whether the shard is replacing its connection.
 */
export type ShardErrorCode =
  /** The websocket could not be opened, or the handshake timed out. Reconnecting. */
  | 'CONNECT_FAILED'
  /** The decompressor for the configured `compression` could not be created. The shard ends. */
  | 'DECOMPRESSOR_UNAVAILABLE'
  /** No HELLO within `timeouts.hello`. Reconnecting. */
  | 'HELLO_TIMEOUT'
  /** No READY (after IDENTIFY) or RESUMED (after RESUME) within `timeouts.ready`. Reconnecting. */
  | 'READY_TIMEOUT'
  /** An IDENTIFY ended before READY; the shard identifies again after a growing backoff. */
  | 'IDENTIFY_FAILED'
  /** `maxIdentifyFailures` IDENTIFY attempts in a row ended before READY. The shard ends. */
  | 'IDENTIFY_FAILURES_EXHAUSTED'
  /** The gateway closed with a code that reconnecting cannot fix (4004, 4010–4014). The shard ends. */
  | 'FATAL_CLOSE_CODE'
  /** The identify queue rejected (not an abort). Reconnecting after a growing backoff. */
  | 'QUEUE_FAILED'
  /** A message could not be decompressed. Reconnecting (resuming), since the stream is out of step. */
  | 'DECOMPRESS_FAILED'
  /** A message inflated past `maxInflatedSize`: skipped, and its sequence still counts. */
  | 'MESSAGE_TOO_LARGE'
  /** A message was not valid JSON. Reconnecting (resuming). */
  | 'MESSAGE_NOT_JSON'
  /** A message was JSON but not a gateway payload (no numeric `op`): skipped. */
  | 'NOT_A_PAYLOAD'
  /** A HELLO or READY the protocol forbids (no interval, a second HELLO, a READY without a session). Reconnecting. */
  | 'PROTOCOL_VIOLATION'
  /** A dispatch without a valid sequence number: skipped. */
  | 'SEQUENCE_INVALID'
  /** A dispatch whose sequence was not past the last one: skipped, it was delivered already. */
  | 'SEQUENCE_REPEATED'
  /** A wanted dispatch was not whole JSON when taken: the shard resumes from before it, so it arrives again. */
  | 'DISPATCH_NOT_JSON'
  /** A wanted dispatch was not whole JSON and could not be received again (no session, or a second time): skipped. */
  | 'DISPATCH_NOT_JSON_SKIPPED'
  /** No heartbeat ACK between two heartbeats. Reconnecting (resuming). */
  | 'ZOMBIE'
  /** A command was larger than the gateway's 4096-byte limit: not sent. */
  | 'PAYLOAD_TOO_LARGE'
  /** A command was given to, or waiting on, a shard that was closed or ended: not sent. */
  | 'SEND_AFTER_CLOSE'
  /** The shard was closed with `close()`: thrown by the pull methods once the stream is drained. */
  | 'SHARD_CLOSED'
  /** A merged stream's member ended with something other than a `ShardError` (a bug, or an `EventSource` handle that rejected with another error): it leaves the stream. */
  | 'UNEXPECTED'
  /**
   * The WorkerFleet worker holding the shard exited without being asked: it is started again
   * and the shard resumes. A command not yet confirmed written rejects with it (it may or may
   * not have gone out).
   */
  | 'WORKER_EXITED'
  /** The WorkerFleet worker holding the shard kept exiting, past `restarts.max` in `restarts.windowMs`: the shard ends. */
  | 'WORKER_GAVE_UP';

const CODES: Readonly<Record<ShardErrorCode, readonly [kind: ShardErrorKind, reconnecting: boolean]>> = {
  CONNECT_FAILED: ['Connecting', true],
  DECOMPRESSOR_UNAVAILABLE: ['Connecting', false],
  HELLO_TIMEOUT: ['Timeout', true],
  READY_TIMEOUT: ['Timeout', true],
  IDENTIFY_FAILED: ['IdentifyFailed', true],
  IDENTIFY_FAILURES_EXHAUSTED: ['FatallyClosed', false],
  FATAL_CLOSE_CODE: ['FatallyClosed', false],
  QUEUE_FAILED: ['Queue', true],
  DECOMPRESS_FAILED: ['Decompressing', true],
  MESSAGE_TOO_LARGE: ['Decompressing', false],
  MESSAGE_NOT_JSON: ['Deserializing', true],
  NOT_A_PAYLOAD: ['Deserializing', false],
  PROTOCOL_VIOLATION: ['Deserializing', true],
  SEQUENCE_INVALID: ['Deserializing', false],
  SEQUENCE_REPEATED: ['Deserializing', false],
  DISPATCH_NOT_JSON: ['Deserializing', true],
  DISPATCH_NOT_JSON_SKIPPED: ['Deserializing', false],
  ZOMBIE: ['Zombie', true],
  PAYLOAD_TOO_LARGE: ['Sending', false],
  SEND_AFTER_CLOSE: ['Sending', false],
  SHARD_CLOSED: ['Closed', false],
  UNEXPECTED: ['Unexpected', false],
  WORKER_EXITED: ['Worker', true],
  WORKER_GAVE_UP: ['FatallyClosed', false],
};

/**
 * An error from a shard, delivered as an item of its stream (or thrown, for `FatallyClosed`).
 * Branch on `code` (one per situation, stable across releases) or on `kind` (its group);
 * the message is for people and may change.
 *
 * @example
 * for await (const event of shard) {
 *   if (event.op === 'error' && !event.d.reconnecting) console.warn(event.d.code, event.d.message);
 * }
 */
export class ShardError extends Error {
  /** Always `'ShardError'`, for logs and `instanceof`-free checks. */
  override readonly name = 'ShardError';
  /** The group the code belongs to. */
  readonly kind: ShardErrorKind;
  /** Whether the shard is replacing its connection because of this error (it resumes if it can). */
  readonly reconnecting: boolean;

  /** Shards build these; a test of a bot may build one to feed its error handling. */
  constructor(
    /** What went wrong, as a stable code to branch on (its `kind` groups them). */
    readonly code: ShardErrorCode,
    message: string,
    options?: { cause?: unknown; closeCode?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    [this.kind, this.reconnecting] = CODES[code];
    this.closeCode = options?.closeCode ?? null;
  }

  /** For `FatallyClosed`, the close code that ended the shard (null when the last failed IDENTIFY ended without one); else null. */
  readonly closeCode: number | null;
}
