/**
 * What a shard yields: gateway payloads typed by discord-api-types, plus the close of a
 * connection and non-fatal errors as items, so a consumer's loop never breaks on them.
 */
import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayReceivePayload } from 'discord-api-types/v10';
import type { ShardError } from './errors.js';

/** The connection closed; `code` is null for a drop without a close frame. The shard reconnects unless the code was fatal. */
export interface GatewayCloseEvent {
  /** Marks a close, where a payload has its opcode. */
  readonly op: 'close';
  /** Always null: a close is no dispatch. */
  readonly t: null;
  /** Always null: a close has no sequence. */
  readonly s: null;
  /** How the connection closed. */
  readonly d: {
    /** The close code, or null for a drop without a close frame. */
    readonly code: number | null;
    /** The close frame's reason, or '' without one. */
    readonly reason: string;
  };
}

/** Something went wrong that the shard recovers from by itself (it reconnects when needed). */
export interface ShardErrorEvent {
  /** Marks an error, where a payload has its opcode. */
  readonly op: 'error';
  /** Always null: an error is no dispatch. */
  readonly t: null;
  /** Always null: an error has no sequence. */
  readonly s: null;
  /** What went wrong: its `code` and `kind` to branch on, and whether the shard is reconnecting. */
  readonly d: ShardError;
}

/**
 * One item of a shard's event stream. Narrow on `op` or `t`:
 *
 * @example
 * for await (const event of shard) {
 *   if (event.t === 'MESSAGE_CREATE') console.log(event.d.content);
 *   else if (event.op === 'error') console.warn(event.d.message);
 * }
 */
export type ShardEvent = GatewayReceivePayload | GatewayCloseEvent | ShardErrorEvent;

/** One item of a shard's raw message stream: a gateway message's JSON text, a close, or an error. */
export type ShardMessage =
  | {
      /** A gateway message. */
      readonly type: 'text';
      /** Its JSON text, as received (inflated). */
      readonly text: string;
    }
  | {
      /** The connection closed. */
      readonly type: 'close';
      /** The close code, or null for a drop without a close frame. */
      readonly code: number | null;
      /** The close frame's reason, or '' without one. */
      readonly reason: string;
    }
  | {
      /** Something the shard recovers from went wrong. */
      readonly type: 'error';
      /** What went wrong, as a {@link ShardErrorEvent} carries it. */
      readonly error: ShardError;
    };

const KNOWN_OPCODES: ReadonlySet<number> = new Set([
  GatewayOpcodes.Dispatch,
  GatewayOpcodes.Heartbeat,
  GatewayOpcodes.Reconnect,
  GatewayOpcodes.InvalidSession,
  GatewayOpcodes.Hello,
  GatewayOpcodes.HeartbeatAck,
]);
const KNOWN_DISPATCHES: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents));

/**
 * Whether a payload is one the event types describe. Unknown opcodes and event names (a
 * newer Discord) are skipped by `nextEvent` and still reach `nextMessage`.
 */
export function isKnownPayload(op: number, t: unknown): boolean {
  if (!KNOWN_OPCODES.has(op)) return false;
  return (op as GatewayOpcodes) !== GatewayOpcodes.Dispatch || KNOWN_DISPATCHES.has(t as string);
}
