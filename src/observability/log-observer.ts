/**
 * A shard's lifecycle as log lines: a {@link ShardObserver} that writes each step to a
 * logger with structured fields. Hung on a shard by its `logger` option.
 */
import { describeCause } from '../shard/disconnect.js';
import type { ShardObserver } from '../shard/observer.js';
import type { Logger } from './logger.js';

/** A millisecond count as logged: whole milliseconds. */
const ms = (value: number): number => Math.round(value);

/**
 * The observer that logs a shard's lifecycle to `logger` (already bound to the shard's id):
 * connect and HELLO at debug; identify with its queue wait, READY, resume with the dispatches
 * replayed, closes and reconnects at info (warn from the second attempt in a row); errors at
 * warn; the end of a shard at error.
 *
 * @example
 * shard.observe(shardLogObserver(pino().child({ shardId: shard.id.number })));
 */
export function shardLogObserver(logger: Logger): ShardObserver {
  return {
    connecting: (shard, { url, resuming }) => {
      const attempt = shard.state.kind === 'Disconnected' ? shard.state.attempts : 0;
      // Origin and path only: a gatewayUrl may carry credentials or a query of its own.
      const { origin, pathname } = new URL(url);
      logger.debug({ url: `${origin}${pathname}`, resuming, attempt }, 'connecting');
    },
    hello: (_shard, heartbeatIntervalMs) => logger.debug({ heartbeatIntervalMs }, 'hello'),
    identifyQueued: () => logger.debug({}, 'waiting for an identify turn'),
    identifySent: (_shard, waitMs) => logger.info({ waitMs: ms(waitMs) }, 'identify sent'),
    resumeSent: (_shard, session) => logger.info({ sequence: session.sequence }, 'resume sent'),
    resumed: (_shard, { replayed }) => logger.info({ replayed }, 'resumed'),
    stateChanged: (shard, state, previous) => {
      if (state.kind === 'Active' && previous.kind === 'Identifying') logger.info({ sequence: shard.session?.sequence ?? null }, 'ready');
      else logger.trace({ state: state.kind, previous: previous.kind }, 'state changed');
    },
    closed: (_shard, { code, reason, cause }) => {
      if (cause.kind === 'UserClose') logger.info({ code }, 'closed');
      else logger.info({ code, reason, cause: cause.kind, detail: describeCause(cause) }, 'connection closed');
    },
    reconnecting: (_shard, { cause, delayMs, attempts }) => {
      const fields = { cause: cause.kind, detail: describeCause(cause), attempt: attempts, delayMs: ms(delayMs) };
      // The first reconnect is routine (Discord asks for them); one after another is trouble.
      if (attempts > 1) logger.warn(fields, 'reconnecting');
      else logger.info(fields, 'reconnecting');
    },
    error: (_shard, error) => {
      const fields = { code: error.code, kind: error.kind, closeCode: error.closeCode, message: error.message };
      if (error.kind === 'FatallyClosed') logger.error(fields, 'shard ended for good');
      else logger.warn(fields, 'shard error');
    },
  };
}
