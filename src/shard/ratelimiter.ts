/**
 * The per-connection command ratelimiter: keeps a shard's own commands under Discord's
 * 120 payloads per 60 s (going over closes the connection with 4008) while leaving room
 * for the heartbeats, which are sent without asking it.
 *
 * It is a sliding-window log, as in twilight-gateway 0.15: every permit taken is
 * remembered with its time and frees exactly {@link CommandRatelimiter.PERIOD_MS} later,
 * so no 60 s window ever holds more than {@link CommandRatelimiter.max} commands, bursts
 * included.
 */

/** A connection always keeps this many commands, whatever the interval. */
const MIN_COMMANDS_PER_PERIOD = 1;

/**
 * How many of the 120 payloads per 60 s a connection may spend on commands: 120 minus
 * the heartbeats the interval needs in a period (rounded up) minus one spare for a beat
 * the server asks for with op 1. Heartbeats come first, as going over the limit closes the
 * connection: a 1 s interval leaves 59, and one under about half a second (no real gateway
 * sends that) leaves the floor of 1.
 *
 * @param heartbeatIntervalMs - `heartbeat_interval` from Hello, in milliseconds.
 * @returns 117 for the usual 41 250 ms, 118 for 60 000 ms or more, 1 at the floor.
 * @throws RangeError if the interval is not a positive finite number.
 *
 * @example
 * commandsPerPeriod(41_250); // 117: ceil(60 000 / 41 250) = 2 beats + 1 spare
 */
export function commandsPerPeriod(heartbeatIntervalMs: number): number {
  if (typeof heartbeatIntervalMs !== 'number' || !Number.isFinite(heartbeatIntervalMs) || heartbeatIntervalMs <= 0) {
    throw new RangeError(`heartbeatIntervalMs must be a positive finite number of milliseconds (got ${String(heartbeatIntervalMs)})`);
  }
  const heartbeats = Math.ceil(CommandRatelimiter.PERIOD_MS / heartbeatIntervalMs) + 1;
  return Math.max(MIN_COMMANDS_PER_PERIOD, CommandRatelimiter.LIMIT - heartbeats);
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Rate limits the commands one gateway connection sends (presence, voice state, member
 * requests…), created anew for each connection from its Hello's heartbeat interval.
 * Heartbeats do not go through it: the share {@link commandsPerPeriod} leaves out covers
 * them.
 *
 * A pending {@link CommandRatelimiter.acquire} keeps a timer (and so the process) alive
 * until its permit frees, at most 60 s; pass an `AbortSignal` to give up sooner, e.g.
 * when the connection closes.
 *
 * @example
 * const ratelimiter = new CommandRatelimiter(hello.d.heartbeat_interval);
 * await ratelimiter.acquire(signal);
 * socket.send(serializeCommand(updatePresence(presence)));
 */
export class CommandRatelimiter {
  /** How long a permit stays taken: Discord's 60 s window. */
  static readonly PERIOD_MS = 60_000;
  /** Payloads Discord allows per connection per {@link CommandRatelimiter.PERIOD_MS}, heartbeats included. */
  static readonly LIMIT = 120;

  readonly #max: number;
  readonly #now: () => number;
  /** When each permit still inside the window was taken, oldest first. */
  readonly #taken: number[] = [];
  /** Pending acquire() calls, served first come first served. */
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param heartbeatIntervalMs - `heartbeat_interval` from Hello, in milliseconds.
   * @param now - the clock, in milliseconds; monotonic `performance.now` unless a test injects one.
   * @throws RangeError if the interval is not a positive finite number.
   *
   * @example
   * new CommandRatelimiter(41_250).max(); // 117
   */
  constructor(heartbeatIntervalMs: number, now: () => number = () => performance.now()) {
    this.#max = commandsPerPeriod(heartbeatIntervalMs);
    this.#now = now;
  }

  /**
   * Permits available now. Does not count queued {@link CommandRatelimiter.acquire} calls,
   * which take freed permits before {@link CommandRatelimiter.tryAcquire} can.
   *
   * @example
   * if (ratelimiter.available() === 0) console.log('commands are being delayed');
   */
  available(): number {
    this.#release(this.#now());
    return this.#max - this.#taken.length;
  }

  /**
   * Permits per period for commands: {@link commandsPerPeriod} of the heartbeat interval.
   *
   * @example
   * new CommandRatelimiter(41_250).max(); // 117
   */
  max(): number {
    return this.#max;
  }

  /**
   * Milliseconds until the next permit frees; 0 if one is available now.
   *
   * @example
   * const waitMs = ratelimiter.nextAvailableIn();
   */
  nextAvailableIn(): number {
    const now = this.#now();
    this.#release(now);
    const oldest = this.#taken[0];
    if (this.#taken.length < this.#max || oldest === undefined) return 0;
    return oldest + CommandRatelimiter.PERIOD_MS - now;
  }

  /**
   * Takes a permit, waiting (on a timer, no busy loop) until one frees if none is
   * available. Callers are served in the order they called.
   *
   * @param signal - aborting it while waiting rejects with `signal.reason` and takes no permit.
   * @returns a promise that resolves once the permit is taken.
   * @throws (rejects) `signal.reason` if `signal` is already aborted or aborts while waiting.
   *
   * @example
   * await ratelimiter.acquire(AbortSignal.timeout(5_000));
   * socket.send(payload);
   */
  acquire(signal?: AbortSignal): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller chose the reason
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#serve();
    if (this.#waiters.length === 0 && this.#take()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          this.#waiters = this.#waiters.filter((other) => other !== waiter);
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller chose the reason
          reject(signal.reason);
          this.#schedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#schedule();
    });
  }

  /**
   * Takes a permit if one is available now, without waiting. Queued
   * {@link CommandRatelimiter.acquire} calls are served first: it never jumps the queue.
   *
   * @returns whether a permit was taken.
   *
   * @example
   * if (!ratelimiter.tryAcquire()) throw new Error('rate limited, try later');
   */
  tryAcquire(): boolean {
    this.#serve();
    return this.#waiters.length === 0 && this.#take();
  }

  /** Forgets permits whose 60 s have passed (freed at exactly PERIOD_MS, as in twilight). */
  #release(now: number): void {
    let freed = 0;
    while (freed < this.#taken.length && this.#taken[freed]! + CommandRatelimiter.PERIOD_MS <= now) freed++;
    if (freed > 0) this.#taken.splice(0, freed);
  }

  #take(): boolean {
    const now = this.#now();
    this.#release(now);
    if (this.#taken.length >= this.#max) return false;
    this.#taken.push(now);
    return true;
  }

  /** Hands freed permits to waiters in order. */
  #serve(): void {
    while (this.#waiters.length > 0 && this.#take()) {
      const waiter = this.#waiters.shift()!;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }

  /** Keeps exactly one timer while anyone waits, due when the oldest permit frees. */
  #schedule(): void {
    if (this.#waiters.length === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#timer !== undefined) return;
    // at least 1 ms: a timer may fire a fraction early, and then simply re-arms
    const delay = Math.max(1, Math.ceil(this.nextAvailableIn()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#serve();
      this.#schedule();
    }, delay);
  }
}
