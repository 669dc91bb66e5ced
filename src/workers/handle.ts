/**
 * A shard that lives in a WorkerFleet's worker thread, as the main thread sees it: its id,
 * what the worker last reported of its state, latency and session, and commands routed to it.
 */
import { payloadTooLarge, serializeCommand } from '../shard/commands.js';
import type { GatewayCommand } from '../shard/commands.js';
import type { Session } from '../shard/session.js';
import type { ShardId } from '../shard/shard-id.js';
import type { ShardState } from '../shard/shard.js';
import type { LatencySnapshot } from './protocol.js';

/** What the fleet knows of a shard in a worker; the fleet writes it, the handle reads it. */
export interface ShardReport {
  /** As the worker last reported it (the fleet sets it on a worker's exit and on a fatal end). */
  state: ShardState;
  latency: LatencySnapshot;
  /** As of the last batch received. */
  session: Session | null;
}

/**
 * The main thread's handle on a shard in a worker. Unlike a local `Shard`: `state` and
 * `latency` are the worker's last report (sent when they change, latency at most once a
 * second); `session` is as of the last batch of events the main thread received, which is
 * what a restarted worker resumes from and what `fleet.close()` returns; and a command
 * pending when the worker exits rejects with `WORKER_EXITED`.
 *
 * @example
 * for await (const { shard, event } of fleet) {
 *   if (event.t === 'READY') await shard.command(updatePresence({ since: null, activities: [], status: 'online', afk: false }));
 * }
 */
export class WorkerShardHandle {
  /** The shard's id and total. */
  readonly id: ShardId;
  /** The index of the worker that holds the shard. */
  readonly worker: number;
  readonly #report: Readonly<ShardReport>;
  readonly #send: (json: string) => Promise<void>;

  /** @internal */
  constructor(id: ShardId, worker: number, report: Readonly<ShardReport>, send: (json: string) => Promise<void>) {
    this.id = id;
    this.worker = worker;
    this.#report = report;
    this.#send = send;
  }

  /** The shard's state as its worker last reported it. */
  get state(): ShardState {
    return this.#report.state;
  }

  /** The shard's heartbeat round trips as its worker last reported them. */
  get latency(): LatencySnapshot {
    return this.#report.latency;
  }

  /** The session as of the last batch the main thread received, or null before READY and after it ended. */
  get session(): Session | null {
    return this.#report.session;
  }

  /**
   * Sends a raw JSON payload through the shard's ratelimiter in its worker; resolves once it
   * was written to the shard's connection.
   *
   * @throws ShardError `PAYLOAD_TOO_LARGE` over 4096 bytes (checked here, before it crosses),
   *   `SEND_AFTER_CLOSE` when the shard or the fleet closed, `WORKER_EXITED` when the worker
   *   exited before confirming it (it may or may not have been sent).
   * @example
   * await shard.send(JSON.stringify({ op: 3, d: { since: null, activities: [], status: 'idle', afk: false } }));
   */
  send(json: string): Promise<void> {
    const tooLarge = payloadTooLarge(json);
    return tooLarge === null ? this.#send(json) : Promise.reject(tooLarge);
  }

  /**
   * Sends a command built with the command builders.
   *
   * @throws as {@link WorkerShardHandle.send}, and RangeError for an oversized command.
   * @example
   * await shard.command(requestGuildMembers({ guildId, query: '', limit: 0, nonce: 'all' }));
   */
  command(command: GatewayCommand): Promise<void> {
    return this.send(serializeCommand(command));
  }
}
