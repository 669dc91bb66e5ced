/**
 * What the simulator observed, in order: connections, identifies, resumes, heartbeats,
 * commands, every dispatch with its session and sequence, faults and closes. Tests read
 * it to prove what a client did; the CLI prints it live.
 */
import { EventEmitter } from 'node:events';
import type { Fault } from './faults.js';

/** Fields every log entry has. */
interface EntryBase {
  /** `Date.now()` when it happened. */
  readonly time: number;
  /** The connection it happened on (0 for entries that belong to no connection). */
  readonly connection: number;
}

/** A websocket connection was opened; `path` tells whether it used `url` or `resume_gateway_url`. */
export interface ConnectEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'connect';
  /** `'resume'` when the client connected to `resume_gateway_url`, `'gateway'` for the main URL. */
  readonly path: 'gateway' | 'resume';
  /** The `compress` query parameter as sent, or `'none'` without one. */
  readonly compress: string;
  /** The request target as the client sent it: path and query. */
  readonly target: string;
  /** The handshake's `User-Agent` header, or null without one. */
  readonly userAgent: string | null;
}
/** HELLO was sent. */
export interface HelloEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'hello';
  /** The `heartbeat_interval` the HELLO told the client, in ms. */
  readonly heartbeatInterval: number;
}
/** A heartbeat arrived; `acked` is false when a fault stopped ACKs. */
export interface HeartbeatEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'heartbeat';
  /** The connection's shard, or null before it identified or resumed. */
  readonly shard: number | null;
  /** The last sequence the client reported in the heartbeat's `d`, or null when it sent none. */
  readonly sequence: number | null;
  /** Whether the server answered with op 11; false after a `stop-acks` fault. */
  readonly acked: boolean;
}
/** An IDENTIFY was accepted and a new session began. */
export interface IdentifyEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'identify';
  /** The shard id the client identified as (0 without a `shard` field). */
  readonly shard: number;
  /** The shard total the client identified with (1 without a `shard` field). */
  readonly numShards: number;
  /** Id of the session the IDENTIFY opened, as sent in READY. */
  readonly session: string;
  /** The intents bitfield the session was opened with (0 for an invalid one without `strictIdentify`). */
  readonly intents: number;
}
/** An IDENTIFY was answered with op 9 (concurrency) or a close (daily limit). */
export interface IdentifyRejectedEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'identify-rejected';
  /** The shard id the refused IDENTIFY asked for. */
  readonly shard: number;
  /** `concurrency`: its `max_concurrency` bucket identified too recently (op 9); `daily-limit`: no session starts left (close 4004). */
  readonly reason: 'concurrency' | 'daily-limit';
}
/** A RESUME was accepted: `replayed` dispatches after `sequence` were sent again. */
export interface ResumeEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'resume';
  /** The resumed session's shard id. */
  readonly shard: number;
  /** Id of the session that was resumed. */
  readonly session: string;
  /** The `seq` the client resumed from: its last dispatch received. */
  readonly sequence: number;
  /** How many dispatches after `sequence` were sent again (missed while disconnected). */
  readonly replayed: number;
}
/**
 * A RESUME was refused with op 9 `d:false` (`unsupported`: the gateway was started with
 * `resume: false`), or with close 4007 for a sequence ahead of the server.
 */
export interface ResumeRejectedEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'resume-rejected';
  /** The `session_id` the client tried to resume. */
  readonly session: string;
  /**
   * `unknown-session`: never existed or was forgotten; `expired`: ended or timed out;
   * `sequence-ahead`: `seq` beyond the server's; `replay-lost`: dispatches after `seq` fell
   * out of the `replayLimit` buffer; `unsupported`: started with `resume: false`.
   */
  readonly reason: 'unknown-session' | 'expired' | 'sequence-ahead' | 'replay-lost' | 'unsupported';
}
/** A send command other than heartbeat, identify and resume (presence, voice, members, ...). */
export interface CommandEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'command';
  /** The connection's shard (commands are only logged once it identified or resumed). */
  readonly shard: number | null;
  /** The command's opcode, e.g. 3 for a presence update or 8 for a member request. */
  readonly op: number;
  /** The payload's `d` exactly as the client sent it, before validation. */
  readonly d: unknown;
}
/** A dispatch was written to a client; `replay` marks those sent as a resume's replay (missed while disconnected). */
export interface DispatchEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'dispatch';
  /** The shard id of the session it belongs to. */
  readonly shard: number;
  /** Id of the session it belongs to. */
  readonly session: string;
  /** Its `s`: the session's sequence number for this dispatch. */
  readonly sequence: number;
  /** Its event name, e.g. `'MESSAGE_CREATE'`. */
  readonly t: string;
  /** Whether it was sent again as part of a resume's replay. */
  readonly replay: boolean;
  /** The world event it carries, as numbered by its {@link WorldEntry}; null for session events and `dispatch()`. */
  readonly world: number | null;
}
/**
 * Traffic happened: one world event, appended to every session that owns its guild (DMs:
 * every shard 0) — sessions of another shard total too, with the same `d`.
 */
export interface WorldEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'world';
  /** Numbers the world's events from 1. */
  readonly id: number;
  /** The event name, e.g. `'MESSAGE_CREATE'`. */
  readonly t: string;
  /** The guild it happened in; null for a DM. */
  readonly guild: string | null;
  /** The sessions it was appended to. */
  readonly sessions: readonly string[];
}
/** A fault was applied (or armed for the next connection / READY). */
export interface FaultEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'fault';
  /** The shard of the connection it hit, or null when that connection had not identified (always for HELLO faults). */
  readonly shard: number | null;
  /** The fault as injected or drawn by chaos. */
  readonly fault: Fault;
}
/** A connection ended; `by` says who closed it, `code` is 1006 for a drop without a close frame. */
export interface CloseEntry extends EntryBase {
  /** Entry kind. */
  readonly type: 'close';
  /** The connection's shard, or null when it closed before identifying or resuming. */
  readonly shard: number | null;
  /** Which side ended the connection. */
  readonly by: 'server' | 'client';
  /** The close code; 1006 when the connection ended without a close frame. */
  readonly code: number;
  /** The close reason in full (the close frame itself may carry a shortened one). */
  readonly reason: string;
}

/** One observation of the simulator. Narrow on `type`. */
export type LogEntry =
  | ConnectEntry
  | HelloEntry
  | HeartbeatEntry
  | IdentifyEntry
  | IdentifyRejectedEntry
  | ResumeEntry
  | ResumeRejectedEntry
  | CommandEntry
  | DispatchEntry
  | WorldEntry
  | FaultEntry
  | CloseEntry;

/** A log entry without the fields the log fills in itself. */
export type NewLogEntry = LogEntry extends infer E ? (E extends LogEntry ? Omit<E, 'time'> : never) : never;

/** The log entry of one `type`. */
export type LogEntryOf<T extends LogEntry['type']> = Extract<
  LogEntry,
  {
    /** The entry kind to pick. */
    type: T;
  }
>;

/**
 * The events a {@link GatewayLog} emits.
 *
 * @example
 * gateway.log.on('entry', (entry) => console.log(entry.type));
 */
export type GatewayLogEvents = {
  /** Emitted with each entry as it is appended. */
  entry: [LogEntry];
};

/**
 * The simulator's observation log. Entries are appended in the order things happened;
 * listen to `'entry'` to follow it live.
 *
 * @example
 * const identifies = gateway.log.ofType('identify').filter((e) => e.shard === 0);
 * await gateway.log.waitFor((e) => e.type === 'resume', 5_000);
 */
export class GatewayLog extends EventEmitter<GatewayLogEvents> {
  readonly #entries: LogEntry[] = [];
  /** Whether dispatch and world entries are kept (they are the bulk of a long run). */
  readonly recordDispatches: boolean;

  constructor(recordDispatches = true) {
    super();
    this.recordDispatches = recordDispatches;
  }

  /** Every entry so far, oldest first. */
  get entries(): readonly LogEntry[] {
    return this.#entries;
  }

  /** @internal Appends an entry; used by the simulator. */
  add(entry: NewLogEntry): void {
    if ((entry.type === 'dispatch' || entry.type === 'world') && !this.recordDispatches) return;
    const full = { time: Date.now(), ...entry } as LogEntry;
    this.#entries.push(full);
    this.emit('entry', full);
  }

  /** The entries of one type, typed accordingly. */
  ofType<T extends LogEntry['type']>(type: T): LogEntryOf<T>[] {
    return this.#entries.filter((entry): entry is LogEntryOf<T> => entry.type === type);
  }

  /** Sequence numbers of a session's dispatch entries in the order they were sent, replays included. */
  sequencesSent(session: string): number[] {
    return this.ofType('dispatch')
      .filter((entry) => entry.session === session)
      .map((entry) => entry.sequence);
  }

  /**
   * Resolves with the first entry (already logged or coming) that `predicate` accepts.
   *
   * A predicate that narrows (`(e) => e.type === 'resume'`) narrows the result too.
   *
   * @throws Error when `timeoutMs` passes first; the message says how long it waited.
   */
  waitFor<T extends LogEntry>(predicate: (entry: LogEntry) => entry is T, timeoutMs?: number): Promise<T>;
  waitFor(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  waitFor(predicate: (entry: LogEntry) => boolean, timeoutMs = 10_000): Promise<LogEntry> {
    const found = this.#entries.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onEntry = (entry: LogEntry): void => {
        if (!predicate(entry)) return;
        clearTimeout(timer);
        this.off('entry', onEntry);
        resolve(entry);
      };
      const timer = setTimeout(() => {
        this.off('entry', onEntry);
        reject(new Error(`GatewayLog.waitFor: no matching entry within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('entry', onEntry);
    });
  }

  /** Forgets every entry (listeners stay). */
  clear(): void {
    this.#entries.length = 0;
  }
}
