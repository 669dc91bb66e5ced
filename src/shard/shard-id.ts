/**
 * The identity of one shard: its number and the total shard count, as Discord's IDENTIFY
 * `shard` field takes them.
 */
import { inspect } from 'node:util';

/** Far above any real bot (2,500 guilds per shard); a larger total is a bug in the caller. */
const MAX_TOTAL = 2 ** 16;

const show = (value: unknown): string => inspect(value, { depth: 0, breakLength: Infinity, maxStringLength: 40, maxArrayLength: 4 });

/** Throws unless `value` is an integer from `min` to `max`; TypeError for a non-number, RangeError otherwise. */
function checkInteger(name: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`ShardId ${name} must be a number, got ${show(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`ShardId ${name} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
}

/**
 * The id of a shard: `number` out of `total` shards, both fixed at construction. Instances
 * are frozen and validated, so a `ShardId` in hand is always one Discord accepts.
 *
 * @throws TypeError when an argument is not a number; RangeError when `total` is not an
 *   integer from 1 to 65536, or `number` is not an integer from 0 to `total - 1`. The
 *   message names the argument and the value.
 *
 * @example
 * const id = new ShardId(3, 8);
 * id.toString();      // '[3, 8]'
 * JSON.stringify(id); // '[3,8]'
 */
export class ShardId {
  /**
   * The only shard of a bot that runs one shard: `[0, 1]`.
   *
   * @example
   * const shard = new Shard(ShardId.ONE, { token, intents });
   */
  static readonly ONE: ShardId = new ShardId(0, 1);

  /** This shard's number, from 0 to `total - 1`. */
  readonly number: number;
  /** How many shards the bot runs in all. */
  readonly total: number;

  /**
   * @param number - the shard's number, an integer from 0 to `total - 1`.
   * @param total - the shard count, an integer from 1 to 65536.
   */
  constructor(number: number, total: number) {
    // total first, so "number 4 of total 0" reports the total, which is the real mistake
    checkInteger('total', total, 1, MAX_TOTAL);
    checkInteger('number', number, 0, Number.MAX_SAFE_INTEGER);
    if (number >= total) throw new RangeError(`ShardId number ${number} must be less than total ${total}`);
    this.number = number;
    this.total = total;
    Object.freeze(this);
  }

  /**
   * A `ShardId` from a `[number, total]` pair (as in Discord's IDENTIFY and READY) or an
   * existing `ShardId`, which is returned as is.
   *
   * @throws TypeError when `value` is neither a pair nor a `ShardId`; otherwise as the
   *   constructor.
   *
   * @example
   * ShardId.from([0, 2]).equals(new ShardId(0, 2)); // true
   */
  static from(value: readonly [number, number] | ShardId): ShardId {
    if (value instanceof ShardId) return value;
    if (!Array.isArray(value) || value.length !== 2) {
      throw new TypeError(`ShardId.from expects [number, total] or a ShardId, got ${show(value)}`);
    }
    return new ShardId(value[0], value[1]);
  }

  /**
   * The `[number, total]` pair Discord's IDENTIFY `shard` field takes; a fresh array each call.
   *
   * @example
   * new ShardId(1, 4).toJSON(); // [1, 4]
   */
  toJSON(): [number, number] {
    return [this.number, this.total];
  }

  /**
   * `[number, total]` for logs and messages.
   *
   * @example
   * `${new ShardId(1, 4)}`; // '[1, 4]'
   */
  toString(): string {
    return `[${this.number}, ${this.total}]`;
  }

  /**
   * Whether `other` names the same shard of the same total.
   *
   * @example
   * new ShardId(0, 2).equals(new ShardId(0, 4)); // false
   */
  equals(other: ShardId): boolean {
    return this.number === other.number && this.total === other.total;
  }
}
