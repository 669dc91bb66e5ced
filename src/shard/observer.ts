/**
 * What a shard tells whoever watches it — logs, metrics, a session store, a worker host —
 * from the single places things change, so none of them reaches into the shard.
 */
import { errorFields } from '../observability/logger.js';
import type { DisconnectCause } from './disconnect.js';
import type { ShardError } from './errors.js';
import type { Session } from './session.js';
import type { Shard, ShardState } from './shard.js';

/**
 * Callbacks for what happens to a shard; implement the ones you need. They run synchronously
 * where the change happens, so keep them short (`sequenceChanged` runs once per dispatch). One
 * that throws does not disturb the shard: it is logged as an error through the shard's
 * `logger`, or with `process.emitWarning` when it has none (a bug should not vanish).
 *
 * @example
 * shard.observe({
 *   stateChanged: (shard, state) => console.log(shard.id.number, state.kind),
 *   reconnecting: (shard, { cause, delayMs }) => console.log(`reconnecting in ${delayMs} ms after ${describeCause(cause)}`),
 * });
 */
export interface ShardObserver {
  /** The state moved (`#setState`): Disconnected, Identifying, Resuming, Active, FatallyClosed. */
  stateChanged?(shard: Shard, state: ShardState, previous: ShardState): void;
  /** A session began (READY), changed its resume URL, or ended (`null`). Not called per sequence. */
  sessionChanged?(shard: Shard, session: Session | null): void;
  /** A dispatch with a new sequence was received (or skipped as oversized): the resume point moved to `sequence`. */
  sequenceChanged?(shard: Shard, sequence: number): void;
  /** A connection is being opened to `url` (no token in it), to resume a session or to identify. */
  connecting?(shard: Shard, connect: { readonly url: string; readonly resuming: boolean }): void;
  /** HELLO arrived: heartbeats every `heartbeatIntervalMs`. */
  hello?(shard: Shard, heartbeatIntervalMs: number): void;
  /** The shard asked the identify queue for a turn. */
  identifyQueued?(shard: Shard): void;
  /** The queue admitted the shard and IDENTIFY was sent, `waitMs` after it asked. */
  identifySent?(shard: Shard, waitMs: number): void;
  /** RESUME was sent for `session`. */
  resumeSent?(shard: Shard, session: Session): void;
  /** RESUMED arrived; the gateway replayed `replayed` dispatches before it. */
  resumed?(shard: Shard, resume: { readonly replayed: number }): void;
  /**
   * A connection ended: the close the consumer reads (the server's code, null for a drop by
   * either side, or the user's frame) and why.
   */
  closed?(shard: Shard, close: { readonly code: number | null; readonly reason: string; readonly cause: DisconnectCause }): void;
  /** The shard will connect again after `delayMs`; `attempts` counts reconnects since it was last Active. */
  reconnecting?(shard: Shard, reconnect: { readonly cause: DisconnectCause; readonly delayMs: number; readonly attempts: number }): void;
  /** An error item was queued for the consumer (or the shard ended with it, kind `FatallyClosed`). */
  error?(shard: Shard, error: ShardError): void;
}

/** Calls one callback of every observer; one that throws is reported and skipped. */
export function notify<K extends keyof ShardObserver>(
  observers: readonly ShardObserver[],
  name: K,
  ...args: Parameters<NonNullable<ShardObserver[K]>>
): void {
  for (const observer of observers) {
    const callback = observer[name] as ((...values: typeof args) => void) | undefined;
    if (callback === undefined) continue;
    try {
      callback.apply(observer, args);
    } catch (error) {
      const [shard] = args;
      const warning = `gloaming: a shard observer's ${name} threw: ${errorFields(error).message}`;
      try {
        if (shard.config.logger === null) process.emitWarning(warning);
        else shard.config.logger.error({ shardId: shard.id.number, callback: name, err: errorFields(error) }, 'a shard observer threw');
      } catch {
        process.emitWarning(warning); // the logger threw too: nothing may escape onto the receive path
      }
    }
  }
}
