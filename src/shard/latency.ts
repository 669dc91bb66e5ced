/**
 * Heartbeat round trips of a shard: the recent ones, their average, and the counts, as
 * twilight's Latency reports them.
 */

const RECENT = 5;

/**
 * Heartbeat latency statistics of one shard, over its lifetime.
 *
 * @example
 * console.log(`${shard.latency.average ?? '?'} ms over ${shard.latency.heartbeats} heartbeats`);
 */
export class Latency {
  #recent: number[] = [];
  #total = 0;
  #heartbeats = 0;
  #sentAt: number | null = null;
  #receivedAt: number | null = null;

  /** Mean round trip of all acknowledged heartbeats in ms, or null before the first. */
  get average(): number | null {
    return this.#heartbeats === 0 ? null : this.#total / this.#heartbeats;
  }

  /** Up to the five most recent round trips in ms, newest last. */
  get recent(): readonly number[] {
    return this.#recent;
  }

  /** How many heartbeats were acknowledged. */
  get heartbeats(): number {
    return this.#heartbeats;
  }

  /** `performance.now()` when the last heartbeat was sent, or null. */
  get sentAt(): number | null {
    return this.#sentAt;
  }

  /** `performance.now()` when the last ACK arrived, or null. */
  get receivedAt(): number | null {
    return this.#receivedAt;
  }

  /** @internal Records a heartbeat sent at `now`. */
  sent(now: number): void {
    this.#sentAt = now;
  }

  /** @internal Records an ACK at `now` for the last heartbeat sent. */
  acknowledged(now: number): void {
    this.#receivedAt = now;
    if (this.#sentAt === null) return;
    const roundTrip = now - this.#sentAt;
    this.#total += roundTrip;
    this.#heartbeats += 1;
    this.#recent.push(roundTrip);
    if (this.#recent.length > RECENT) this.#recent = this.#recent.slice(-RECENT);
  }
}
