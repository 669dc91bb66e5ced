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
  readonly type: 'connect';
  readonly path: 'gateway' | 'resume';
  readonly compress: string;
  /** The request target as the client sent it: path and query. */
  readonly target: string;
  /** The handshake's `User-Agent` header, or null without one. */
  readonly userAgent: string | null;
}
/** HELLO was sent. */
export interface HelloEntry extends EntryBase {
  readonly type: 'hello';
  readonly heartbeatInterval: number;
}
/** A heartbeat arrived; `acked` is false when a fault stopped ACKs. */
export interface HeartbeatEntry extends EntryBase {
  readonly type: 'heartbeat';
  readonly shard: number | null;
  readonly sequence: number | null;
  readonly acked: boolean;
}
/** An IDENTIFY was accepted and a new session began. */
export interface IdentifyEntry extends EntryBase {
  readonly type: 'identify';
  readonly shard: number;
  readonly numShards: number;
  readonly session: string;
  readonly intents: number;
}
/** An IDENTIFY was answered with op 9 (concurrency) or a close (daily limit). */
export interface IdentifyRejectedEntry extends EntryBase {
  readonly type: 'identify-rejected';
  readonly shard: number;
  readonly reason: 'concurrency' | 'daily-limit';
}
/** A RESUME was accepted: `replayed` dispatches after `sequence` were sent again. */
export interface ResumeEntry extends EntryBase {
  readonly type: 'resume';
  readonly shard: number;
  readonly session: string;
  readonly sequence: number;
  readonly replayed: number;
}
/**
 * A RESUME was refused with op 9 `d:false` (`unsupported`: the gateway was started with
 * `resume: false`), or with close 4007 for a sequence ahead of the server.
 */
export interface ResumeRejectedEntry extends EntryBase {
  readonly type: 'resume-rejected';
  readonly session: string;
  readonly reason: 'unknown-session' | 'expired' | 'sequence-ahead' | 'replay-lost' | 'unsupported';
}
/** A send command other than heartbeat, identify and resume (presence, voice, members, ...). */
export interface CommandEntry extends EntryBase {
  readonly type: 'command';
  readonly shard: number | null;
  readonly op: number;
  readonly d: unknown;
}
/** A dispatch was written to a client; `replay` marks those sent as a resume's replay (missed while disconnected). */
export interface DispatchEntry extends EntryBase {
  readonly type: 'dispatch';
  readonly shard: number;
  readonly session: string;
  readonly sequence: number;
  readonly t: string;
  readonly replay: boolean;
  /** The world event it carries, as numbered by its {@link WorldEntry}; null for session events and `dispatch()`. */
  readonly world: number | null;
}
/**
 * Traffic happened: one world event, appended to every session that owns its guild (DMs:
 * every shard 0) — sessions of another shard total too, with the same `d`.
 */
export interface WorldEntry extends EntryBase {
  readonly type: 'world';
  /** Numbers the world's events from 1. */
  readonly id: number;
  readonly t: string;
  /** The guild it happened in; null for a DM. */
  readonly guild: string | null;
  /** The sessions it was appended to. */
  readonly sessions: readonly string[];
}
/** A fault was applied (or armed for the next connection / READY). */
export interface FaultEntry extends EntryBase {
  readonly type: 'fault';
  readonly shard: number | null;
  readonly fault: Fault;
}
/** A connection ended; `by` says who closed it, `code` is 1006 for a drop without a close frame. */
export interface CloseEntry extends EntryBase {
  readonly type: 'close';
  readonly shard: number | null;
  readonly by: 'server' | 'client';
  readonly code: number;
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
export type LogEntryOf<T extends LogEntry['type']> = Extract<LogEntry, { type: T }>;

/**
 * The simulator's observation log. Entries are appended in the order things happened;
 * listen to `'entry'` to follow it live.
 *
 * @example
 * const identifies = gateway.log.ofType('identify').filter((e) => e.shard === 0);
 * await gateway.log.waitFor((e) => e.type === 'resume', 5_000);
 */
export class GatewayLog extends EventEmitter<{ entry: [LogEntry] }> {
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
