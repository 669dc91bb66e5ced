// ShardId: validation with messages naming the argument, JSON form, equality, freezing.
import { describe, expect, it } from 'vitest';
import { ShardId } from '../../src/shard/shard-id.js';

describe('ShardId', () => {
  it('holds a valid number and total', () => {
    const id = new ShardId(3, 8);
    expect(id.number).toBe(3);
    expect(id.total).toBe(8);
    expect(new ShardId(0, 1).total).toBe(1);
    expect(new ShardId(65_535, 65_536).number).toBe(65_535);
  });

  it('has ONE = [0, 1]', () => {
    expect(ShardId.ONE.toJSON()).toEqual([0, 1]);
    expect(ShardId.ONE.equals(new ShardId(0, 1))).toBe(true);
  });

  it('rejects a number not less than total, naming both', () => {
    expect(() => new ShardId(4, 4)).toThrow(new RangeError('ShardId number 4 must be less than total 4'));
    expect(() => new ShardId(9, 4)).toThrow(/number 9 must be less than total 4/);
  });

  it.each([
    [-1, 4, RangeError, /ShardId number must be an integer from 0 .* got -1/],
    [1.5, 4, RangeError, /ShardId number .* got 1\.5/],
    [Number.NaN, 4, RangeError, /ShardId number .* got NaN/],
    [0, 0, RangeError, /ShardId total must be an integer from 1 to 65536, got 0/],
    [0, 2 ** 16 + 1, RangeError, /ShardId total .* got 65537/],
    [0, Infinity, RangeError, /ShardId total .* got Infinity/],
    [0, 2.5, RangeError, /ShardId total .* got 2\.5/],
    ['1', 4, TypeError, /ShardId number must be a number, got '1'/],
    [0, null, TypeError, /ShardId total must be a number, got null/],
    [0, 4n, TypeError, /ShardId total must be a number, got 4n/],
  ])('rejects new ShardId(%o, %o)', (number, total, type, message) => {
    const make = () => new ShardId(number as number, total as number);
    expect(make).toThrow(type);
    expect(make).toThrow(message);
  });

  it('is frozen', () => {
    const id = new ShardId(1, 2);
    expect(Object.isFrozen(id)).toBe(true);
    expect(Object.isFrozen(ShardId.ONE)).toBe(true);
    expect(() => {
      (id as { number: number }).number = 0;
    }).toThrow(TypeError);
  });

  it('serialises as the IDENTIFY shard pair and prints as [n, t]', () => {
    const id = new ShardId(1, 4);
    expect(id.toJSON()).toEqual([1, 4]);
    expect(id.toJSON()).not.toBe(id.toJSON());
    expect(JSON.stringify({ shard: id })).toBe('{"shard":[1,4]}');
    expect(id.toString()).toBe('[1, 4]');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- the template literal is what is tested
    expect(`${ShardId.ONE}`).toBe('[0, 1]');
  });

  it('compares by value', () => {
    expect(new ShardId(1, 4).equals(new ShardId(1, 4))).toBe(true);
    expect(new ShardId(1, 4).equals(new ShardId(1, 5))).toBe(false);
    expect(new ShardId(1, 4).equals(new ShardId(2, 4))).toBe(false);
  });

  describe('from', () => {
    it('accepts a pair and validates it', () => {
      expect(ShardId.from([2, 3]).equals(new ShardId(2, 3))).toBe(true);
      expect(() => ShardId.from([3, 3])).toThrow('ShardId number 3 must be less than total 3');
    });

    it('returns a ShardId as is', () => {
      const id = new ShardId(0, 2);
      expect(ShardId.from(id)).toBe(id);
    });

    it('round-trips through JSON', () => {
      const id = new ShardId(5, 16);
      expect(ShardId.from(JSON.parse(JSON.stringify(id)) as [number, number]).equals(id)).toBe(true);
    });

    it.each([[[1]], [[1, 2, 3]], [null], ['[0, 1]'], [{ number: 0, total: 1 }]])('rejects %o', (value) => {
      expect(() => ShardId.from(value as [number, number])).toThrow(TypeError);
      expect(() => ShardId.from(value as [number, number])).toThrow(/ShardId\.from expects \[number, total\] or a ShardId, got/);
    });
  });
});
