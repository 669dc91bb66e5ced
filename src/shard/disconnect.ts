/**
 * Why a shard lost its connection, and what it does next: one pure decision from the cause
 * and the failures so far — end for good, or resume or identify after a delay. Logs and
 * metrics name a disconnect by the same cause.
 */
import { closeAction } from './close-codes.js';

/**
 * Why a connection ended. `kind` is stable: metrics label reconnects with it.
 *
 * @example
 * shard.observe({ reconnecting: (shard, { cause }) => console.log(shard.id.number, cause.kind, describeCause(cause)) });
 */
export type DisconnectCause =
  /** The gateway asked for a reconnect (op 7). */
  | {
      /** The gateway sent op 7 RECONNECT. */
      readonly kind: 'Reconnect';
    }
  /** The gateway invalidated the session (op 9); `resumable` is its `d`. */
  | {
      /** The gateway sent op 9 INVALID_SESSION. */
      readonly kind: 'InvalidSession';
      /** Whether the session may still be resumed; false means a new IDENTIFY, after 1–5 s. */
      readonly resumable: boolean;
    }
  /** No heartbeat ACK came between two heartbeats. */
  | {
      /** The shard dropped a connection that stopped acknowledging heartbeats. */
      readonly kind: 'Zombie';
    }
  /** The gateway closed the connection, or it dropped (1006: no close frame; 1005: one without a code). */
  | {
      /** The connection closed without the shard asking. */
      readonly kind: 'CloseCode';
      /** The close code received: 1006 when it dropped without a close frame, 1005 for a frame without a code. */
      readonly code: number;
      /** The close reason the gateway sent; empty when there was none. */
      readonly reason: string;
    }
  /** HELLO, READY or RESUMED did not come in time. */
  | {
      /** A step of the handshake took too long. */
      readonly kind: 'Timeout';
      /** What never came: HELLO after connecting, READY after IDENTIFY, RESUMED after RESUME. */
      readonly waitingFor: 'HELLO' | 'READY' | 'RESUMED';
      /** How long the shard waited, in ms (its `timeouts.hello` or `timeouts.ready`). */
      readonly ms: number;
    }
  /** A message did not decompress: the compression context cannot be trusted any more. */
  | {
      /** A message failed to decompress, so the shard dropped the connection. */
      readonly kind: 'Decompression';
    }
  /** A message the shard could not act on (not JSON, a broken HELLO or READY, a dispatch received again). */
  | {
      /** The shard dropped the connection over a message it could not act on. */
      readonly kind: 'InvalidPayload';
      /** What was wrong with the message, in a few words for logs. */
      readonly problem: string;
    }
  /** The identify queue rejected (a shared queue that lost its store). */
  | {
      /** The identify queue failed to grant this shard its IDENTIFY. */
      readonly kind: 'QueueFailed';
    }
  /** The websocket could not be opened. */
  | {
      /** The connection closed before the websocket opened. */
      readonly kind: 'Transport';
    }
  /** `shard.close()` was called with this close code. */
  | {
      /** The user closed the shard. */
      readonly kind: 'UserClose';
      /** The close code of the `CloseFrame` given to `shard.close()` (1000 by default). */
      readonly code: number;
    };

/**
 * What the shard does after a disconnect. `stop` is the user's close; `fatal` ends the shard
 * (`closeCode`: a close code reconnecting cannot fix; `identifyFailures`: too many IDENTIFYs
 * in a row ended before READY).
 */
export type ReconnectDecision =
  | {
      /** The user closed the shard: no reconnect. */
      readonly action: 'stop';
    }
  | {
      /** The shard ends for good. */
      readonly action: 'fatal';
      /** Why it ends: a close code reconnecting cannot fix, or `maxIdentifyFailures` IDENTIFYs in a row ended before READY. */
      readonly reason: 'closeCode' | 'identifyFailures';
    }
  | {
      /** Reconnect and RESUME the session, or IDENTIFY a new one. */
      readonly action: 'resume' | 'identify';
      /** How long to wait before reconnecting, in ms; 0 means at once. */
      readonly delayMs: number;
    };

/** Backoff settings, as in the shard config. */
export interface BackoffOptions {
  /** Delay before the second attempt, in ms. */
  readonly initial: number;
  /** The cap, in ms. */
  readonly max: number;
  /** Spread each delay over [delay/2, delay) so shards that failed together retry apart. */
  readonly jitter: boolean;
}

/** What the decision depends on besides the cause; the counts include this disconnect. */
export interface ReconnectHistory {
  /** Reconnects since the shard was last Active. */
  readonly attempts: number;
  /** IDENTIFYs in a row that ended before READY. */
  readonly identifyFailures: number;
  /** Identify queue rejections in a row. */
  readonly queueFailures: number;
  /** The shard's `maxIdentifyFailures`: reaching it ends the shard. */
  readonly maxIdentifyFailures: number;
  /** The shard's `backoff`. */
  readonly backoff: BackoffOptions;
}

/**
 * The delay before reconnect attempt `attempt` (1-based): the first at once, then exponential
 * backoff, capped, with optional jitter, so a fleet that lost the network does not reconnect
 * in lockstep.
 *
 * @example
 * backoffDelay(1, { initial: 1000, max: 60_000, jitter: false }); // 0
 * backoffDelay(3, { initial: 1000, max: 60_000, jitter: false }); // 2000
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  if (attempt <= 1) return 0;
  const delay = Math.min(options.max, options.initial * 2 ** (attempt - 2));
  return options.jitter ? delay * (0.5 + random() / 2) : delay;
}

/**
 * Decides what follows a disconnect. A fatal close code ends the shard; so does the
 * `maxIdentifyFailures`-th IDENTIFY in a row that ended before READY, since a gateway that
 * refuses every IDENTIFY would otherwise spend the daily budget in a loop. op 9 `false` and
 * closes 4007/4009 start a new session, after 1–5 s for op 9 as Discord asks; anything else
 * resumes. The delay grows with the reconnect attempts, and with failed identifies and queue
 * rejections (each of which connected, so the attempts started over).
 *
 * @example
 * decideReconnect({ kind: 'InvalidSession', resumable: false }, history); // { action: 'identify', delayMs: 1000–5000 }
 */
export function decideReconnect(cause: DisconnectCause, history: ReconnectHistory, random: () => number = Math.random): ReconnectDecision {
  if (cause.kind === 'UserClose') return { action: 'stop' };
  const onClose = cause.kind === 'CloseCode' ? closeAction(cause.code === 1005 || cause.code === 1006 ? null : cause.code) : null;
  if (onClose === 'fatal') return { action: 'fatal', reason: 'closeCode' };
  if (history.identifyFailures >= history.maxIdentifyFailures) return { action: 'fatal', reason: 'identifyFailures' };
  const newSession = onClose === 'identify' || (cause.kind === 'InvalidSession' && !cause.resumable);
  const minimum = cause.kind === 'InvalidSession' && !cause.resumable ? 1_000 + random() * 4_000 : 0;
  const { backoff } = history;
  const failures = history.identifyFailures + history.queueFailures;
  const delayMs = Math.max(minimum, backoffDelay(history.attempts, backoff, random), backoffDelay(failures + 1, backoff, random));
  return { action: newSession ? 'identify' : 'resume', delayMs };
}

/**
 * A few words for a cause, for error messages and logs.
 *
 * @example
 * describeCause({ kind: 'CloseCode', code: 4000, reason: '' }); // 'close 4000'
 */
export function describeCause(cause: DisconnectCause): string {
  switch (cause.kind) {
    case 'Reconnect':
      return 'op 7 (reconnect)';
    case 'InvalidSession':
      return cause.resumable ? 'op 9 (invalid session, resumable)' : 'op 9 (invalid session)';
    case 'Zombie':
      return 'no heartbeat ACK';
    case 'CloseCode':
      return `close ${cause.code}${cause.reason === '' ? '' : ` (${JSON.stringify(cause.reason)})`}`;
    case 'Timeout':
      return `no ${cause.waitingFor} within ${cause.ms} ms`;
    case 'Decompression':
      return 'a message that did not decompress';
    case 'InvalidPayload':
      return cause.problem;
    case 'QueueFailed':
      return 'the identify queue failed';
    case 'Transport':
      return 'could not connect';
    case 'UserClose':
      return `closed by the user (${cause.code})`;
  }
}
