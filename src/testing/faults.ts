/**
 * Faults the simulator can inflict on its clients, one at a time by script or at random
 * from a seeded chaos schedule.
 */
import type { Random } from './random.js';

/**
 * One fault. Faults that act on a live connection apply at once; `delay-hello` and
 * `withhold-hello` arm the next new connection (a connection has no shard before it
 * identifies); `delay-ready` and `withhold-ready` arm the next IDENTIFY of the target shard.
 */
export type Fault =
  /** Destroy the TCP connection without a close frame (the client sees 1006). */
  | {
      /** Fault kind. */
      readonly type: 'drop';
    }
  /** Close with a code; 4004, 4007, 4009 and 4010–4014 also end the session. */
  | {
      /** Fault kind. */
      readonly type: 'close';
      /** Close code the server sends: 1000–4999, not 1005 or 1006. */
      readonly code: number;
      /** Close reason; default `'closed by fault injection'`. */
      readonly reason?: string;
    }
  /** Send op 7 RECONNECT, then close after `reconnectGrace` if the client has not. */
  | {
      /** Fault kind. */
      readonly type: 'reconnect';
    }
  /** Send op 9 INVALID_SESSION; `resumable: false` ends the session first. */
  | {
      /** Fault kind. */
      readonly type: 'invalid-session';
      /** The op 9 `d`: whether the client may still resume the session. */
      readonly resumable: boolean;
    }
  /** Send op 1: the server asks for a heartbeat now. */
  | {
      /** Fault kind. */
      readonly type: 'request-heartbeat';
    }
  /** Stop answering heartbeats with op 11 on this connection (a zombie connection). */
  | {
      /** Fault kind. */
      readonly type: 'stop-acks';
    }
  /** Send bytes the client cannot decompress (or, without compression, invalid UTF-8). */
  | {
      /** Fault kind. */
      readonly type: 'corrupt-frame';
    }
  /** Send a message that is not valid JSON, properly compressed. */
  | {
      /** Fault kind. */
      readonly type: 'invalid-json';
    }
  /** Send a payload with an opcode Discord does not define (default 99). */
  | {
      /** Fault kind. */
      readonly type: 'unknown-opcode';
      /** Opcode to send; default 99. */
      readonly op?: number;
    }
  /** Dispatch an event name no client knows, with a sequence number like any dispatch. */
  | {
      /** Fault kind. */
      readonly type: 'unknown-event';
      /** Event name to dispatch; default `'GLOAMING_UNKNOWN_EVENT'`. */
      readonly t?: string;
    }
  /** Dispatch a GUILD_CREATE of a new guild whose JSON is at least `bytes` long (default 5 MB). */
  | {
      /** Fault kind. */
      readonly type: 'huge-guild-create';
      /** Minimum size of the GUILD_CREATE's JSON, in bytes; default 5 MiB. */
      readonly bytes?: number;
    }
  /** Send the next dispatch split into `pieces` frames (default 8). */
  | {
      /** Fault kind. */
      readonly type: 'split-message';
      /** Number of frames to split the next dispatch into (at least 2); default 8. */
      readonly pieces?: number;
    }
  /** Send the next connection's HELLO only after `ms`. */
  | {
      /** Fault kind. */
      readonly type: 'delay-hello';
      /** How long to hold HELLO after the connection opens, in ms. */
      readonly ms: number;
    }
  /** Never send the next connection's HELLO. */
  | {
      /** Fault kind. */
      readonly type: 'withhold-hello';
    }
  /** Hold READY (and what follows) of the target shard's next IDENTIFY for `ms`. */
  | {
      /** Fault kind. */
      readonly type: 'delay-ready';
      /** How long to hold READY after the IDENTIFY is accepted, in ms. */
      readonly ms: number;
    }
  /** Never send READY for the target shard's next IDENTIFY. */
  | {
      /** Fault kind. */
      readonly type: 'withhold-ready';
    }
  /**
   * Send any bytes as one websocket message, as a broken or hostile server might. `data`
   * goes through the connection's compression unless `encode` is false, is then cut to its
   * first `truncate` bytes and has the byte at `corruptAt` inverted, and goes out as a
   * binary message (a text one when `binary` is false). Chaos never picks it: it needs data.
   */
  | {
      /** Fault kind. */
      readonly type: 'raw-frame';
      /** The message to send; a string is sent as its UTF-8 bytes. */
      readonly data: string | Uint8Array;
      /** Whether `data` goes through the connection's compression (if it has one); default true. */
      readonly encode?: boolean;
      /** Keep only this many bytes of the (compressed) message; default all. */
      readonly truncate?: number;
      /** Index of a byte to invert (wrapping past the end); default none. */
      readonly corruptAt?: number;
      /** Send as a binary message; false sends a text one. Default true. */
      readonly binary?: boolean;
    };

/** The name of a fault kind. */
export type FaultType = Fault['type'];

/** The fault kinds chaos can draw at random (all but `raw-frame`, which needs data). */
export type RandomFaultType = Exclude<FaultType, 'raw-frame'>;

/**
 * Where a fault applies: the live connections of a shard, or one connection by id.
 * Without a target a live-connection fault hits every open connection, identified or not.
 */
export interface FaultTarget {
  /** Hit only the connections serving this shard id (for READY faults: arm that shard's next IDENTIFY). */
  readonly shard?: number;
  /** Hit only the connection with this id, as in the log's `connection` field. */
  readonly connection?: number;
}

/** Close codes a server may send that a client is expected to survive (chaos picks from these). */
export const SURVIVABLE_CLOSE_CODES: readonly number[] = [
  1000, 1001, 1011, 4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009,
];

/** Close codes after which the simulator forgets the session: the client must identify. */
export const SESSION_ENDING_CLOSE_CODES: ReadonlySet<number> = new Set([4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014]);

/** Options of the seeded random chaos mode. */
export interface ChaosOptions {
  /** Seed of the fault schedule; the same seed and traffic give the same faults. */
  readonly seed: number;
  /** Mean time between two faults across the whole gateway, in ms (exponentially distributed). */
  readonly meanIntervalMs: number;
  /** Relative weights of the fault kinds; a kind left out is never chosen. Defaults to all kinds. */
  readonly weights?: Partial<Record<RandomFaultType, number>>;
}

/** Default chaos mix: frequent network faults, rare expensive ones. */
export const DEFAULT_CHAOS_WEIGHTS: Readonly<Record<RandomFaultType, number>> = {
  drop: 10,
  close: 10,
  reconnect: 8,
  'invalid-session': 6,
  'request-heartbeat': 3,
  'stop-acks': 4,
  'corrupt-frame': 4,
  'invalid-json': 4,
  'unknown-opcode': 4,
  'unknown-event': 4,
  'huge-guild-create': 1,
  'split-message': 6,
  'delay-hello': 3,
  'withhold-hello': 1,
  'delay-ready': 3,
  'withhold-ready': 1,
};

/**
 * Draws one concrete fault of a kind chosen by `weights`.
 *
 * @example
 * const fault = randomFault(new Random(1), DEFAULT_CHAOS_WEIGHTS);
 */
export function randomFault(rng: Random, weights: Partial<Record<RandomFaultType, number>>): Fault {
  const type = rng.weighted(weights as Record<RandomFaultType, number>);
  switch (type) {
    case 'close':
      return { type, code: rng.pick(SURVIVABLE_CLOSE_CODES) };
    case 'invalid-session':
      return { type, resumable: rng.chance(0.5) };
    case 'delay-hello':
    case 'delay-ready':
      return { type, ms: rng.int(100, 3_000) };
    case 'split-message':
      return { type, pieces: rng.int(2, 32) };
    case 'huge-guild-create':
      return { type, bytes: 5 * 1024 * 1024 };
    default:
      return { type };
  }
}

/**
 * Checks a fault's fields and throws a `TypeError` naming the bad one, so a typo in a
 * test script fails loudly instead of doing nothing.
 */
export function validateFault(fault: Fault): void {
  if (!(fault.type in DEFAULT_CHAOS_WEIGHTS) && fault.type !== 'raw-frame') throw new TypeError(`unknown fault type ${JSON.stringify(fault.type)}`);
  const positive = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new TypeError(`fault ${fault.type}: ${name} must be a non-negative number, got ${String(value)}`);
    }
  };
  switch (fault.type) {
    case 'close':
      if (!Number.isInteger(fault.code) || fault.code < 1000 || fault.code > 4999 || fault.code === 1005 || fault.code === 1006) {
        throw new TypeError(`fault close: code must be a sendable close code (1000–4999, not 1005/1006), got ${fault.code}`);
      }
      break;
    case 'delay-hello':
    case 'delay-ready':
      positive('ms', fault.ms);
      break;
    case 'huge-guild-create':
      positive('bytes', fault.bytes);
      break;
    case 'split-message':
      positive('pieces', fault.pieces);
      break;
    case 'raw-frame':
      if (typeof fault.data !== 'string' && !(fault.data instanceof Uint8Array)) {
        throw new TypeError('fault raw-frame: data must be a string or a Uint8Array');
      }
      positive('truncate', fault.truncate);
      positive('corruptAt', fault.corruptAt);
      break;
    default:
      break;
  }
}
